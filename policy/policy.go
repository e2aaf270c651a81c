// Package policy is the flavor-neutral policy model: what synth decides
// (per-namespace bundles, per-workload least-privilege rules, the metadata
// guard, findings) before output renders it as Kubernetes NetworkPolicy,
// CiliumNetworkPolicy or Calico YAML.
package policy

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowfence/flowfence/record"
)

// Kind says what role a policy plays.
type Kind string

// Policy kinds.
const (
	KindDefaultDeny Kind = "default-deny"
	KindDNS         Kind = "dns"
	KindIngress     Kind = "workload-ingress"
	KindEgress      Kind = "workload-egress"
)

// Well-known policy names.
const (
	NameDefaultDeny = "default-deny"
	NameDNS         = "allow-dns"
)

// Set is everything synth produced for one run.
type Set struct {
	Namespaces []*Namespace
	Guard      Guard
	Findings   []Finding
	// System lists namespaces that got no policies (they appear as peers).
	System      []string
	WindowStart time.Time
	WindowEnd   time.Time
	// Flows is how many request flows the policies were learned from.
	Flows uint64
	// CNI is the semantics the policies were written for (kubernetes|cilium).
	CNI string
	// Resolvers are the DNS resolvers the DNS bundle admits.
	Resolvers []Resolver
	// CutShort names the live windows that ended before their end
	// ("SOURCE: reason"): the policies admit only what came before.
	CutShort []string
	// Inventory summarises the cluster inventory the run read ("N
	// namespaces, N workloads, N pods (snapshot of FILE)"); empty without
	// one.
	Inventory string
	// CiliumEndpoints counts the inventory's CiliumEndpoints (none: which
	// pods Cilium manages was not checked); Unmanaged are the inventory's
	// running pods without one ("namespace/pod").
	CiliumEndpoints int
	Unmanaged       []string
	// UnmanagedWorkloads are the graph workloads (node ids) some of whose
	// pods have no CiliumEndpoint: synth treats them as the CNI's
	// unmanaged pods, and so does the replay.
	UnmanagedWorkloads []string
	// DenyScope is what the tree isolates: DenyScopeNamespace ("" too)
	// puts every pod of an application namespace in default-deny;
	// DenyScopeObserved isolates only the observed workloads, each by its
	// own policies.
	DenyScope string
	// Ports are the container port names the tree's rules use (Port.Name),
	// per graph workload: what the replay resolves them with.
	Ports PortTable
	// Fleet is, for a tree merged from several clusters (generate
	// --fleet), each cluster with the learned edges it alone observed
	// (sorted by cluster); nil otherwise.
	Fleet []ClusterOnly
}

// ClusterOnly is one cluster of a fleet and the edges of the tree that no
// other cluster observed (learned or denied).
type ClusterOnly struct {
	Cluster string
	Edges   []OnlyEdge
}

// OnlyEdge is a learned edge one cluster alone observed, with that
// cluster's evidence; a peer is "namespace/workload", an address or an
// entity, and the namespaces say which FLOWS.md show it.
type OnlyEdge struct {
	Src, Dst                   string
	SrcNamespace, DstNamespace string
	Proto                      string
	Port                       uint16
	Flows                      uint64
	FirstSeen, LastSeen        time.Time
}

// Deny scopes (Set.DenyScope, Namespace.DenyScope).
const (
	DenyScopeNamespace = "namespace"
	DenyScopeObserved  = "observed"
)

// Resolver is a DNS resolver that was observed (or assumed).
type Resolver struct {
	Kind string // kube-dns, node-local-dns, kube-dns-clusterip, gke-cloud-dns, openshift-dns
	Peer Peer
	// Ports always include UDP and TCP 53 plus the resolver's real port.
	Ports    []Port
	Observed bool
	// Unmanaged names the observed resolver workloads ("namespace/name")
	// whose pods the CNI does not manage (Cilium reserved:unmanaged): the
	// bundle's selector cannot match them until they are restarted.
	Unmanaged []string
}

