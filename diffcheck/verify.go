package diffcheck

import (
	"cmp"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/synth/replay"
	"github.com/flowfence/flowfence/verifier"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
)

// Outcome is what a policy tree does with one observed request edge.
type Outcome string

// Outcomes. Only Denied is a failure; Uncovered is a finding of diff.
const (
	// Allowed: both directions admit every label set seen on each side.
	Allowed Outcome = "allowed"
	// Denied: the tree would deny an observed request.
	Denied Outcome = "denied"
	// Host: from the pod's own node (entity host: kubelet probes), always
	// allowed by real CNIs whatever the policies say.
	Host Outcome = "host"
	// Inexpressible: a protocol NetworkPolicy cannot express (ICMP) to or
	// from an isolated pod: counted, not a failure.
	Inexpressible Outcome = "inexpressible"
	// Guarded: a call to a cloud credential endpoint that the tree denies,
	// as it must without a named opt-in (config metadata.allow).
	Guarded Outcome = "guarded"
	// Uncovered: admitted only because an application namespace it touches
	// has no policy at all in the tree (the tree never saw it): the flow is
	// undocumented, and enforcing default-deny there would cut it.
	Uncovered Outcome = "uncovered"
)

// Options configure the replay.
type Options struct {
	// CNI is the NetworkPolicy semantics (kubernetes or cilium).
	CNI verifier.CNI
	// CNIFlag is --cni as given (kubernetes, cilium, calico): a Cilium or
	// Calico tree is evaluated with its own CNI's semantics, and a --cni
	// naming another CNI is an error.
	CNIFlag string
	// Guard says which calls to cloud credential endpoints are denied on
	// purpose (synth.NewGuard).
	Guard policy.Guard
	// Scope decides which namespaces should have policies
	// (synth.IsApplicationNamespace).
	Scope synth.Options
	// Workers evaluate edges in parallel; 0 = all cores.
	Workers int
	// Ports are the named container ports of the observed workloads
	// (--inventory, or the table generate recorded in the tree): a named
	// port of the tree matches a flow to a pod only through them.
	Ports policy.PortTable
	// PortsFrom says where Ports came from, for the reason of a denied
	// flow ("the inventory", the table's file); empty without any.
	PortsFrom string
	// Relied are the named ports the tree's rules were written with (the
	// table generate recorded in the tree; nil without one): a denied
	// flow on one of them says what changed.
	Relied policy.PortTable
}

// NewOptions derives the replay options from the generator's options, so
// that verify and diff judge a tree by the settings it was generated with.
// CNI calico has upstream Kubernetes semantics.
func NewOptions(sopts synth.Options) (Options, error) {
	var cni verifier.CNI
	switch sopts.CNI {
	case "", synth.CNIKubernetes, synth.CNICalico:
		cni = verifier.CNIKubernetes
	case synth.CNICilium:
		cni = verifier.CNICilium
	default:
		return Options{}, fmt.Errorf("--cni %q: one of kubernetes, cilium, calico", sopts.CNI)
	}
	guard, err := synth.NewGuard(sopts.Cloud, sopts.MetadataAllow)
	if err != nil {
		return Options{}, err
	}
	return Options{CNI: cni, CNIFlag: sopts.CNI, Guard: guard, Scope: sopts}, nil
}

// Side is one direction of the verdict on a flow.
type Side struct {
	// Isolated: a policy selects the pod for this direction.
	Isolated bool `json:"isolated"`
	// Allowed: not isolated, or a rule admits the flow.
	Allowed bool `json:"allowed"`
	// Policies selecting the pod in this direction ("namespace/name").
	Policies []string `json:"policies,omitempty"`
	// Matched are the policies, among Policies, with a rule admitting it.
	Matched []string `json:"matched,omitempty"`
}

