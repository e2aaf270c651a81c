// Package explain answers the two questions a reviewer asks of a policy
// tree: why would this flow be admitted or denied, and why is this rule
// here. It is the library behind `flowfence explain`; its reports (text,
// versioned JSON) are beside it.
//
// A flow (FlowQuery) is replayed against the tree with the evaluator of
// the tree's flavor (verifier, verifier/cilium, verifier/calico through
// diffcheck), its ends taken from the flow graph the tree was generated
// from (a workload's label sets and namespace labels, an address's entity
// and DNS names: synth/replay). Per direction it lists the policies
// selecting the end and their files, the rule elements (rule × peer ×
// port, diffcheck.Elements) that admit the flow, and for a denial the
// nearest rule and what differs: the elements of the selecting policies
// are matched again with their port made "any port" (the peer admits the
// flow: the port differs) and with their peer made "any peer" (the port
// admits it: the peer differs); a peer that differs is narrowed with the
// graph — the same pod labels in another namespace the rule admits (the
// namespace differs), or another workload of the peer's namespace it
// admits (the pod labels differ). This is the engine + explain pattern of
// policy-assistant (kubernetes-sigs/network-policy-api), on flowfence's
// own evaluators.
//
// A rule (RuleQuery) is explained by the observed edges behind each of its
// elements: every learned edge of the graph replayed against the elements
// alone (as stale-rule detection does), with counts, first and last seen,
// the nodes that saw them and the DNS names of address peers. An element
// no edge uses is stale.
package explain

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
)

// Explainer explains flows and rules of one tree with one graph.
type Explainer struct {
	tree    *diffcheck.Tree
	checker *diffcheck.Checker
	elems   *diffcheck.Elements
	graph   *learner.Graph
	// ports are the workloads' named container ports (opts.Ports)
	ports policy.PortTable
	// GraphFile names the graph in errors.
	graphFile string
}

// New compiles the tree (its flavor's evaluator under opts' --cni, and its
// rule elements) and takes the graph the tree was generated from;
// graphFile names it in errors.
func New(tree *diffcheck.Tree, opts diffcheck.Options, g *learner.Graph, graphFile string) (*Explainer, error) {
	checker, err := diffcheck.NewChecker(tree, opts)
	if err != nil {
		return nil, err
	}
	elems, err := checker.Elements()
	if err != nil {
		return nil, err
	}
	if !synth.IsCanonical(g) {
		g = synth.Canonical(g)
	}
	return &Explainer{tree: tree, checker: checker, elems: elems, graph: g, ports: opts.Ports, graphFile: graphFile}, nil
}

// RuleRef names one element of a policy rule and its file.
type RuleRef struct {
	Policy    string `json:"policy"`
	File      string `json:"file"`
	Direction string `json:"direction"`
	// Rule is the index in the policy's ingress or egress list; PeerIndex
	// and PortIndex in the rule's peers and ports (-1: every peer / port).
	Rule      int    `json:"rule"`
	PeerIndex int    `json:"peerIndex"`
	PortIndex int    `json:"portIndex"`
	Peer      string `json:"peer"`
	Port      string `json:"port"`
	Note      string `json:"note,omitempty"`
}

func ruleOf(s diffcheck.StaleRule) RuleRef {
	return RuleRef{Policy: s.Policy, File: s.File, Direction: s.Direction, Rule: s.Rule, PeerIndex: s.PeerIndex, PortIndex: s.PortIndex, Peer: s.Peer, Port: s.Port, Note: s.Note}
}

// PolicyRef is a policy and the file holding it.
type PolicyRef struct {
	Policy string `json:"policy"`
	File   string `json:"file"`
}

// Difference is one way the nearest rule misses the flow.
type Difference struct {
	// What differs: port, peer, namespace or pod labels.
	What string `json:"what"`
	// Rule is what the rule admits, Flow what the flow has.
	Rule string `json:"rule"`
	Flow string `json:"flow"`
}

// Nearest is the rule element that comes nearest to admitting a denied
// flow, and what differs.
type Nearest struct {
	RuleRef
	Differs []Difference `json:"differs"`
}