// Namespace holds one application namespace's policies and evidence.
type Namespace struct {
	Name      string
	Policies  []*Policy
	Evidence  []Evidence
	Workloads []string
	// Readiness is Traffic unless Blockers hold the namespace back.
	Readiness Readiness
	// Traffic is what the window's traffic alone says: stable, still
	// learning or too little traffic.
	Traffic Readiness
	// Dependents is how many other namespaces call into this one.
	Dependents int
	// Blockers are the observed requests the written policies would deny
	// outside the documented classes (denied attempts, metadata calls,
	// own-node host traffic, inexpressible protocols): each holds the
	// namespace back from rollout (Readiness.State Blocked).
	Blockers []Blocker
	// Silent are the workloads of the namespace that the inventory lists
	// and the window never saw: default-deny isolates them (Readiness
	// State Silent while there are any).
	Silent []SilentWorkload
	// Unproven are the workloads whose selector the inventory's pods do not
	// prove exact: each holds the namespace back (Readiness.State Blocked).
	Unproven []Unproven
	// DenyScope is the set's (Set.DenyScope): with DenyScopeObserved the
	// Silent workloads are not isolated.
	DenyScope string
	// Existing are the inventory's NetworkPolicies of the namespace that
	// select some observed workload: kubectl apply keeps them beside the
	// tree (NetworkPolicies add up).
	Existing []ExistingPolicy
}

// ExistingPolicy is a NetworkPolicy already in the cluster that selects
// observed workloads of the namespace.
type ExistingPolicy struct {
	Name string
	// Ingress/Egress are the directions it isolates.
	Ingress, Egress bool
	// Exact is false when its pod selector has matchExpressions: it was
	// matched by its matchLabels alone, so it may select fewer pods.
	Exact bool
	// Workloads are the observed workloads it selects.
	Workloads []string
	// Denied are the flows of the window a flow source said it denied;
	// MayHaveDenied those no source attributed that were dropped in a
	// direction it isolates, at a workload it selects.
	Denied, MayHaveDenied uint64
	// SameName is set when the tree writes a policy of the same name: apply
	// replaces this one instead of adding to it.
	SameName bool
}

// SilentWorkload is a workload the inventory lists that had no flow in the
// window.
type SilentWorkload struct {
	Kind, Name string
	Pods       int
	// Schedule is a CronJob's schedule ("" for other kinds) and Runs says
	// whether the window covered a scheduled run, and when.
	Schedule string
	Runs     string
}

// Unproven is a workload whose selector does not select exactly its own
// pods among every pod of the inventory.
type Unproven struct {
	Workload string
	Selector string
	// Reason says which pods break it; Fix what to do.
	Reason, Fix string
}

// Blocker is one observed request that the written policies would deny
// and that nothing documents: the namespace cannot enforce until it is
// fixed.
type Blocker struct {
	// Workload is the namespace's workload; Direction is the side whose
	// policy denies it (ingress | egress); Peer names the other end.
	Workload  string
	Direction string
	Peer      string
	Proto     string
	Port      uint16
	Flows     uint64
	// Reason says why the written policies deny it, Fix what to do.
	Reason, Fix string
	// SrcID/DstID name the edge's graph nodes.
	SrcID, DstID string
}

// Readiness says whether a namespace is ready to enforce.
type Readiness struct {
	State    string // stable | still learning | too little traffic | blocked | silent workloads
	Evidence string
	// Fix says what to do first (Blocked only).
	Fix string
}

// Readiness states.
const (
	Stable        = "stable"
	StillLearning = "still learning"
	TooLittle     = "too little traffic"
	// Blocked: an observed request would be denied by the written
	// policies and nothing documents why (Namespace.Blockers), or a
	// selector is not proven exact by the inventory (Namespace.Unproven).
	Blocked = "blocked"
	// Silent: the inventory lists workloads the window never saw
	// (Namespace.Silent): default-deny would isolate them.
	Silent = "silent workloads"
)

// Policy is one policy object.
type Policy struct {
	Name      string
	Namespace string
	Kind      Kind
	// Workload is the workload the policy is for (empty for namespace-wide).
	Workload string
	// Subject selects the pods the policy applies to; empty = all pods.
	Subject map[string]string
	// Ingress/Egress say which directions the policy isolates; the rules
	// list what is admitted (none = deny all in that direction).
	Ingress, Egress bool
	IngressRules    []Rule
	EgressRules     []Rule
	// Comment lines for the object's header (provenance).
	Comment []string
}