// Flow is one observed request edge (or a baseline edge) and, after a
// replay, what the tree does with it.
type Flow struct {
	// Src and Dst are the graph node ids (canonical: pod:ns/workload,
	// ip:…, entity:…).
	Src string `json:"src"`
	Dst string `json:"dst"`
	// Source and Destination name the peers for people.
	Source       string    `json:"source"`
	Destination  string    `json:"destination"`
	SrcNamespace string    `json:"srcNamespace,omitempty"`
	DstNamespace string    `json:"dstNamespace,omitempty"`
	Protocol     string    `json:"protocol"`
	Port         uint16    `json:"port"`
	Flows        uint64    `json:"flows"`
	FirstSeen    time.Time `json:"firstSeen"`
	LastSeen     time.Time `json:"lastSeen"`
	// Outcome, Reason, Egress and Ingress are set by a replay. For a
	// denied flow they are those of the first label-set pair denied.
	Outcome Outcome `json:"outcome,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// NamedPort says why a named container port of the tree did not match
	// a denied flow (a renumbered or unresolved port); empty otherwise.
	NamedPort string `json:"namedPort,omitempty"`
	Egress    *Side  `json:"egress,omitempty"`
	Ingress   *Side  `json:"ingress,omitempty"`
	// Namespaces are where the flow belongs in a report: for a denied flow
	// the namespaces whose policies deny it, for an uncovered flow the
	// namespaces without policies, for an edge the workload namespaces it
	// touches.
	Namespaces []string `json:"namespaces,omitempty"`
}

// PortString is "TCP/8080", or the protocol alone without a port (ICMP).
func (f *Flow) PortString() string { return policy.PortString(f.Protocol, f.Port) }

// Counts are the edges of a replay per outcome.
type Counts struct {
	Edges          int `json:"edges"`
	Allowed        int `json:"allowed"`
	Denied         int `json:"denied"`
	Host           int `json:"host"`
	Inexpressible  int `json:"inexpressible"`
	Guarded        int `json:"guarded"`
	Uncovered      int `json:"uncovered"`
	DeniedAttempts int `json:"deniedAttempts"`
}

// Verification is the result of replaying a graph against a tree.
type Verification struct {
	CNI         verifier.CNI
	Dir         string
	Policies    int
	Files       map[string]string
	WindowStart time.Time
	WindowEnd   time.Time
	Counts      Counts
	// Every replayed edge but the allowed ones, by outcome, sorted by
	// source, destination, protocol and port.
	Denied, Host, Inexpressible, Guarded, Uncovered []Flow
	// DeniedAttempts are connections an existing policy dropped and nobody
	// answered (learner.Graph.Denied): reported, not replayed.
	DeniedAttempts []Flow
	// Promotion: the tree's Calico staged policies were evaluated as
	// promoted, with this effect; nil when it has none.
	Promotion *calicoeval.Promotion
}

// Failed reports whether an observed request would be denied.
func (v *Verification) Failed() bool { return v.Counts.Denied > 0 }

// Checker replays graphs against one policy tree.
type Checker struct {
	tree    *Tree
	eng     verifier.Evaluator
	opts    Options
	covered map[string]bool
	// nodes are the node addresses of the scope's nodes.cidrs and
	// inventory
	nodes *synth.NodeSet
}

// NewChecker compiles the tree's policies for the verifier engine of the
// tree's flavor.
func NewChecker(tree *Tree, opts Options) (*Checker, error) {
	eng, err := tree.evaluator(opts)
	if err != nil {
		return nil, fmt.Errorf("--policies %s: %w", tree.Dir, err)
	}
	c := &Checker{tree: tree, eng: eng, opts: opts, covered: map[string]bool{}, nodes: synth.NewNodeSet(opts.Scope.NodeCIDRs, opts.Scope.Inventory)}
	for _, ns := range tree.Namespaces() {
		c.covered[ns] = true
	}
	return c, nil
}

// Engine returns the compiled policies.
func (c *Checker) Engine() verifier.Evaluator { return c.eng }

// Verify replays every learned request edge of g (made canonical with
// synth.Canonical, as generate does) against the tree.
func (c *Checker) Verify(g *learner.Graph) *Verification {
	return c.replay(canonical(g))
}

// canonical returns synth.Canonical(g), or g itself when it already is
// canonical (every graph of one cluster): Canonical copies the graph.
func canonical(g *learner.Graph) *learner.Graph {
	for id, n := range g.Nodes {
		if n.Kind == learner.NodeWorkload && id != "pod:"+n.Namespace+"/"+n.Name {
			return synth.Canonical(g)
		}
	}
	return g
}

// replay classifies the edges of a canonical graph, in parallel; the result
// is sorted and does not depend on the number of workers or on map order.
func (c *Checker) replay(g *learner.Graph) *Verification {
	v := &Verification{CNI: c.eng.CNI(), Dir: c.tree.Dir, Policies: c.eng.Len(), Files: c.tree.Files,
		WindowStart: g.First, WindowEnd: g.Last, Promotion: c.tree.Promotion()}
	edges := make([]*learner.Edge, 0, len(g.Edges))
	for _, e := range g.Edges {
		edges = append(edges, e)
	}
	peers := make(map[string][]verifier.Peer, len(g.Nodes))
	noEndpoint := synth.UnmanagedWorkloads(g, c.opts.Scope.Inventory)
	unmanaged := map[string]bool{} // nodes replayed with a pod the CNI does not manage
	for id, n := range g.Nodes {
		if noEndpoint[id] && !n.Unmanaged {
			// pods without a CiliumEndpoint: unmanaged, as synth judged them
			n = n.Clone()
			n.Unmanaged = true
		}
		peers[id] = Peers(n, c.opts.Ports)
		unmanaged[id] = n.Unmanaged
	}
	// reported[i] is nil for an allowed edge
	reported := make([]*Flow, len(edges))
	workers := c.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(1, len(edges)/256))
	var wg sync.WaitGroup
	chunk := (len(edges) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(edges))
		if lo >= hi {
			break
		}
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				reported[i] = c.classify(g, edges[i], peers, unmanaged)
			}
		})
	}
	wg.Wait()
	var flows []Flow
	for _, f := range reported {
		if f != nil {
			flows = append(flows, *f)
		}
	}
	slices.SortFunc(flows, CompareFlows)
	v.Counts.Edges = len(edges)
	v.Counts.Allowed = len(edges) - len(flows)
	// each reported flow goes to its outcome's list; an outcome's count is
	// the length of its list
	lists := map[Outcome]*[]Flow{Denied: &v.Denied, Host: &v.Host, Inexpressible: &v.Inexpressible, Guarded: &v.Guarded, Uncovered: &v.Uncovered}
	for _, f := range flows {
		if list := lists[f.Outcome]; list != nil {
			*list = append(*list, f)
		}
	}
	n := &v.Counts
	n.Denied, n.Host, n.Inexpressible, n.Guarded, n.Uncovered = len(v.Denied), len(v.Host), len(v.Inexpressible), len(v.Guarded), len(v.Uncovered)
	for _, e := range learner.SortedEdges(g.Denied) {
		f := newFlow(g, e)
		// counted once, as the graph's summary counts it: its drops (a
		// flowed request it left is the client side of the same attempt)
		f.Flows = e.Dropped
		v.DeniedAttempts = append(v.DeniedAttempts, f)
	}
	v.Counts.DeniedAttempts = len(v.DeniedAttempts)
	return v
}

// newFlow describes an edge of g; Flows counts the request flows that
// flowed.
func newFlow(g *learner.Graph, e *learner.Edge) Flow {
	src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
	f := Flow{Src: e.Src, Dst: e.Dst, Source: synth.DescribeNode(src), Destination: synth.DescribeNode(dst),
		Protocol: e.Proto, Port: e.Port, Flows: e.Flows, FirstSeen: e.FirstSeen.UTC(), LastSeen: e.LastSeen.UTC()}
	if src != nil && src.Kind == learner.NodeWorkload {
		f.SrcNamespace = src.Namespace
	}
	if dst != nil && dst.Kind == learner.NodeWorkload {
		f.DstNamespace = dst.Namespace
	}
	return f
}

// unmanagedPod reports the peer replay.Peers gives for the pods of an
// unmanaged workload: a pod without labels.
func unmanagedPod(unmanaged bool, p verifier.Peer) bool {
	return unmanaged && p.IsPod && p.Labels == nil
}

// Peers returns the verifier peers a graph node stands for: one per label
// set seen on a workload's pods (replay.Peers), or its address. With
// Cilium semantics the API server counts as a node: Cilium gives it the
// kube-apiserver identity, which CIDR rules do not match.
func Peers(n *learner.Node, ports policy.PortTable) []verifier.Peer {
	ps := replay.Peers(n, ports)
	if n.Kind == learner.NodeEntity && n.Entity == string(record.EntityKubeAPIServer) {
		for i := range ps {
			ps[i].IsNode = true
		}
	}
	return ps
}

// UsePorts sets the named container ports the replay resolves the tree's
// named ports with (Options.Ports, PortsFrom), once the observation that
// names the workloads is known.
func (c *Checker) UsePorts(ports policy.PortTable, from string) {
	c.opts.Ports, c.opts.PortsFrom = ports, from
}

// classify replays one edge for every pair of label sets seen on its ends
// (peers by node id). It returns nil for an edge admitted in a namespace
// that has policies, else the flow to report.
func (c *Checker) classify(g *learner.Graph, e *learner.Edge, peers map[string][]verifier.Peer, unmanaged map[string]bool) *Flow {
	src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
	if src == nil || dst == nil {
		f := newFlow(g, e)
		f.Outcome, f.Reason = Denied, "the graph names an unknown node"
		return &f
	}
	if src.Kind == learner.NodeEntity && src.Entity == string(record.EntityHost) && dst.Kind == learner.NodeWorkload {
		f := newFlow(g, e)
		f.Outcome, f.Reason = Host, "from the pod's own node (kubelet probes): always allowed"
		return &f
	}
	if node, own := c.nodes.OwnNode(src, dst, e); own {
		f := newFlow(g, e)
		f.Outcome, f.Reason = Host, "from the pod's own node "+node+" (kubelet probes; its address by the inventory): always allowed"
		return &f
	}
	proto, _ := record.ParseProtocol(e.Proto)
	t := verifier.Traffic{Protocol: corev1.Protocol(proto.String()), Port: int32(e.Port)}
	var denied *verifier.Result
	inexpressible := false
	for _, sp := range peers[e.Src] {
		t.Src = sp
		for _, dp := range peers[e.Dst] {
			t.Dst = dp
			res := c.eng.Evaluate(t)
			switch res.Verdict {
			case verifier.Denied:
				// the CNI enforces nothing on a pod it does not manage:
				// its own side never denies
				ownSrc, ownDst := unmanagedPod(unmanaged[e.Src], sp), unmanagedPod(unmanaged[e.Dst], dp)
				if (res.Egress.Allowed || ownSrc) && (res.Ingress.Allowed || ownDst) {
					continue
				}
				if denied == nil {
					denied = &res
				}
			case verifier.Inexpressible:
				inexpressible = true
			}
		}
	}
	var uncovered []string
	if denied == nil && !inexpressible {
		for _, n := range []*learner.Node{src, dst} {
			if n.Kind == learner.NodeWorkload && !c.covered[n.Namespace] && !slices.Contains(uncovered, n.Namespace) &&
				synth.IsApplicationNamespace(n.Namespace, c.opts.Scope) {
				uncovered = append(uncovered, n.Namespace)
			}
		}
		if len(uncovered) == 0 {
			return nil // allowed
		}
	}
	f := newFlow(g, e)
	switch {
	case denied != nil:
		f.Outcome, f.Reason = Denied, denied.Reason
		if why := c.namedPortReason(dst, proto, e.Port, denied); why != "" {
			f.NamedPort = why
			f.Reason += "; " + why
		}
		f.Egress, f.Ingress = side(denied.Egress), side(denied.Ingress)
		if !denied.Egress.Allowed && f.SrcNamespace != "" {
			f.Namespaces = append(f.Namespaces, f.SrcNamespace)
		}
		if !denied.Ingress.Allowed && f.DstNamespace != "" {
			f.Namespaces = append(f.Namespaces, f.DstNamespace)
		}
		f.Namespaces = sortedUnique(f.Namespaces)
		if c.guarded(src, dst, e.Port) {
			f.Outcome, f.Reason = Guarded, "cloud credential endpoint: denied on purpose (opt in with config metadata.allow); "+denied.Reason
		}
	case inexpressible:
		f.Outcome, f.Reason = Inexpressible, e.Proto+" cannot be expressed by NetworkPolicy ports: needs the cilium or calico flavor"
	default:
		f.Namespaces = sortedUnique(uncovered)
		f.Outcome, f.Reason = Uncovered, "admitted only because no policy isolates namespace "+strings.Join(f.Namespaces, ", ")+": the tree has no policy there"
	}
	return &f
}

// namedPortReason says why a named port of the tree did not match a flow
// to workload dst on proto/port: the name the tree relies on for that
// port is not declared alike by every pod any more, or now names another
// number; or a rule names a port no known mapping resolves. "" when no
// named port is involved.
func (c *Checker) namedPortReason(dst *learner.Node, proto record.Protocol, port uint16, res *verifier.Result) string {
	if dst.Kind != learner.NodeWorkload {
		return ""
	}
	id := "pod:" + dst.Namespace + "/" + dst.Name
	from := c.opts.PortsFrom
	for _, np := range c.opts.Relied[id] {
		if np.Proto != proto || np.Port != port {
			continue
		}
		now, ok := c.opts.Ports.Lookup(id, np.Name)
		switch {
		case from == "":
			return fmt.Sprintf("the tree names port %s/%d %q of %s/%s: no named-port table to resolve it with (give --inventory)", proto, port, np.Name, dst.Namespace, dst.Name)
		case !ok:
			return fmt.Sprintf("the tree names port %s/%d %q of %s/%s, which %s does not show every one of its pods declaring alike", proto, port, np.Name, dst.Namespace, dst.Name, from)
		case now != np:
			return fmt.Sprintf("the tree names port %s/%d %q of %s/%s, which %s resolves to %s/%d: the container port changed (regenerate, or name the port back)", proto, port, np.Name, dst.Namespace, dst.Name, from, now.Proto, now.Port)
		}
	}
	if res.Egress.UnknownNamedPort || res.Ingress.UnknownNamedPort {
		if from == "" {
			return "a rule names a container port and no named-port table resolves it (give --inventory): a named port with no known mapping matches nothing"
		}
		return "a rule names a container port that " + from + " does not show every pod of " + dst.Namespace + "/" + dst.Name + " declaring alike: it matches nothing"
	}
	return ""
}

// guarded reports whether src calling dst:port is a call to a cloud
// credential endpoint the guard forbids and no opt-in allows.
func (c *Checker) guarded(src, dst *learner.Node, port uint16) bool {
	if dst.Kind == learner.NodeWorkload {
		return false
	}
	a, err := netip.ParseAddr(dst.IP)
	if err != nil {
		return false
	}
	if _, guarded := c.opts.Guard.Guards(a, port); !guarded {
		return false
	}
	for _, o := range c.opts.Guard.OptIns {
		oa, _ := netip.ParseAddr(o.Address)
		if src.Kind == learner.NodeWorkload && o.Namespace == src.Namespace && o.Workload == src.Name && oa == a.Unmap() && (o.Port == 0 || o.Port == port) {
			return false
		}
	}
	return true
}

func side(d verifier.DirectionResult) *Side {
	return &Side{Isolated: d.Isolated, Allowed: d.Allowed, Policies: slices.Clone(d.Policies), Matched: slices.Clone(d.Matched)}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// CompareFlows orders flows by source, destination (graph node ids),
// protocol, port: the order of every flow list of a replay and its reports.
func CompareFlows(a, b Flow) int {
	return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
}
