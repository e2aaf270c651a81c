// Package inventory is a read-only model of a cluster at one time:
// namespaces, nodes, pods, the workloads that own them, Services and the
// NetworkPolicies already there. It holds plain data only — no Kubernetes
// API type — so that synth and the reports read it whatever produced it
// (a kubectl dump through inventory/dump, the live API later). Every name
// and label in a Snapshot has passed record's validation rules.
package inventory

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Workload kinds. A pod that no controller owns is KindPod (a bare pod);
// a ReplicaSet or Job whose owner is not a Deployment or CronJob is a
// workload of its own.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
	KindReplicaSet  = "ReplicaSet"
	KindJob         = "Job"
	KindCronJob     = "CronJob"
	KindPod         = "Pod"
)

// Snapshot is the inventory: what the cluster held when it was read.
type Snapshot struct {
	// Sources name what was read (file names, "stdin").
	Sources    []string
	Namespaces []Namespace
	Nodes      []Node
	Pods       []Pod
	Workloads  []Workload
	Services   []Service
	Policies   []NetworkPolicy
	// Endpoints are the cilium.io/v2 CiliumEndpoints: none when the
	// cluster runs no Cilium (or CiliumEndpointSlices replace them), and
	// then which pods Cilium manages is not known.
	Endpoints []CiliumEndpoint
	// Skipped counts the objects of kinds the inventory does not use, by
	// kind.
	Skipped map[string]int
}

// Namespace is a namespace and its labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Node is a cluster node: its InternalIP and ExternalIP addresses and pod
// CIDRs.
type Node struct {
	Name      string
	Addresses []netip.Addr
	PodCIDRs  []netip.Prefix
}

// Ref names an object of the same namespace by kind.
type Ref struct {
	Kind, Name string
}

func (r Ref) String() string { return r.Kind + "/" + r.Name }

// Pod is one pod.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	// Owner is the controller owner reference (empty Kind: none).
	Owner Ref
	// Workload is the top-level workload the pod belongs to (its Owner
	// followed up to a Deployment or CronJob; the pod itself when bare).
	Workload    Ref
	HostNetwork bool
	NodeName    string
	IPs         []netip.Addr
	Ports       []NamedPort
	Phase       string
}

// NamedPort is a container port with a name.
type NamedPort struct {
	Name  string
	Proto string
	Port  uint16
}

// Workload is a top-level workload: what owns pods.
type Workload struct {
	Kind, Namespace, Name string
	// Selector is spec.selector's matchLabels; SelectorExact is false when
	// spec.selector also has matchExpressions (Selector then selects a
	// superset) or the kind has no selector (CronJob, bare pod).
	Selector      map[string]string
	SelectorExact bool
	// Template are the labels of the pods it creates (the pod's own for a
	// bare pod).
	Template map[string]string
	// Owner is the controller owner reference of a ReplicaSet or Job (read
	// to fold them into their Deployment or CronJob).
	Owner Ref
	// CronJob only: the schedule, its time zone (empty: the
	// controller's, UTC here), whether it is suspended and when it last
	// ran.
	Schedule     string
	TimeZone     string
	Suspended    bool
	LastSchedule time.Time
	// Pods are the names of its pods in the snapshot.
	Pods []string
}

// Ref returns the workload's reference.
func (w *Workload) Ref() Ref { return Ref{Kind: w.Kind, Name: w.Name} }

// Service is a Service: its selector and ports.
type Service struct {
	Namespace, Name string
	Selector        map[string]string
	Ports           []ServicePort
	// ClusterIPs are its cluster IP addresses (none for a headless
	// Service).
	ClusterIPs []netip.Addr
}

// ServicePort maps a Service port to the pods' port: TargetPort when it
// is a number, TargetName when it names a container port.
type ServicePort struct {
	Name       string
	Proto      string
	Port       uint16
	TargetPort uint16
	TargetName string
}

// NetworkPolicy is a networking.k8s.io/v1 NetworkPolicy already in the
// cluster: which pods it selects and which directions it isolates.
type NetworkPolicy struct {
	Namespace, Name string
	PodSelector     map[string]string
	// SelectorExact is false when the pod selector has matchExpressions.
	SelectorExact   bool
	Ingress, Egress bool
}

