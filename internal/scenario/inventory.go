package scenario

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flowfence/flowfence/inventory"
)

// InventoryFile is where `go run ./internal/scenario/gen -inventory`
// writes the inventory, relative to the repository.
const InventoryFile = "testdata/inventory/sample.json"

// Silent workloads: in the inventory only, never in the flows.
const (
	// SilentDeployment is shop/recommender: scaled up, never called.
	SilentDeployment = "recommender"
	// SilentCronJob is shop/cleanup, weekly on Sunday 04:30: the window (a
	// Monday) covers no run.
	SilentCronJob         = "cleanup"
	SilentCronJobSchedule = "30 4 * * 0"
	// CanaryDeployment is payments/payments-api-canary: it carries every
	// label of payments/api, so that no selector of api's labels separates
	// them (the inventory disproves api's selector).
	CanaryDeployment = "payments-api-canary"
	// HostNetworkDaemonSet is monitoring/node-exporter: host network, so
	// no NetworkPolicy isolates it and it is not listed as silent.
	HostNetworkDaemonSet = "node-exporter"
	// ExistingPolicy is shop/cart-allow-frontend, a NetworkPolicy already
	// in the cluster: it isolates shop/cart's ingress (the drops of
	// shop-staging/frontend's attempts) and admits shop/frontend.
	ExistingPolicy = "cart-allow-frontend"
)

// CronJobSchedules are the schedules of the scenario's CronJobs, whose
// runs the flows show (report at 01:00 and 23:00, backup at 23:50).
func CronJobSchedules() map[string]string {
	return map[string]string{"shop/report": "0 1,23 * * *", "data/backup": "50 23 * * *", "shop/" + SilentCronJob: SilentCronJobSchedule}
}

