// Package scenario is flowfence's sample cluster: a small, deterministic,
// synthetic cluster (nodes, namespaces, pods, services) and a 24 h window of
// its traffic, rendered as Cilium Hubble flow JSON in the three shapes found
// in the wild (exporter files, `hubble observe -o json`, legacy bare flows).
//
// It also states, as plain Go data, what a correct policy generator must
// conclude from that traffic (Expected, Inexpressible), so that the tests of
// the collectors, the learner, synth and the verifier share one ground truth.
// The files under testdata/flows are produced by `go run ./internal/scenario/gen
// -out testdata/flows`; a test checks that they are up to date.
//
// Everything is pure: every exported function returns fresh values built from
// constants, so callers may modify what they get.
package scenario

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowfence/flowfence/output/cilium"
)

// Entities name the non-pod peers of a Probe: Cilium's reserved
// identities, by the entity names flowfence writes for them.
const (
	EntityWorld         = cilium.EntityWorld
	EntityHost          = cilium.EntityHost
	EntityRemoteNode    = cilium.EntityRemoteNode
	EntityKubeAPIServer = cilium.EntityKubeAPIServer
)

// Workload kinds used by the scenario (as Hubble's `workloads` field names
// them: a CronJob's pods belong to the CronJob, not to the Job).
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindCronJob     = "CronJob"
)

// Addresses of the scenario that tests refer to.
const (
	// ClusterName is the Cilium cluster name (io.cilium.k8s.policy.cluster).
	ClusterName = "default"
	// KubeAPIServerIP is the API server endpoint (port KubeAPIServerPort).
	KubeAPIServerIP   = "10.0.0.1"
	KubeAPIServerPort = 6443
	// MetadataIP is the cloud instance-metadata address.
	MetadataIP = "169.254.169.254"
	// StripeIP is what api.stripe.com resolves to (RFC 5737 test address).
	StripeIP = "198.51.100.10"
	// BackupIP is what backups.s3.example.com resolves to.
	BackupIP = "198.51.100.20"
	// UpstreamDNSIP is the resolver CoreDNS forwards external names to.
	UpstreamDNSIP = "192.0.2.53"
	// KubeDNSClusterIP is the ClusterIP of kube-system/kube-dns.
	KubeDNSClusterIP = "10.96.0.10"
)

// Spec is the cluster: what an inventory (`kubectl get … -o json`) would
// say about it at the end of the observation window.
type Spec struct {
	Cluster    string
	Nodes      []Node
	Namespaces []Namespace
	Pods       []Pod
	Services   []Service
}

// Node is a cluster node.
type Node struct {
	Name string
	// IP is the node's InternalIP (what remote-node / host peers use).
	IP string
	// PodCIDR is the node's pod range.
	PodCIDR string
	// RouterIP is the cilium_host address: the source of host traffic into
	// local pods (kubelet probes come from it).
	RouterIP string
	Labels   map[string]string
}

// Namespace is a namespace and its labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Pod is one pod with its full Kubernetes labels (no source prefix). Hubble
// flows carry only Cilium's identity-relevant subset of them (see README).
type Pod struct {
	Namespace      string
	Name           string
	IP             string
	Node           string
	Labels         map[string]string
	ServiceAccount string
	// WorkloadKind is Deployment, StatefulSet or CronJob.
	WorkloadKind string
	WorkloadName string
}

// Service is a ClusterIP Service.
type Service struct {
	Namespace string
	Name      string
	ClusterIP string
	Selector  map[string]string
	Ports     []ServicePort
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string
	Protocol   string
	Port       int
	TargetPort int
}

// Pod returns the pod ns/name.
func (s Spec) Pod(namespace, name string) (Pod, bool) {
	return first(s.Pods, func(p Pod) bool { return p.Namespace == namespace && p.Name == name })
}

// PodByIP returns the pod that has ip.
func (s Spec) PodByIP(ip string) (Pod, bool) {
	return first(s.Pods, func(p Pod) bool { return p.IP == ip })
}

// WorkloadPods returns the pods of workload ns/name in replica (or job run)
// order.
func (s Spec) WorkloadPods(namespace, workload string) []Pod {
	var out []Pod
	for _, p := range s.Pods {
		if p.Namespace == namespace && p.WorkloadName == workload {
			out = append(out, p)
		}
	}
	return out
}