// Rule admits traffic from/to any of Peers on any of Ports (empty Ports = all).
type Rule struct {
	Peers []Peer
	Ports []Port
}

// Peer is one side of a rule. Exactly one of Pods or CIDRs is set; Entity
// names the reserved identity for flavors that have entities (Cilium), with
// CIDRs as the NetworkPolicy fallback.
type Peer struct {
	Pods   *PodPeer
	CIDRs  []CIDR
	Entity record.Entity
	// Names are DNS names seen for the CIDRs (comments; --fqdn for Cilium).
	Names []string
	// Workload is the graph node this peer came from (evidence, reports).
	Workload string
}

// PodPeer selects pods by labels, in Namespace ("" = the policy's own
// namespace; namespaces are selected by kubernetes.io/metadata.name).
type PodPeer struct {
	Namespace string
	Selector  map[string]string
}

// CIDR is an ipBlock.
type CIDR struct {
	Prefix netip.Prefix
	Except []netip.Prefix
}

// Port is a protocol with an optional port (0 = all ports of the protocol).
// Name, when set, is the container port name a rule writes instead of the
// number: every pod the rule's port can reach names Port so (synth proves
// it against the inventory), and the name resolves through the destination
// pod's container ports.
type Port struct {
	Proto record.Protocol
	Port  uint16
	Name  string
}

// NamedPort is a container port a workload's pods all declare under one
// name.
type NamedPort struct {
	Name  string
	Proto record.Protocol
	Port  uint16
}

// PortTable maps a graph workload's canonical id ("pod:NAMESPACE/NAME") to
// the named ports every one of its pods declares identically, sorted by
// name.
type PortTable map[string][]NamedPort

// Lookup returns the named port name of workload id ("", false when none).
func (t PortTable) Lookup(id, name string) (NamedPort, bool) {
	for _, p := range t[id] {
		if p.Name == name {
			return p, true
		}
	}
	return NamedPort{}, false
}

func (p Port) String() string {
	s := PortString(p.Proto.String(), p.Port)
	if p.Port != 0 && p.Name != "" {
		s += " (" + p.Name + ")"
	}
	return s
}

// PortString is how reports name a protocol and port: "TCP/8080", or the
// protocol alone without a port (ICMP, or every port of the protocol).
func PortString(proto string, port uint16) string {
	if port == 0 {
		return proto
	}
	return proto + "/" + strconv.Itoa(int(port))
}