// Inventory renders what `kubectl get ns,nodes,pods,deploy,sts,ds,rs,job,
// cronjob,svc -A -o json` prints for the scenario's cluster at the end of
// the window, plus workloads no flow shows (SilentDeployment,
// SilentCronJob, CanaryDeployment, HostNetworkDaemonSet): a v1 List,
// indented, deterministic.
func Inventory() ([]byte, error) {
	s := Cluster()
	var items []any
	tm := func(apiVersion, kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
	}
	for _, n := range s.Namespaces {
		items = append(items, corev1.Namespace{TypeMeta: tm("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}})
	}
	for _, n := range s.Nodes {
		items = append(items, corev1.Node{TypeMeta: tm("v1", "Node"), ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels},
			Spec: corev1.NodeSpec{PodCIDR: n.PodCIDR, PodCIDRs: []string{n.PodCIDR}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.IP}, {Type: corev1.NodeHostName, Address: n.Name}}}})
	}
	pods := s.Pods
	extra := silentPods(s)
	pods = append(pods, extra...)
	type wl struct {
		ns, name, kind string
		labels         map[string]string
		hash           string
	}
	var wls []wl
	seen := map[string]bool{}
	for _, p := range pods {
		key := p.Namespace + "/" + p.WorkloadName
		if seen[key] {
			continue
		}
		seen[key] = true
		labels := map[string]string{}
		for k, v := range p.Labels {
			if !inventory.ControllerLabel(k) {
				labels[k] = v
			}
		}
		wls = append(wls, wl{ns: p.Namespace, name: p.WorkloadName, kind: p.WorkloadKind, labels: labels, hash: p.Labels["pod-template-hash"]})
	}
	wls = append(wls, wl{ns: "shop", name: SilentCronJob, kind: KindCronJob, labels: map[string]string{"app": "cleanup"}})
	ports := namedPorts(s)
	for _, p := range pods {
		items = append(items, inventoryPod(p, s.podPorts(ports, p)))
	}
	schedules := CronJobSchedules()
	for _, w := range wls {
		meta := metav1.ObjectMeta{Namespace: w.ns, Name: w.name, Labels: w.labels}
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: w.labels}}
		sel := &metav1.LabelSelector{MatchLabels: w.labels}
		switch w.kind {
		case KindDeployment:
			items = append(items, appsv1.Deployment{TypeMeta: tm("apps/v1", "Deployment"), ObjectMeta: meta,
				Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl}})
			rsLabels := maps.Clone(w.labels)
			rsLabels["pod-template-hash"] = w.hash
			rsTmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: rsLabels}}
			items = append(items, appsv1.ReplicaSet{TypeMeta: tm("apps/v1", "ReplicaSet"),
				ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: w.name + "-" + w.hash, Labels: rsLabels, OwnerReferences: controller("apps/v1", KindDeployment, w.name)},
				Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: rsTmpl}})
		case KindStatefulSet:
			items = append(items, appsv1.StatefulSet{TypeMeta: tm("apps/v1", "StatefulSet"), ObjectMeta: meta,
				Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl}})
		case KindDaemonSet:
			items = append(items, appsv1.DaemonSet{TypeMeta: tm("apps/v1", "DaemonSet"), ObjectMeta: meta,
				Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}})
		case KindCronJob:
			cj := batchv1.CronJob{TypeMeta: tm("batch/v1", "CronJob"), ObjectMeta: meta,
				Spec: batchv1.CronJobSpec{Schedule: schedules[w.ns+"/"+w.name],
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}
			if w.name == SilentCronJob {
				last := metav1.NewTime(time.Date(2026, time.November, 15, 4, 30, 0, 0, time.UTC))
				cj.Status.LastScheduleTime = &last
			}
			items = append(items, cj)
		}
	}
	for _, p := range pods {
		if p.WorkloadKind != KindCronJob {
			continue
		}
		job := p.Labels["job-name"]
		items = append(items, batchv1.Job{TypeMeta: tm("batch/v1", "Job"),
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: job, OwnerReferences: controller("batch/v1", KindCronJob, p.WorkloadName)},
			Spec: batchv1.JobSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": p.Labels["batch.kubernetes.io/controller-uid"]}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: p.Labels}}}})
	}
	for _, v := range s.Services {
		svc := corev1.Service{TypeMeta: tm("v1", "Service"), ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, Name: v.Name},
			Spec: corev1.ServiceSpec{ClusterIP: v.ClusterIP, Selector: v.Selector}}
		for _, sp := range v.Ports {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: sp.Name, Protocol: corev1.Protocol(sp.Protocol), Port: int32(sp.Port),
				TargetPort: intstr.FromInt32(int32(sp.TargetPort))})
		}
		items = append(items, svc)
	}
	// the policy that drops shop-staging/frontend's attempts on shop/cart:
	// it admits shop's own frontend only
	tcpProto := corev1.ProtocolTCP
	port := intstr.FromInt32(8080)
	items = append(items, networkingv1.NetworkPolicy{TypeMeta: tm("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: ExistingPolicy},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "cart"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcpProto, Port: &port}}}}}})
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items}
	out, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// KindDaemonSet is a DaemonSet (only the inventory's HostNetworkDaemonSet).
const KindDaemonSet = "DaemonSet"

func controller(apiVersion, kind, name string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, Controller: &t, UID: "00000000-0000-4000-8000-000000000000"}}
}

// silentPods are the pods of the silent Deployments and the host-network
// DaemonSet, on addresses no flow uses.
func silentPods(s Spec) []Pod {
	var out []Pod
	dep := func(ns, name string, labels map[string]string, node, ip int) {
		hash := safeString(ns+"/"+name+"/replicaset", 10)
		l := maps.Clone(labels)
		l["pod-template-hash"] = hash
		out = append(out, Pod{Namespace: ns, Name: name + "-" + hash + "-" + safeString(ns+"/"+name+"/0", 5), IP: "10.244." + strconv.Itoa(node) + "." + strconv.Itoa(ip),
			Node: nodeName(node), Labels: l, ServiceAccount: "default", WorkloadKind: KindDeployment, WorkloadName: name})
	}
	dep("shop", SilentDeployment, map[string]string{"app": "recommender"}, 2, 200)
	api := s.WorkloadPods("payments", "api")[0].Labels
	canary := map[string]string{"track": "canary"}
	for k, v := range api {
		if !inventory.ControllerLabel(k) {
			canary[k] = v
		}
	}
	dep("payments", CanaryDeployment, canary, 3, 200)
	for _, n := range s.Nodes {
		out = append(out, Pod{Namespace: "monitoring", Name: HostNetworkDaemonSet + "-" + safeString("node-exporter/"+n.Name, 5), IP: n.IP, Node: n.Name,
			Labels:         map[string]string{"app.kubernetes.io/name": HostNetworkDaemonSet, "controller-revision-hash": safeString("node-exporter/rev", 10)},
			ServiceAccount: HostNetworkDaemonSet, WorkloadKind: KindDaemonSet, WorkloadName: HostNetworkDaemonSet})
	}
	return out
}