// Namespace returns the namespace name.
func (s Spec) Namespace(name string) (Namespace, bool) {
	return first(s.Namespaces, func(n Namespace) bool { return n.Name == name })
}

// NamespaceLabels returns the labels of namespace name as a namespace
// selector matches them: kubernetes.io/metadata.name, which the API server
// sets on every namespace, and the namespace's own labels. The map is the
// caller's.
func (s Spec) NamespaceLabels(name string) map[string]string {
	ns, _ := s.Namespace(name)
	out := map[string]string{"kubernetes.io/metadata.name": ns.Name}
	maps.Copy(out, ns.Labels)
	return out
}

// Node returns the node name.
func (s Spec) Node(name string) (Node, bool) {
	return first(s.Nodes, func(n Node) bool { return n.Name == name })
}

// first returns the first of items that match accepts, and whether there
// is one (the zero T when there is none).
func first[T any](items []T, match func(T) bool) (T, bool) {
	for _, it := range items {
		if match(it) {
			return it, true
		}
	}
	var zero T
	return zero, false
}

// Window returns the observation window: 24 h from 2026-11-16T00:00:00Z.
func Window() (start, end time.Time) {
	start = time.Date(2026, time.November, 16, 0, 0, 0, 0, time.UTC)
	return start, start.Add(24 * time.Hour)
}

// StagingSince returns when the shop-staging namespace started talking: all
// its traffic lies in the last 20% of the window.
func StagingSince() time.Time {
	start, end := Window()
	return start.Add(end.Sub(start) * 8 / 10)
}

// podNameAlphabet is Kubernetes' rand.SafeEncodeString alphabet (no vowels,
// no look-alike digits), used for pod-template-hash and pod name suffixes.
const podNameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// safeString derives an n-character (n ≤ 32) Kubernetes-style random suffix
// from seed, deterministically.
func safeString(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	b := make([]byte, n)
	for i := range n {
		b[i] = podNameAlphabet[int(sum[i])%len(podNameAlphabet)]
	}
	return string(b)
}

// stableUUID derives an RFC 4122 version-4-shaped UUID from seed.
func stableUUID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return formatUUID(sum[:16])
}

