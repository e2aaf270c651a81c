// Package kube reads a cluster inventory from the live API server
// (`generate --inventory kube`) through client-go: the kubeconfig that
// --kubeconfig, KUBECONFIG or ~/.kube/config name (--context picks one of
// its contexts), or the pod's service account when run in a cluster. It
// only lists — no watch, no get, no write: Resources are the resources it
// lists, and deploy/inventory-clusterrole.yaml grants exactly "list" on
// them (a test holds the two equal). Lists are paged (Limit/Continue);
// an expired continue token restarts that resource with one full list.
// The optional custom resources (Cilium's and Calico's) are listed when
// discovery says the server serves them; absent, they are skipped. Every
// object is converted by inventory/convert, as a kubectl dump's are, so the
// same cluster gives the same snapshot whichever way it was read.
//
// client-go stays here: the learner, synth and output read the plain
// inventory.Snapshot (cmd/flowfence's deps test enforces it).
package kube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/convert"
)

// ClusterRoleFile is the ClusterRole that grants what Read lists, relative
// to the repository root (named in RBAC errors).
const ClusterRoleFile = "deploy/inventory-clusterrole.yaml"

// Verb is the one verb Read uses.
const Verb = "list"

// DefaultPageSize is the Limit of each list request.
const DefaultPageSize = 500

// Resource is one resource Read lists.
type Resource struct {
	Group, Version, Resource, Kind string
	Namespaced                     bool
	// Optional resources are custom resources, listed when the server
	// serves them.
	Optional bool
}

// Name is the resource as kubectl names it: "pods",
// "deployments.apps".
func (r Resource) Name() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// GroupVersion is the resource's API group and version ("v1",
// "apps/v1").
func (r Resource) GroupVersion() string {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}.String()
}

// Resources returns what Read lists, in order: what `kubectl get
// ns,nodes,pods,deploy,sts,ds,rs,job,cronjob,svc,endpointslices,
// networkpolicies -A` reads, then the optional custom resources.
func Resources() []Resource {
	return []Resource{
		{Version: "v1", Resource: "namespaces", Kind: "Namespace"},
		{Version: "v1", Resource: "nodes", Kind: "Node"},
		{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true},
		{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true},
		{Group: "apps", Version: "v1", Resource: "statefulsets", Kind: "StatefulSet", Namespaced: true},
		{Group: "apps", Version: "v1", Resource: "daemonsets", Kind: "DaemonSet", Namespaced: true},
		{Group: "apps", Version: "v1", Resource: "replicasets", Kind: "ReplicaSet", Namespaced: true},
		{Group: "batch", Version: "v1", Resource: "jobs", Kind: "Job", Namespaced: true},
		{Group: "batch", Version: "v1", Resource: "cronjobs", Kind: "CronJob", Namespaced: true},
		{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true},
		{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Kind: "EndpointSlice", Namespaced: true},
		{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true},
		{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies", Kind: "CiliumNetworkPolicy", Namespaced: true, Optional: true},
		{Group: "cilium.io", Version: "v2", Resource: "ciliumclusterwidenetworkpolicies", Kind: "CiliumClusterwideNetworkPolicy", Optional: true},
		{Group: "cilium.io", Version: "v2", Resource: "ciliumendpoints", Kind: "CiliumEndpoint", Namespaced: true, Optional: true},
		{Group: "projectcalico.org", Version: "v3", Resource: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true, Optional: true},
		{Group: "projectcalico.org", Version: "v3", Resource: "globalnetworkpolicies", Kind: "GlobalNetworkPolicy", Optional: true},
	}
}

// Options configure Read.
type Options struct {
	// Kubeconfig is the kubeconfig file (empty: KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account).
	Kubeconfig string
	// Context is the kubeconfig context (empty: its current context).
	Context string
	// PageSize is each list request's Limit (0: DefaultPageSize).
	PageSize int64
	// Timeout bounds each request (0: a minute).
	Timeout time.Duration
}

// Read lists the cluster's inventory.
func Read(ctx context.Context, opts Options) (*inventory.Snapshot, error) {
	cfg, source, err := Config(opts)
	if err != nil {
		return nil, err
	}
	return ReadConfig(ctx, cfg, source, opts)
}

// Config returns the REST config opts name and the snapshot's source name
// for it ("kube context NAME at https://HOST", "kube in-cluster at …").
func Config(opts Options) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		rules.ExplicitPath = opts.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errors.New("--inventory kube: no kubeconfig (--kubeconfig, KUBECONFIG or ~/.kube/config) and not running in a cluster")
		}
		return nil, "", fmt.Errorf("--inventory kube: kubeconfig: %s", escape.Terminal(err.Error()))
	}
	name := "in-cluster"
	if raw, err := cc.RawConfig(); err == nil && len(raw.Contexts) > 0 {
		name = opts.Context
		if name == "" {
			name = raw.CurrentContext
		}
		if !safeName(name) {
			name = "(a context whose name is not printable)"
		}
		name = "context " + name
	}
	cfg.UserAgent = "flowfence"
	// one run lists a few dozen pages: client-go's default 5 QPS would
	// throttle a large cluster's read for no gain
	cfg.QPS, cfg.Burst = 50, 100
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg, "kube " + name + " at " + hostOf(cfg.Host), nil
}

// safeName reports a kubeconfig name that can be shown as is: printable
// ASCII without spaces or quotes, at most 128 bytes.
func safeName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '`' || c == '\\' {
			return false
		}
	}
	return true
}

