package kubeapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// ReadList reads the items of a v1 List file (what `kubectl get -A -o
// json` prints).
func ReadList(path string) ([]unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l unstructured.UnstructuredList
	if err := l.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l.Items, nil
}

// ReadYAML reads the objects of a multi-document YAML (or JSON) file.
func ReadYAML(path string) ([]unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var objs []unstructured.Unstructured
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj != nil {
			objs = append(objs, unstructured.Unstructured{Object: obj})
		}
	}
}

// Create creates objects as read from a cluster (a kubectl dump) in the
// server cfg names: server-set metadata (uid, resourceVersion, times) is
// dropped, namespaces go first, the ServiceAccounts pods name are created
// when missing (the ServiceAccount admission plugin requires them), and
// each object's status is written through its status subresource (pod
// IPs and phase, node addresses, a CronJob's last run), since no
// controller runs to set it. Owner references are kept as they are: no
// garbage collector runs either. A Job keeps its selector
// (spec.manualSelector); a pod template without containers gets a
// placeholder one. An object the server already has (kube-system) takes
// the labels of the one given. It returns how many objects it created.
func Create(ctx context.Context, cfg *rest.Config, objs []unstructured.Unstructured) (int, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return 0, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	var first, rest []unstructured.Unstructured
	for _, o := range objs {
		o = *o.DeepCopy()
		if o.GetKind() == "Namespace" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	n := 0
	for _, o := range append(first, rest...) {
		if err := createOne(ctx, dyn, mapper, o); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// createOne creates one object (a pod's ServiceAccount first) and writes
// its status.
func createOne(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, o unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
	}
	status, hasStatus := o.Object["status"]
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	delete(o.Object, "status")
	complete(&o)
	if o.GetKind() == "Job" {
		// the dumped selector was generated from the Job's original uid:
		// keep it as it is rather than have the server generate another
		if _, ok, _ := unstructured.NestedMap(o.Object, "spec", "selector"); ok {
			_ = unstructured.SetNestedField(o.Object, true, "spec", "manualSelector")
		}
	}
	ri := dyn.Resource(m.Resource)
	var r dynamic.ResourceInterface = ri
	if o.GetNamespace() != "" {
		r = ri.Namespace(o.GetNamespace())
	}
	if o.GetKind() == "Pod" {
		// a pod names its service account, which must exist first
		sa, _, _ := unstructured.NestedString(o.Object, "spec", "serviceAccountName")
		if sa == "" {
			sa = "default"
		}
		acct := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": sa, "namespace": o.GetNamespace()}}}
		_, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}).Namespace(o.GetNamespace()).Create(ctx, acct, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("ServiceAccount %s/%s: %w", o.GetNamespace(), sa, err)
		}
	}
	created, err := r.Create(ctx, &o, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// the server's own (kube-system, default): take the object's labels
		created, err = r.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err == nil {
			created.SetLabels(o.GetLabels())
			created, err = r.Update(ctx, created, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("create %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	if !hasStatus || status == nil {
		return nil
	}
	if st, ok := status.(map[string]any); ok && len(st) == 0 {
		return nil
	}
	created.Object["status"] = status
	_, err = r.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		// a custom resource without a status subresource (CiliumEndpoint):
		// its status is written with the object
		_, err = r.Update(ctx, created, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("status of %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

// complete makes a dumped workload's pod template one the server accepts:
// a dump may leave out what the inventory does not read (containers, a
// Job's restart policy).
func complete(o *unstructured.Unstructured) {
	var path []string
	switch o.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		path = []string{"spec", "template", "spec"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		return
	}
	spec, _, _ := unstructured.NestedMap(o.Object, path...)
	if spec == nil {
		spec = map[string]any{}
	}
	if cs, _ := spec["containers"].([]any); len(cs) == 0 {
		spec["containers"] = []any{map[string]any{"name": "main", "image": "registry.example/placeholder:1"}}
	}
	if rp, _ := spec["restartPolicy"].(string); rp == "" && (o.GetKind() == "Job" || o.GetKind() == "CronJob") {
		spec["restartPolicy"] = "Never"
	}
	_ = unstructured.SetNestedMap(o.Object, spec, path...)
}