// CiliumEndpoint is a cilium.io/v2 CiliumEndpoint: a pod Cilium manages
// (the endpoint is named after its pod), its addresses
// (status.networking.addressing) and security identity (status.identity.id).
type CiliumEndpoint struct {
	Namespace, Name string
	IPs             []netip.Addr
	Identity        int64
}

// Unmanaged returns the running pods on the pod network that have no
// CiliumEndpoint (nil when the snapshot has no CiliumEndpoint at all:
// then nothing says which pods Cilium manages). Cilium neither enforces
// policy on such a pod nor gives it an identity any selector matches: it
// started before the agent, or the agent failed to manage it.
func (s *Snapshot) Unmanaged() []*Pod {
	if len(s.Endpoints) == 0 {
		return nil
	}
	has := make(map[string]bool, len(s.Endpoints))
	for _, e := range s.Endpoints {
		has[e.Namespace+"/"+e.Name] = true
	}
	var out []*Pod
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.HostNetwork || p.Phase != "Running" || has[p.Namespace+"/"+p.Name] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Summary is the run summary's line: "N namespaces, N workloads, N pods
// (snapshot of FILE)" (", N CiliumEndpoints" after the pods when it has
// some), and "; skipped N Kind, …" when objects of kinds the
// inventory does not use were read.
func (s *Snapshot) Summary() string {
	sum := plural(len(s.Namespaces), "namespace") + ", " + plural(len(s.Workloads), "workload") + ", " +
		plural(len(s.Pods), "pod")
	if len(s.Endpoints) > 0 {
		sum += ", " + plural(len(s.Endpoints), "CiliumEndpoint")
	}
	sum += " (snapshot of " + strings.Join(s.Sources, ", ") + ")"
	if len(s.Skipped) > 0 {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(s.Skipped)) {
			kinds = append(kinds, strconv.Itoa(s.Skipped[k])+" "+k)
		}
		sum += "; skipped " + strings.Join(kinds, ", ")
	}
	return sum
}

func plural(n int, word string) string {
	s := strconv.Itoa(n) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}

// ControllerLabel reports label keys that controllers set on pods to tell
// one revision, replica or run apart: never a selector a policy should
// use (the next rollout or run changes them).
func ControllerLabel(k string) bool {
	switch k {
	case "pod-template-hash", "controller-revision-hash", "job-name", "controller-uid",
		"batch.kubernetes.io/job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-completion-index",
		"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index", "pod-template-generation":
		return true
	}
	return false
}

// Builder collects objects and resolves which workload owns each pod
// (Build). Add* order does not matter.
type Builder struct {
	snap Snapshot
}

// AddSource records a source name for the summary.
func (b *Builder) AddSource(name string) { b.snap.Sources = append(b.snap.Sources, name) }

// AddNamespace adds a namespace.
func (b *Builder) AddNamespace(n Namespace) { b.snap.Namespaces = append(b.snap.Namespaces, n) }

// AddNode adds a node.
func (b *Builder) AddNode(n Node) { b.snap.Nodes = append(b.snap.Nodes, n) }

// AddPod adds a pod.
func (b *Builder) AddPod(p Pod) { b.snap.Pods = append(b.snap.Pods, p) }

// AddWorkload adds a workload (ReplicaSets and Jobs owned by a Deployment
// or CronJob are folded into it by Build).
func (b *Builder) AddWorkload(w Workload) { b.snap.Workloads = append(b.snap.Workloads, w) }

// AddService adds a Service.
func (b *Builder) AddService(s Service) { b.snap.Services = append(b.snap.Services, s) }

// AddEndpoint adds a CiliumEndpoint.
func (b *Builder) AddEndpoint(e CiliumEndpoint) { b.snap.Endpoints = append(b.snap.Endpoints, e) }

// AddPolicy adds a NetworkPolicy.
func (b *Builder) AddPolicy(p NetworkPolicy) { b.snap.Policies = append(b.snap.Policies, p) }

// Skip counts an object of a kind the inventory does not use.
func (b *Builder) Skip(kind string) {
	if b.snap.Skipped == nil {
		b.snap.Skipped = map[string]int{}
	}
	b.snap.Skipped[kind]++
}