// ComparePorts orders ports by protocol then number.
func ComparePorts(a, b Port) int {
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// Key is a canonical string for a peer (sorting and grouping).
func (p Peer) Key() string {
	var sb strings.Builder
	if p.Pods != nil {
		sb.WriteString("0pods:")
		sb.WriteString(p.Pods.Namespace)
		sb.WriteByte('|')
		var buf [8]string
		keys := buf[:0]
		for k := range p.Pods.Selector {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sb.WriteString(k)
			sb.WriteByte('=')
			sb.WriteString(p.Pods.Selector[k])
			sb.WriteByte(',')
		}
	}
	if len(p.CIDRs) > 0 {
		sb.WriteString("1cidr:")
		for _, c := range p.CIDRs {
			sb.WriteString(c.Prefix.String())
			sb.WriteByte(',')
		}
	}
	sb.WriteByte('|')
	sb.WriteString(string(p.Entity))
	return sb.String()
}

// Evidence is one row of FLOWS.md.
type Evidence struct {
	Workload  string
	Direction string // ingress | egress
	Peer      string
	Proto     string
	Port      uint16
	Flows     uint64
	FirstSeen time.Time
	LastSeen  time.Time
	Rule      string // what admits it (policy name), or why not
	// Via names the Services (from the inventory) whose port the
	// datapath translated to this pod port: "Service shop/frontend port
	// 80 → targetPort 8080 (http)"; empty without an inventory.
	Via string
	// SrcID/DstID name the edge's graph nodes; Admitted says whether the
	// policies of this direction admit it (the self-check replays those).
	SrcID, DstID string
	Admitted     bool
	// Documented names the documented class of a request the policies do
	// not admit on purpose (DocHost, DocMetadata, DocInexpressible); empty
	// for an admitted row, and for one that blocks the namespace (then Fix
	// says what to do).
	Documented string
	Fix        string
}

// Documented classes of observed requests the policies do not admit: they
// are reported, and do not hold a namespace back.
const (
	DocHost          = "host"
	DocMetadata      = "metadata"
	DocInexpressible = "inexpressible"
	// DocNoPolicy: the namespace the policy would be in gets none (a
	// system namespace): nothing the tree writes denies it.
	DocNoPolicy = "no-policy"
)

// Guard is the cloud-metadata guard.
type Guard struct {
	Cloud     string
	Addresses []GuardedAddress
	// OptIns are the named exceptions from config.
	OptIns []OptIn
	// OptInSelectors maps "namespace/workload" of an opt-in to the labels
	// that select that workload's pods, for cluster-wide guards that must
	// exclude it; absent when the workload cannot be selected (reported).
	OptInSelectors map[string]map[string]string
	// Excepts are the prefixes every broad ipBlock excludes, per family.
	ExceptV4, ExceptV6 []netip.Prefix
}

// GuardedAddress is a credential endpoint.
type GuardedAddress struct {
	Addr netip.Addr
	What string
	// DNSPorts are ports on this address that are DNS, not metadata (GKE
	// Cloud DNS on 169.254.169.254:53): not guarded.
	DNSPorts []uint16
}

// OptIn allows one workload to reach a guarded address (config
// metadata.allow).
type OptIn struct {
	Namespace string `json:"namespace" mapstructure:"namespace"`
	Workload  string `json:"workload" mapstructure:"workload"`
	Address   string `json:"address" mapstructure:"address"`
	Port      uint16 `json:"port" mapstructure:"port"`
}

// Guards reports whether the guard forbids addr:port (proto TCP/UDP).
func (g *Guard) Guards(addr netip.Addr, port uint16) (GuardedAddress, bool) {
	for _, a := range g.Addresses {
		if a.Addr == addr.Unmap() {
			if slices.Contains(a.DNSPorts, port) {
				return a, false
			}
			return a, true
		}
	}
	return GuardedAddress{}, false
}

// Finding is something the run summary and ROLLOUT.md tell the user.
type Finding struct {
	Kind      string
	Namespace string
	Workload  string
	Peer      string
	Proto     string
	Port      uint16
	Flows     uint64
	Message   string
}

// Finding kinds.
const (
	FindMetadata      = "metadata-call"
	FindHostTraffic   = "host-traffic"
	FindPublic        = "public-entrypoint"
	FindAmbiguousPort = "ambiguous-port"
	FindInexpressible = "inexpressible"
	FindDenied        = "denied-attempt"
	FindSelector      = "selector"
	FindNodeIPs       = "node-ips"
	FindUnsupported   = "unsupported-peer"
	FindCNI           = "cni-semantics"
	// FindDNS: where the DNS bundle's resolver addresses came from when
	// neither flows nor config gave them (the inventory's Services).
	FindDNS = "dns-resolver"
	// FindUnaddressed: traffic with an external peer whose address the
	// source did not record (Calico pub/pvt aggregates, Goldmane): no
	// ipBlock can be written for it.
	FindUnaddressed = "unaddressed-peer"
	// FindDeniedAdmitted: an existing policy denied some connections of an
	// edge that the generated tree admits (the edge also flowed, or
	// --learn-dropped learned it): the allow overrides a documented deny.
	FindDeniedAdmitted = "denied-now-admitted"
	// FindUnmanaged: a pod the CNI does not manage (Cilium
	// reserved:unmanaged) that an observed flow needs: no selector matches
	// it until its pods are restarted.
	FindUnmanaged = "unmanaged-peer"
	// FindNodeLike: a caller that looks like a node (a private address on
	// a probe-looking port, no Service) while node addresses are unknown.
	FindNodeLike = "node-like-caller"
	// FindBlocked: an observed request the written policies would deny,
	// outside the documented classes: its namespace is blocked.
	FindBlocked = "blocked"
)

// SortFindings orders findings deterministically.
func SortFindings(f []Finding) {
	slices.SortFunc(f, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Workload, b.Workload),
			cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Message, b.Message))
	})
}