func formatUUID(b []byte) string {
	u := make([]byte, 16)
	copy(u, b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func hash32(seed string) uint32 {
	sum := sha256.Sum256([]byte(seed))
	return binary.BigEndian.Uint32(sum[:4])
}

// workloadDef is the recipe of one workload.
type workloadDef struct {
	ns, name, kind string
	sa             string
	labels         map[string]string
	// nodes[i] is the node number (1 = node-a) of replica i, or of job run i.
	nodes []int
	// runs are the scheduled times (Unix minutes) of a CronJob's job runs.
	runs []int64
	// hashLen is the length of the pod-template-hash (Deployments).
	hashLen int
}

func workloadDefs() []workloadDef {
	l := func(kv ...string) map[string]string {
		m := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const m0 = 29913120 // 2026-11-16T00:00Z in Unix minutes
	return []workloadDef{
		{ns: "kube-system", name: "coredns", kind: KindDeployment, sa: "coredns", labels: l("k8s-app", "kube-dns"), nodes: []int{1, 3}, hashLen: 10},
		{ns: "shop", name: "frontend", kind: KindDeployment, sa: "frontend", labels: l("app.kubernetes.io/name", "frontend", "app.kubernetes.io/instance", "shop"), nodes: []int{1, 2, 3}, hashLen: 10},
		{ns: "shop", name: "cart", kind: KindDeployment, sa: "cart", labels: l("app", "cart"), nodes: []int{1, 2}, hashLen: 10},
		{ns: "shop", name: "catalog", kind: KindDeployment, sa: "default", labels: l("app", "catalog"), nodes: []int{2, 3}, hashLen: 9},
		{ns: "shop", name: "report", kind: KindCronJob, sa: "report", labels: l("app", "report"), nodes: []int{3, 1}, runs: []int64{m0 + 60, m0 + 23*60}},
		{ns: "payments", name: "api", kind: KindDeployment, sa: "payments-api", labels: l("app.kubernetes.io/name", "payments-api", "app.kubernetes.io/part-of", "payments"), nodes: []int{1, 2, 3}, hashLen: 10},
		{ns: "payments", name: "worker", kind: KindDeployment, sa: "payments-worker", labels: l("app.kubernetes.io/name", "payments-worker", "app.kubernetes.io/part-of", "payments"), nodes: []int{2, 3}, hashLen: 10},
		{ns: "payments", name: "fraud", kind: KindStatefulSet, sa: "fraud", labels: l("app", "fraud"), nodes: []int{1, 3}},
		{ns: "data", name: "postgres", kind: KindStatefulSet, sa: "postgres", labels: l("app", "postgres"), nodes: []int{2, 3}},
		{ns: "data", name: "redis", kind: KindStatefulSet, sa: "redis", labels: l("app", "redis", "version", "7.2"), nodes: []int{1, 2, 3}},
		{ns: "data", name: "backup", kind: KindCronJob, sa: "backup", labels: l("app", "backup"), nodes: []int{2}, runs: []int64{m0 - 10}},
		{ns: "monitoring", name: "prometheus", kind: KindStatefulSet, sa: "prometheus", labels: l("app.kubernetes.io/name", "prometheus"), nodes: []int{1}},
		{ns: "shop-staging", name: "frontend", kind: KindDeployment, sa: "frontend", labels: l("app.kubernetes.io/name", "frontend", "app.kubernetes.io/instance", "shop"), nodes: []int{2, 3}, hashLen: 10},
		{ns: "shop-staging", name: "cart", kind: KindDeployment, sa: "cart", labels: l("app", "cart"), nodes: []int{3}, hashLen: 10},
	}
}

func nodeName(n int) string { return "node-" + string(rune('a'+n-1)) }

// Cluster returns the scenario's cluster.
func Cluster() Spec {
	s := Spec{Cluster: ClusterName}
	zones := []string{"", "eu-west-1a", "eu-west-1b", "eu-west-1c"}
	for n := 1; n <= 3; n++ {
		name := nodeName(n)
		s.Nodes = append(s.Nodes, Node{
			Name:     name,
			IP:       fmt.Sprintf("10.0.0.%d", 10+n),
			PodCIDR:  fmt.Sprintf("10.244.%d.0/24", n),
			RouterIP: fmt.Sprintf("10.244.%d.1", n),
			Labels: map[string]string{
				"kubernetes.io/arch":               "amd64",
				"kubernetes.io/hostname":           name,
				"kubernetes.io/os":                 "linux",
				"node.kubernetes.io/instance-type": "m5.xlarge",
				"topology.kubernetes.io/region":    "eu-west-1",
				"topology.kubernetes.io/zone":      zones[n],
			},
		})
	}
	teams := []struct{ ns, key, val string }{
		{"kube-system", "team", "platform"},
		{"shop", "team", "storefront"},
		{"payments", "team", "payments"},
		{"data", "team", "platform-data"},
		{"monitoring", "team", "observability"},
		{"shop-staging", "team", "storefront"},
	}
	for _, t := range teams {
		s.Namespaces = append(s.Namespaces, Namespace{Name: t.ns, Labels: map[string]string{
			"kubernetes.io/metadata.name": t.ns,
			t.key:                         t.val,
		}})
	}

	next := map[int]int{1: 10, 2: 10, 3: 10}
	alloc := func(node int) string {
		ip := fmt.Sprintf("10.244.%d.%d", node, next[node])
		next[node] += 7
		return ip
	}
	for _, w := range workloadDefs() {
		for i, node := range w.nodes {
			labels := make(map[string]string, len(w.labels)+5)
			for k, v := range w.labels {
				labels[k] = v
			}
			var name string
			switch w.kind {
			case KindDeployment:
				hash := safeString(w.ns+"/"+w.name+"/replicaset", w.hashLen)
				labels["pod-template-hash"] = hash
				name = w.name + "-" + hash + "-" + safeString(fmt.Sprintf("%s/%s/%d", w.ns, w.name, i), 5)
			case KindStatefulSet:
				name = w.name + "-" + strconv.Itoa(i)
				labels["statefulset.kubernetes.io/pod-name"] = name
				labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(i)
				labels["controller-revision-hash"] = w.name + "-" + safeString(w.ns+"/"+w.name+"/revision", 10)
			case KindCronJob:
				job := w.name + "-" + strconv.FormatInt(w.runs[i], 10)
				uid := stableUUID(w.ns + "/" + job)
				name = job + "-" + safeString(w.ns+"/"+job, 5)
				labels["job-name"] = job
				labels["batch.kubernetes.io/job-name"] = job
				labels["controller-uid"] = uid
				labels["batch.kubernetes.io/controller-uid"] = uid
			}
			s.Pods = append(s.Pods, Pod{
				Namespace:      w.ns,
				Name:           name,
				IP:             alloc(node),
				Node:           nodeName(node),
				Labels:         labels,
				ServiceAccount: w.sa,
				WorkloadKind:   w.kind,
				WorkloadName:   w.name,
			})
		}
	}

	svc := func(ns, name, ip string, sel map[string]string, ports ...ServicePort) Service {
		return Service{Namespace: ns, Name: name, ClusterIP: ip, Selector: sel, Ports: ports}
	}
	tcp := func(name string, port, target int) ServicePort {
		return ServicePort{Name: name, Protocol: "TCP", Port: port, TargetPort: target}
	}
	s.Services = []Service{
		svc("kube-system", "kube-dns", KubeDNSClusterIP, map[string]string{"k8s-app": "kube-dns"},
			ServicePort{Name: "dns", Protocol: "UDP", Port: 53, TargetPort: 53}, tcp("dns-tcp", 53, 53)),
		svc("shop", "frontend", "10.96.12.40", map[string]string{"app.kubernetes.io/name": "frontend", "app.kubernetes.io/instance": "shop"},
			tcp("http", 80, 8080), tcp("metrics", 9090, 9090)),
		svc("shop", "cart", "10.96.12.41", map[string]string{"app": "cart"}, tcp("http", 8080, 8080)),
		svc("shop", "catalog", "10.96.12.42", map[string]string{"app": "catalog"}, tcp("http", 8080, 8080), tcp("grpc", 9000, 9000)),
		svc("payments", "payments-api", "10.96.20.10", map[string]string{"app.kubernetes.io/name": "payments-api"},
			tcp("https", 443, 8443), tcp("webhook", 9443, 9443), tcp("metrics", 9090, 9090)),
		svc("data", "postgres", "10.96.30.10", map[string]string{"app": "postgres"}, tcp("postgres", 5432, 5432)),
		svc("data", "redis", "10.96.30.11", map[string]string{"app": "redis"}, tcp("redis", 6379, 6379)),
		svc("shop-staging", "frontend", "10.96.14.40", map[string]string{"app.kubernetes.io/name": "frontend", "app.kubernetes.io/instance": "shop"}, tcp("http", 80, 8080)),
		svc("shop-staging", "cart", "10.96.14.41", map[string]string{"app": "cart"}, tcp("http", 8080, 8080)),
	}
	return s
}

// identityLabelKeep reports whether Cilium 1.20's default identity-relevant
// label filter (pkg/labelsfilter) keeps pod label key k.
func identityLabelKeep(k string) bool {
	switch {
	case strings.HasPrefix(k, "app.kubernetes.io"):
		return true
	case strings.Contains(k, "kubernetes.io"), strings.Contains(k, "k8s.io"):
		return false
	}
	switch k {
	case "pod-template-generation", "pod-template-hash", "controller-revision-hash", "controller-uid", "etcd_node":
		return false
	}
	return true
}

// hubbleLabels returns the labels Hubble reports for pod p: its
// identity-relevant labels, the namespace labels and Cilium's own, with the
// "k8s:" source prefix, sorted as Cilium sorts them.
func hubbleLabels(s Spec, p Pod) []string {
	var out []string
	for k, v := range p.Labels {
		if identityLabelKeep(k) {
			out = append(out, "k8s:"+k+"="+v)
		}
	}
	if ns, ok := s.Namespace(p.Namespace); ok {
		for k, v := range ns.Labels {
			out = append(out, "k8s:io.cilium.k8s.namespace.labels."+k+"="+v)
		}
	}
	out = append(out,
		"k8s:io.cilium.k8s.policy.cluster="+s.Cluster,
		"k8s:io.cilium.k8s.policy.serviceaccount="+p.ServiceAccount,
		"k8s:io.kubernetes.pod.namespace="+p.Namespace,
	)
	sort.Strings(out)
	return out
}