// Direction explains one side: the source's egress or the destination's
// ingress.
type Direction struct {
	// Applies is false for an end that is not a pod: no policy of its own.
	Applies  bool        `json:"applies"`
	Isolated bool        `json:"isolated"`
	Allowed  bool        `json:"allowed"`
	Policies []PolicyRef `json:"policies,omitempty"`
	// Admitted are the rule elements of the selecting policies that admit
	// the flow.
	Admitted []RuleRef `json:"admitted,omitempty"`
	// DeniedBy are policies whose deny rule matches (Cilium, Calico).
	DeniedBy []PolicyRef `json:"deniedBy,omitempty"`
	// Nearest is set for a denied direction with an allow rule.
	Nearest *Nearest `json:"nearest,omitempty"`
	// Detail is how an ordered flavor decided (Calico tiers).
	Detail string `json:"detail,omitempty"`
}

// Peer is one end of an explained flow as the graph knows it.
type Peer struct {
	Name            string            `json:"name"`
	Node            string            `json:"node,omitempty"` // graph node id; empty when the graph does not know it
	Namespace       string            `json:"namespace,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	LabelSets       int               `json:"labelSets,omitempty"`
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`
	IP              string            `json:"ip,omitempty"`
	Entity          string            `json:"entity,omitempty"`
	DNSNames        []string          `json:"dnsNames,omitempty"`
}