// Build returns the snapshot: duplicates (the same object read twice)
// dropped, everything sorted, each pod's top-level workload resolved and
// ReplicaSets and Jobs owned by a Deployment or CronJob folded into it. A
// pod whose owner is absent from the snapshot keeps that owner as its
// workload, named after it (a ReplicaSet named <deployment>-<pod-template-
// hash> counts as its Deployment), and the workload is added.
func (b *Builder) Build() *Snapshot {
	s := b.snap
	s.Namespaces = dedupe(s.Namespaces, func(n Namespace) string { return n.Name })
	s.Nodes = dedupe(s.Nodes, func(n Node) string { return n.Name })
	s.Pods = dedupe(s.Pods, func(p Pod) string { return p.Namespace + "/" + p.Name })
	s.Services = dedupe(s.Services, func(v Service) string { return v.Namespace + "/" + v.Name })
	s.Policies = dedupe(s.Policies, func(p NetworkPolicy) string { return p.Namespace + "/" + p.Name })
	s.Endpoints = dedupe(s.Endpoints, func(e CiliumEndpoint) string { return e.Namespace + "/" + e.Name })
	all := dedupe(s.Workloads, func(w Workload) string { return w.Namespace + "/" + w.Kind + "/" + w.Name })
	byKey := map[string]*Workload{}
	for i := range all {
		byKey[all[i].Namespace+"/"+all[i].Ref().String()] = &all[i]
	}
	// top follows owner references up to the top-level workload
	top := func(ns string, r Ref, pod *Pod) Ref {
		for range 4 {
			w := byKey[ns+"/"+r.String()]
			if w == nil {
				if r.Kind == KindReplicaSet && pod != nil {
					if h := pod.Labels["pod-template-hash"]; h != "" {
						if d, ok := strings.CutSuffix(r.Name, "-"+h); ok {
							return Ref{Kind: KindDeployment, Name: d}
						}
					}
				}
				return r
			}
			if (w.Kind == KindReplicaSet && w.Owner.Kind == KindDeployment) || (w.Kind == KindJob && w.Owner.Kind == KindCronJob) {
				r = w.Owner
				continue
			}
			return r
		}
		return r
	}
	var keep []Workload
	for _, w := range all {
		if t := top(w.Namespace, w.Ref(), nil); t != w.Ref() {
			if byKey[w.Namespace+"/"+t.String()] != nil {
				continue // folded into its owner
			}
			// its owner is not in the snapshot: it stands for it
			w.Kind, w.Name, w.Owner = t.Kind, t.Name, Ref{}
			if t.Kind == KindCronJob {
				w.Selector, w.SelectorExact = nil, false
			}
		}
		keep = append(keep, w)
	}
	keep = dedupe(keep, func(w Workload) string { return w.Namespace + "/" + w.Kind + "/" + w.Name })
	index := map[string]int{}
	for i, w := range keep {
		index[w.Namespace+"/"+w.Ref().String()] = i
	}
	for i := range s.Pods {
		p := &s.Pods[i]
		r := Ref{Kind: KindPod, Name: p.Name}
		if p.Owner.Kind != "" {
			r = top(p.Namespace, p.Owner, p)
		}
		p.Workload = r
		key := p.Namespace + "/" + r.String()
		j, ok := index[key]
		if !ok {
			w := Workload{Kind: r.Kind, Namespace: p.Namespace, Name: r.Name}
			if r.Kind == KindPod {
				w.Template = p.Labels
				w.Selector, w.SelectorExact = nil, false
			}
			keep = append(keep, w)
			j = len(keep) - 1
			index[key] = j
		}
		if keep[j].Template == nil {
			keep[j].Template = withoutControllerLabels(p.Labels)
		}
		keep[j].Pods = append(keep[j].Pods, p.Name)
	}
	slices.SortFunc(keep, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	for i := range keep {
		slices.Sort(keep[i].Pods)
	}
	s.Workloads = keep
	slices.Sort(s.Sources)
	s.Sources = slices.Compact(s.Sources)
	return &s
}

func withoutControllerLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		if !ControllerLabel(k) {
			out[k] = v
		}
	}
	return out
}

// dedupe drops later duplicates by key and sorts by key.
func dedupe[T any](xs []T, key func(T) string) []T {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		k := key(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

// Matches reports whether a selector (matchLabels) selects labels. An
// empty selector selects every pod.
func Matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if w, ok := labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}