// hostOf is the API server's scheme and host, for the summary.
func hostOf(host string) string {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" || !safeName(u.Host) {
		return "the API server"
	}
	scheme := u.Scheme
	if scheme != "http" {
		scheme = "https"
	}
	return scheme + "://" + u.Host
}

// ReadConfig lists the inventory from the API server cfg names; source
// names it in the snapshot.
func ReadConfig(ctx context.Context, cfg *rest.Config, source string, opts Options) (*inventory.Snapshot, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = opts.Timeout
		if cfg.Timeout == 0 {
			cfg.Timeout = time.Minute
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--inventory kube: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--inventory kube: %w", err)
	}
	served := map[string]map[string]bool{} // group/version → resource names
	var b inventory.Builder
	var refused []Resource
	var who string
	for _, r := range Resources() {
		if r.Optional {
			ok, err := serves(disc, served, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		err := list(ctx, dyn, r, opts.PageSize, func(u *unstructured.Unstructured) error { return add(&b, r, u) })
		if apierrors.IsForbidden(err) {
			refused = append(refused, r)
			if who == "" {
				who = forbiddenUser(err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if len(refused) > 0 {
		return nil, forbidden(refused, who)
	}
	b.AddSource(source)
	return b.Build(), nil
}

// serves reports whether the server serves r's group, version and
// resource (discovery, once per group version).
func serves(disc discovery.DiscoveryInterface, served map[string]map[string]bool, r Resource) (bool, error) {
	gv := r.GroupVersion()
	names, ok := served[gv]
	if !ok {
		list, err := disc.ServerResourcesForGroupVersion(gv)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return false, fmt.Errorf("--inventory kube: discover %s: %s", gv, escape.Terminal(err.Error()))
		default:
			names = map[string]bool{}
			for _, res := range list.APIResources {
				names[res.Name] = true
			}
		}
		served[gv] = names
	}
	return names[r.Resource], nil
}

// scope is where r is listed, for errors.
func (r Resource) scope() string {
	if r.Namespaced {
		return "all namespaces"
	}
	return "cluster-scoped"
}

// list lists r page by page, calling each for every object. A continue
// token that expired (the server compacted past it) restarts the list
// once without a limit: the objects seen twice are dropped by the
// builder.
func list(ctx context.Context, dyn dynamic.Interface, r Resource, pageSize int64, each func(*unstructured.Unstructured) error) error {
	ri := dyn.Resource(schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource})
	opts := metav1.ListOptions{Limit: pageSize}
	restarted := false
	for {
		l, err := ri.List(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" && !restarted {
			opts, restarted = metav1.ListOptions{}, true
			continue
		}
		if err != nil {
			if apierrors.IsForbidden(err) {
				return err
			}
			if apierrors.IsUnauthorized(err) {
				return fmt.Errorf("--inventory kube: list %s (%s): unauthorized: the API server refused the kubeconfig's credentials (--kubeconfig, --context)", r.Name(), r.scope())
			}
			return fmt.Errorf("--inventory kube: list %s (%s): %s", r.Name(), r.scope(), escape.Terminal(err.Error()))
		}
		for i := range l.Items {
			if err := each(&l.Items[i]); err != nil {
				return err
			}
		}
		if l.GetContinue() == "" {
			return nil
		}
		opts.Continue = l.GetContinue()
	}
}

// add converts one listed object by inventory/convert; kinds the
// inventory does not use are counted as skipped, as a dump's are.
func add(b *inventory.Builder, r Resource, u *unstructured.Unstructured) error {
	into, convertTo := convert.For(r.Group, r.Kind)
	if into == nil {
		b.Skip(r.Kind)
		return nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), into); err != nil {
		return fmt.Errorf("--inventory kube: list %s: %s %s: %s", r.Name(), r.Kind, objectName(u), escape.Snippet(err.Error(), 200))
	}
	if err := convertTo(b); err != nil {
		return fmt.Errorf("--inventory kube: list %s: %s %s: %w", r.Name(), r.Kind, objectName(u), err)
	}
	return nil
}

func objectName(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return escape.Snippet(ns+"/"+u.GetName(), 128)
	}
	return escape.Snippet(u.GetName(), 128)
}

// forbidden is the error of resources RBAC refused: which, to whom, and
// the rule to add.
func forbidden(refused []Resource, who string) error {
	var names, what []string
	for _, r := range refused {
		names = append(names, "list "+r.Name()+" ("+r.scope()+")")
		what = append(what, fmt.Sprintf("%q", r.Resource)+groupNote(r))
	}
	if who == "" {
		who = "the kubeconfig's user"
	}
	return fmt.Errorf("--inventory kube: %s: forbidden for %s: add %q on %s to the ClusterRole (%s)",
		strings.Join(names, ", "), who, Verb, strings.Join(what, ", "), ClusterRoleFile)
}

func groupNote(r Resource) string {
	if r.Group == "" {
		return ""
	}
	return fmt.Sprintf(" (apiGroup %q)", r.Group)
}

// forbiddenUser reads the user a Forbidden status names: `… User "NAME"
// cannot list …` (apiserver's RBAC message); "" when it names none.
func forbiddenUser(err error) string {
	msg := err.Error()
	_, rest, ok := strings.Cut(msg, `User "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `" cannot`)
	if !ok || !safeName(name) {
		return ""
	}
	return name
}