// DisagreeingWorkload is shop/catalog: a rollout half done, its pods name
// the gRPC container port (DisagreeingPort) differently — the first pod
// "grpc", the others DisagreeingName — so its policies keep the number
// there (and name its http port, which they all agree on).
const (
	DisagreeingWorkload = "catalog"
	DisagreeingPort     = 9000
	DisagreeingName     = "grpc-v2"
)

// ContainerPorts returns the named container ports the inventory gives pod
// ns/name (a pod's view for the evaluators: named ports resolve through
// them).
func (s Spec) ContainerPorts(ns, name string) []corev1.ContainerPort {
	p, ok := s.Pod(ns, name)
	if !ok {
		return nil
	}
	return s.podPorts(namedPorts(s), p)
}

// podPorts are pod p's named container ports: its workload's, but for the
// pods of DisagreeingWorkload after the first.
func (s Spec) podPorts(ports map[string][]corev1.ContainerPort, p Pod) []corev1.ContainerPort {
	out := ports[p.Namespace+"/"+p.WorkloadName]
	if p.Namespace != "shop" || p.WorkloadName != DisagreeingWorkload {
		return out
	}
	if first := s.WorkloadPods(p.Namespace, p.WorkloadName); len(first) > 0 && first[0].Name == p.Name {
		return out
	}
	out = slices.Clone(out)
	for i := range out {
		if out[i].ContainerPort == DisagreeingPort {
			out[i].Name = DisagreeingName
		}
	}
	return out
}

// namedPorts are each workload's container ports, named after the
// Service ports that target them.
func namedPorts(s Spec) map[string][]corev1.ContainerPort {
	out := map[string][]corev1.ContainerPort{}
	for _, v := range s.Services {
		for _, p := range s.Pods {
			if p.Namespace != v.Namespace || !selects(v.Selector, p.Labels) {
				continue
			}
			key := p.Namespace + "/" + p.WorkloadName
			for _, sp := range v.Ports {
				dup := false
				for _, have := range out[key] {
					dup = dup || have.ContainerPort == int32(sp.TargetPort) && string(have.Protocol) == sp.Protocol
				}
				if !dup {
					out[key] = append(out[key], corev1.ContainerPort{Name: sp.Name, ContainerPort: int32(sp.TargetPort), Protocol: corev1.Protocol(sp.Protocol)})
				}
			}
			break
		}
	}
	return out
}

func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

func inventoryPod(p Pod, ports []corev1.ContainerPort) corev1.Pod {
	var owner []metav1.OwnerReference
	switch p.WorkloadKind {
	case KindDeployment:
		owner = controller("apps/v1", "ReplicaSet", p.WorkloadName+"-"+p.Labels["pod-template-hash"])
	case KindStatefulSet:
		owner = controller("apps/v1", KindStatefulSet, p.WorkloadName)
	case KindDaemonSet:
		owner = controller("apps/v1", KindDaemonSet, p.WorkloadName)
	case KindCronJob:
		owner = controller("batch/v1", "Job", p.Labels["job-name"])
	}
	phase := corev1.PodRunning
	if p.WorkloadKind == KindCronJob {
		phase = corev1.PodSucceeded
	}
	container := strings.SplitN(p.WorkloadName, "-", 2)[0]
	return corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, OwnerReferences: owner},
		Spec: corev1.PodSpec{NodeName: p.Node, ServiceAccountName: p.ServiceAccount, HostNetwork: p.WorkloadKind == KindDaemonSet,
			Containers: []corev1.Container{{Name: container, Image: "registry.example/" + container + ":1", Ports: ports}}},
		Status: corev1.PodStatus{Phase: phase, PodIP: p.IP, PodIPs: []corev1.PodIP{{IP: p.IP}}}}
}