// Observed is the evidence of an edge in the graph.
type Observed struct {
	Flows     uint64    `json:"flows"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	Nodes     []string  `json:"nodes,omitempty"`
}

// FlowReport explains one flow.
type FlowReport struct {
	Flavor string `json:"flavor"`
	// Staged is "promoted" when the tree holds Calico staged policies: they
	// are evaluated as the policies they become.
	Staged      string `json:"staged,omitempty"`
	CNI         string `json:"cni"`
	Source      Peer   `json:"source"`
	Destination Peer   `json:"destination"`
	Protocol    string `json:"protocol"`
	Port        uint16 `json:"port"`
	Verdict     string `json:"verdict"`
	// Reason is the evaluator's one-line explanation.
	Reason  string    `json:"reason"`
	Egress  Direction `json:"egress"`
	Ingress Direction `json:"ingress"`
	// Observed is set when the graph holds this edge.
	Observed *Observed `json:"observed,omitempty"`
}

// Flow explains q: resolved through the graph, evaluated for every pair of
// label sets of its ends; the report is of the first pair denied, or the
// first pair when every one is admitted.
func (x *Explainer) Flow(q FlowQuery) (*FlowReport, error) {
	src, err := x.end(q.Src, "source")
	if err != nil {
		return nil, err
	}
	dst, err := x.end(q.Dst, "destination")
	if err != nil {
		return nil, err
	}
	srcPeers, dstPeers := peersOf(src, q.Src, x.ports), peersOf(dst, q.Dst, x.ports)
	t := verifier.Traffic{Protocol: corev1.Protocol(q.Protocol), Port: int32(q.Port)}
	var chosen verifier.Traffic
	var res verifier.Result
	found := false
	for _, sp := range srcPeers {
		for _, dp := range dstPeers {
			t.Src, t.Dst = sp, dp
			r := x.checker.Engine().Evaluate(t)
			if !found || r.Verdict != verifier.Allowed && res.Verdict == verifier.Allowed {
				chosen, res, found = t, r, true
			}
		}
	}
	rep := &FlowReport{Flavor: x.tree.Flavor, Staged: x.staged(), CNI: string(x.checker.Engine().CNI()), Source: describePeer(src, q.Src, chosen.Src, len(srcPeers)),
		Destination: describePeer(dst, q.Dst, chosen.Dst, len(dstPeers)), Protocol: q.Protocol, Port: q.Port, Verdict: res.Verdict.String(), Reason: res.Reason}
	exact := x.elems.Match(chosen, diffcheck.Exact)
	if chosen.Src.IsPod {
		rep.Egress = x.direction(chosen, &res.Egress, "egress", exact)
	}
	if chosen.Dst.IsPod {
		rep.Ingress = x.direction(chosen, &res.Ingress, "ingress", exact)
	}
	if src != nil && dst != nil {
		proto, _ := record.ParseProtocol(q.Protocol)
		if e := x.graph.Edges[learner.EdgeKey{Src: src.ID, Dst: dst.ID, Proto: proto, Port: q.Port}]; e != nil {
			rep.Observed = &Observed{Flows: e.Flows, FirstSeen: e.FirstSeen.UTC(), LastSeen: e.LastSeen.UTC(), Nodes: slices.Clone(e.NodesSeen)}
		}
	}
	return rep, nil
}

// end finds a FLOW end in the graph: a workload must be there (its labels
// come from it); an address may not be (then it is taken as outside the
// cluster).
func (x *Explainer) end(e End, side string) (*learner.Node, error) {
	if e.IP.IsValid() {
		var found *learner.Node
		for _, n := range x.graph.SortedNodes() {
			if n.Kind == learner.NodeWorkload || n.IP == "" {
				continue
			}
			if a, err := netip.ParseAddr(n.IP); err == nil && a.Unmap() == e.IP {
				found = n
				break
			}
		}
		return found, nil
	}
	if n := x.graph.Nodes["pod:"+e.Namespace+"/"+e.Workload]; n != nil {
		return n, nil
	}
	var in []string
	for _, n := range x.graph.SortedNodes() {
		if n.Kind == learner.NodeWorkload && n.Namespace == e.Namespace {
			in = append(in, n.Name)
		}
	}
	hint := "no workload of that namespace was observed"
	if len(in) > 0 {
		hint = "observed there: " + strings.Join(in, ", ")
	}
	return nil, fmt.Errorf("FLOW: %s %s is not a workload of the graph %s (%s): its labels come from the observation", side, escape.Terminal(e.String()), escape.Terminal(x.graphFile), escape.Terminal(hint))
}

// peersOf is the verifier peers of an end: the graph node's, or an address
// outside the cluster.
func peersOf(n *learner.Node, e End, ports policy.PortTable) []verifier.Peer {
	if n != nil {
		return diffcheck.Peers(n, ports)
	}
	return []verifier.Peer{{IP: e.IP}}
}

func describePeer(n *learner.Node, e End, p verifier.Peer, sets int) Peer {
	out := Peer{Name: e.String()}
	if n == nil {
		out.IP = e.IP.String()
		out.Entity = "world (not in the graph)"
		return out
	}
	out.Node = n.ID
	out.Name = synth.DescribeNode(n)
	if p.IsPod {
		out.Namespace, out.Labels, out.NamespaceLabels = p.Namespace, p.Labels, p.NamespaceLabels
		if sets > 1 {
			out.LabelSets = sets
		}
		return out
	}
	out.IP, out.Entity, out.DNSNames = n.IP, n.Entity, n.Names
	return out
}

// direction explains one side of the chosen evaluation.
func (x *Explainer) direction(t verifier.Traffic, dr *verifier.DirectionResult, dir string, exact []int) Direction {
	d := Direction{Applies: true, Isolated: dr.Isolated, Allowed: dr.Allowed, Detail: dr.Detail}
	for _, p := range dr.Policies {
		d.Policies = append(d.Policies, PolicyRef{Policy: p, File: x.tree.Files[p]})
	}
	for _, p := range dr.Denied {
		d.DeniedBy = append(d.DeniedBy, PolicyRef{Policy: p, File: x.tree.Files[p]})
	}
	selecting := map[string]bool{}
	for _, p := range dr.Policies {
		selecting[p] = true
	}
	for _, i := range exact {
		el := x.elems.List[i]
		if el.Direction == dir && selecting[el.Policy] {
			d.Admitted = append(d.Admitted, ruleOf(el))
		}
	}
	if dr.Allowed || len(d.Admitted) > 0 {
		return d
	}
	d.Nearest = x.nearest(t, dir, selecting)
	return d
}

// nearest picks, among the elements of the selecting policies in dir, the
// one whose peer admits the flow (only the port differs), else one whose
// port admits it (the peer differs), else the first (both differ).
func (x *Explainer) nearest(t verifier.Traffic, dir string, selecting map[string]bool) *Nearest {
	peerOK := setOf(x.elems.Match(t, diffcheck.AnyPort))
	portOK := setOf(x.elems.Match(t, diffcheck.AnyPeer))
	// rank: 1 only the port differs, 2 only the peer (the namespace or
	// the pod labels), 3 only the peer, 4 both, 5 both in the DNS bundle
	// (every namespace has it: rarely what the flow was meant for)
	best, rank := -1, 6
	var bestDiff Difference
	for i, el := range x.elems.List {
		if el.Direction != dir || !selecting[el.Policy] {
			continue
		}
		r := 4
		var diff Difference
		switch {
		case peerOK[i]:
			r = 1
		case portOK[i]:
			diff = x.peerDifference(t, dir, i, el)
			r = 3
			if diff.What != "peer" {
				r = 2
			}
		case isDNSBundle(el.Policy):
			r = 5
		}
		if r < rank {
			best, rank, bestDiff = i, r, diff
		}
	}
	if best < 0 {
		return nil
	}
	el := x.elems.List[best]
	n := &Nearest{RuleRef: ruleOf(el)}
	switch rank {
	case 1:
		n.Differs = []Difference{{What: "port", Rule: el.Port, Flow: portString(t)}}
	case 2, 3:
		n.Differs = []Difference{bestDiff}
	default:
		n.Differs = []Difference{{What: "port", Rule: el.Port, Flow: portString(t)}, x.peerDifference(t, dir, best, el)}
	}
	return n
}

// isDNSBundle reports the DNS bundle policy of a namespace (Calico's with
// its tier prefix).
func isDNSBundle(key string) bool {
	name := key[strings.LastIndexByte(key, '/')+1:]
	return name == policy.NameDNS || strings.HasSuffix(name, "."+policy.NameDNS)
}

// peerDifference says how the flow's peer misses element i's peer:
// another namespace's pods with the same labels it admits (namespace),
// another workload of the peer's namespace it admits (pod labels), or
// just the two peers.
func (x *Explainer) peerDifference(t verifier.Traffic, dir string, i int, el diffcheck.StaleRule) Difference {
	other := &t.Dst
	if dir == "ingress" {
		other = &t.Src
	}
	d := Difference{What: "peer", Rule: el.Peer, Flow: peerString(*other)}
	if !other.IsPod {
		return d
	}
	admits := func(p verifier.Peer) bool {
		v := t
		if dir == "ingress" {
			v.Src = p
		} else {
			v.Dst = p
		}
		return slices.Contains(x.elems.Match(v, diffcheck.AnyPort), i)
	}
	// the same pod labels in another namespace
	nsLabels := map[string]map[string]string{}
	for _, n := range x.graph.SortedNodes() {
		if n.Kind == learner.NodeWorkload {
			if _, ok := nsLabels[n.Namespace]; !ok || len(n.NamespaceLabels) > 0 {
				nsLabels[n.Namespace] = n.NamespaceLabels
			}
		}
	}
	var namespaces []string
	for _, ns := range slices.Sorted(maps.Keys(nsLabels)) {
		if ns == other.Namespace {
			continue
		}
		p := *other
		p.Namespace, p.NamespaceLabels = ns, nsLabels[ns]
		if admits(p) {
			namespaces = append(namespaces, ns)
		}
	}
	if len(namespaces) > 0 {
		return Difference{What: "namespace", Rule: "these pod labels in namespace " + strings.Join(namespaces, ", ") + " (" + el.Peer + ")",
			Flow: "namespace " + other.Namespace + " " + labelString(namespaceLabels(other.NamespaceLabels, other.Namespace))}
	}
	// another workload of the peer's namespace
	var like []string
	for _, n := range x.graph.SortedNodes() {
		if n.Kind != learner.NodeWorkload || n.Namespace != other.Namespace {
			continue
		}
		for _, p := range diffcheck.Peers(n, x.ports) {
			if maps.Equal(p.Labels, other.Labels) {
				break
			}
			if admits(p) {
				like = append(like, n.Namespace+"/"+n.Name+" "+labelString(p.Labels))
				break
			}
		}
	}
	if len(like) > 0 {
		return Difference{What: "pod labels", Rule: "pods like " + strings.Join(like, ", ") + " (" + el.Peer + ")", Flow: labelString(other.Labels)}
	}
	return d
}

func setOf(idx []int) map[int]bool {
	m := make(map[int]bool, len(idx))
	for _, i := range idx {
		m[i] = true
	}
	return m
}

func portString(t verifier.Traffic) string { return fmt.Sprintf("%s/%d", t.Protocol, t.Port) }

func peerString(p verifier.Peer) string {
	if p.IsPod {
		return p.Namespace + "/" + labelString(p.Labels)
	}
	s := p.IP.String()
	if p.Entity != "" {
		s = p.Entity + " " + s
	}
	return s
}

// labelString renders labels as a selector would: "{app=cart,tier=web}".
func labelString(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func namespaceLabels(m map[string]string, ns string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out[verifier.NamespaceNameLabel]; !ok {
		out[verifier.NamespaceNameLabel] = ns
	}
	return out
}

// EdgeFlows is one observed edge behind a rule element.
type EdgeFlows struct {
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	Protocol    string    `json:"protocol"`
	Port        uint16    `json:"port,omitempty"`
	Flows       uint64    `json:"flows"`
	FirstSeen   time.Time `json:"firstSeen"`
	LastSeen    time.Time `json:"lastSeen"`
	Nodes       []string  `json:"nodes,omitempty"`
	// DNSNames are the names observed for the address peer of the rule
	// (ipBlock, CIDR, nets, FQDN).
	DNSNames []string `json:"dnsNames,omitempty"`
}

// ElementFlows is a rule element and the observed flows it admits.
type ElementFlows struct {
	RuleRef
	Flows     uint64      `json:"flows"`
	FirstSeen *time.Time  `json:"firstSeen,omitempty"`
	LastSeen  *time.Time  `json:"lastSeen,omitempty"`
	Nodes     []string    `json:"nodes,omitempty"`
	Edges     []EdgeFlows `json:"edges"`
	// Stale: no observed flow uses the element.
	Stale bool `json:"stale"`
}

// RuleReport explains a policy's rules by their observed flows.
type RuleReport struct {
	Flavor string `json:"flavor"`
	// Staged: as FlowReport's.
	Staged      string         `json:"staged,omitempty"`
	Policy      string         `json:"policy"`
	File        string         `json:"file"`
	Direction   string         `json:"direction,omitempty"`
	Rule        int            `json:"rule"`
	WindowStart time.Time      `json:"windowStart"`
	WindowEnd   time.Time      `json:"windowEnd"`
	Elements    []ElementFlows `json:"elements"`
}

// staged is "promoted" when the tree holds Calico staged policies.
func (x *Explainer) staged() string {
	if x.tree.Promotion() == nil {
		return ""
	}
	return "promoted"
}

// Rule explains q's elements by the observed edges they admit.
func (x *Explainer) Rule(q RuleQuery) (*RuleReport, error) {
	file, ok := x.tree.Files[q.Policy]
	if !ok {
		return nil, fmt.Errorf("RULE: no policy %s in %s (%s)", escape.Terminal(q.Policy), escape.Terminal(x.tree.Dir), escape.Terminal(x.policyHint(q.Policy)))
	}
	rep := &RuleReport{Flavor: x.tree.Flavor, Staged: x.staged(), Policy: q.Policy, File: file, Direction: q.Direction, Rule: q.Rule,
		WindowStart: x.graph.First.UTC(), WindowEnd: x.graph.Last.UTC()}
	pos := map[int]int{} // element index → position in rep.Elements
	byGroup := map[string]int{}
	rules := map[string]int{}
	for i, el := range x.elems.List {
		if el.Policy != q.Policy {
			continue
		}
		rules[el.Direction] = max(rules[el.Direction], el.Rule+1)
		if q.Direction != "" && el.Direction != q.Direction || q.Rule >= 0 && el.Rule != q.Rule {
			continue
		}
		// the /0 halves of "any source" are one peer for people
		if p, ok := byGroup[x.elems.Group(i)]; ok {
			pos[i] = p
			rep.Elements[p].Peer += " + " + el.Peer
			continue
		}
		pos[i] = len(rep.Elements)
		byGroup[x.elems.Group(i)] = pos[i]
		rep.Elements = append(rep.Elements, ElementFlows{RuleRef: ruleOf(el), Edges: []EdgeFlows{}})
	}
	if len(rep.Elements) == 0 {
		switch {
		case rules["ingress"]+rules["egress"] == 0:
			return nil, fmt.Errorf("RULE: %s (%s) has no allow rule: it admits nothing (a default-deny, or deny rules only)", escape.Terminal(q.Policy), escape.Terminal(file))
		case q.Rule >= 0:
			return nil, fmt.Errorf("RULE: %s has no %s rule %d (it has %d %s allow rules, numbered from 0)", escape.Terminal(q.Policy), q.Direction, q.Rule, rules[q.Direction], q.Direction)
		default:
			return nil, fmt.Errorf("RULE: %s has no %s allow rule", escape.Terminal(q.Policy), q.Direction)
		}
	}
	seen := map[[2]int]bool{} // element position × edge
	for ei, e := range learner.SortedEdges(x.graph.Edges) {
		src, dst := x.graph.Nodes[e.Src], x.graph.Nodes[e.Dst]
		if src == nil || dst == nil {
			continue
		}
		proto, _ := record.ParseProtocol(e.Proto)
		t := verifier.Traffic{Protocol: corev1.Protocol(proto.String()), Port: int32(e.Port)}
		for _, sp := range diffcheck.Peers(src, x.ports) {
			t.Src = sp
			for _, dp := range diffcheck.Peers(dst, x.ports) {
				t.Dst = dp
				for _, i := range x.elems.Match(t, diffcheck.Exact) {
					p, ok := pos[i]
					if !ok || seen[[2]int{p, ei}] {
						continue
					}
					seen[[2]int{p, ei}] = true
					ef := &rep.Elements[p]
					peer := dst
					if ef.Direction == "ingress" {
						peer = src
					}
					edge := EdgeFlows{Source: synth.DescribeNode(src), Destination: synth.DescribeNode(dst), Protocol: e.Proto, Port: e.Port,
						Flows: e.Flows, FirstSeen: e.FirstSeen.UTC(), LastSeen: e.LastSeen.UTC(), Nodes: slices.Clone(e.NodesSeen)}
					if peer.Kind != learner.NodeWorkload {
						edge.DNSNames = slices.Clone(peer.Names)
					}
					ef.Edges = append(ef.Edges, edge)
				}
			}
		}
	}
	for i := range rep.Elements {
		ef := &rep.Elements[i]
		ef.Stale = len(ef.Edges) == 0
		var nodes []string
		for _, e := range ef.Edges {
			ef.Flows += e.Flows
			if ef.FirstSeen == nil || e.FirstSeen.Before(*ef.FirstSeen) {
				ef.FirstSeen = &e.FirstSeen
			}
			if ef.LastSeen == nil || e.LastSeen.After(*ef.LastSeen) {
				ef.LastSeen = &e.LastSeen
			}
			nodes = append(nodes, e.Nodes...)
		}
		slices.Sort(nodes)
		ef.Nodes = slices.Compact(nodes)
		slices.SortStableFunc(ef.Edges, func(a, b EdgeFlows) int {
			return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Destination, b.Destination), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
		})
	}
	return rep, nil
}

// policyHint lists the policies of the namespace asked for.
func (x *Explainer) policyHint(name string) string {
	ns, _, hasNS := strings.Cut(name, "/")
	var in []string
	for _, k := range slices.Sorted(maps.Keys(x.tree.Files)) {
		kns, _, kHasNS := strings.Cut(k, "/")
		if hasNS == kHasNS && (!hasNS || kns == ns) {
			in = append(in, k)
		}
	}
	if len(in) == 0 {
		return "no policy in that namespace"
	}
	if len(in) > 12 {
		in = append(in[:12], "…")
	}
	return "policies there: " + strings.Join(in, ", ")
}
