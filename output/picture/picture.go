package picture

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/synth"
)

// Formats of `flowfence graph -o`.
const (
	FormatMermaid = "mermaid"
	FormatDOT     = "dot"
	FormatHTML    = "html"
)

// Formats lists the formats, the default first.
func Formats() []string { return []string{FormatMermaid, FormatDOT, FormatHTML} }

// Edge states: how an edge is drawn.
const (
	// StateLearned: observed and learned (what the policies admit).
	StateLearned = "learned"
	// StateDenied: a denied attempt (an existing policy dropped it and
	// nobody answered): never learned, drawn apart.
	StateDenied = "denied"
	// StateNew: learned, and absent from the baseline graph.
	StateNew = "new"
)

// Node kinds as drawn.
const (
	KindWorkload = "workload"
	KindExternal = "external"
	KindEntity   = "entity"
)

// Options choose what a picture shows.
type Options struct {
	// Namespaces, when not empty, keeps the edges with an end in one of
	// them (and their workloads, even those without edges).
	Namespaces []string
	// Baseline, when not nil, marks the learned edges it does not hold as
	// new (the comparison of `flowfence diff --baseline`).
	Baseline *learner.Graph
	// Title heads the HTML page and the comment of the text formats.
	Title string
}

// Picture is the drawn graph: every id in it (g1, n1, e1, …) is generated
// here, in a sorted order, never taken from input; names from input are
// only in Label, Name and Detail, which each formatter escapes for its
// place.
type Picture struct {
	Title  string  `json:"title"`
	Groups []Group `json:"groups"`
	Nodes  []Node  `json:"nodes"`
	Edges  []Edge  `json:"edges"`
}

// Group is a namespace.
type Group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Node is a workload, an external address or a reserved entity.
type Node struct {
	ID string `json:"id"`
	// Group is the namespace group's id ("" outside every namespace).
	Group  string `json:"group,omitempty"`
	Kind   string `json:"kind"`
	Label  string `json:"label"`
	Detail string `json:"detail"`
}

// Edge is every port observed from one node to another in one state.
type Edge struct {
	ID    string   `json:"id"`
	Src   string   `json:"src"`
	Dst   string   `json:"dst"`
	State string   `json:"state"`
	Ports []string `json:"ports"`
	// Flows counts the request flows (for a denied edge, its drops).
	Flows uint64 `json:"flows"`
}

// Label is the edge's label: its ports ("TCP/8080, UDP/53"), and the state
// when it is not learned, so that the picture says it without colours.
func (e Edge) Label() string {
	l := strings.Join(e.Ports, ", ")
	if e.State != StateLearned {
		l += " (" + e.State + ")"
	}
	return l
}

// Counts are the totals a picture's heading states.
type Counts struct {
	Nodes, Edges, Denied, New int
}

// Counts counts the picture's nodes and edges by state.
func (p *Picture) Counts() Counts {
	c := Counts{Nodes: len(p.Nodes), Edges: len(p.Edges)}
	for _, e := range p.Edges {
		switch e.State {
		case StateDenied:
			c.Denied++
		case StateNew:
			c.New++
		}
	}
	return c
}

// Summary is the one-line heading of a picture.
func (p *Picture) Summary() string {
	c := p.Counts()
	return fmt.Sprintf("%d nodes, %d edges (%d denied, %d new)", c.Nodes, c.Edges, c.Denied, c.New)
}

// Build draws g: one node per graph node kept, namespaces as groups, one
// edge per (source, destination, state) with its ports. Workload nodes are
// the canonical ones synth and diff use (one per namespace/name), so that
// the baseline comparison is the one `diff --baseline` makes.
func Build(g *learner.Graph, o Options) (*Picture, error) {
	if !synth.IsCanonical(g) {
		g = synth.Canonical(g)
	}
	var baseline *learner.Graph
	if o.Baseline != nil {
		baseline = o.Baseline
		if !synth.IsCanonical(baseline) {
			baseline = synth.Canonical(baseline)
		}
	}
	inScope := func(n *learner.Node) bool {
		return n != nil && n.Kind == learner.NodeWorkload && slices.Contains(o.Namespaces, n.Namespace)
	}
	type edgeKey struct{ src, dst, state string }
	type edgeAcc struct {
		ports []portKey
		flows uint64
	}
	edges := map[edgeKey]*edgeAcc{}
	keep := map[string]bool{}
	add := func(e *learner.Edge, state string, flows uint64) {
		src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
		if src == nil || dst == nil {
			return // a saved graph is checked on read; an edge to nowhere is not drawn
		}
		if len(o.Namespaces) > 0 && !inScope(src) && !inScope(dst) {
			return
		}
		keep[e.Src], keep[e.Dst] = true, true
		k := edgeKey{e.Src, e.Dst, state}
		a := edges[k]
		if a == nil {
			a = &edgeAcc{}
			edges[k] = a
		}
		a.ports = append(a.ports, portKey{proto: e.Proto, port: e.Port})
		a.flows += flows
	}
	for _, e := range learner.SortedEdges(g.Edges) {
		state := StateLearned
		if baseline != nil {
			if _, ok := baseline.Edges[e.Key()]; !ok {
				state = StateNew
			}
		}
		add(e, state, e.Flows)
	}
	for _, e := range learner.SortedEdges(g.Denied) {
		add(e, StateDenied, e.Dropped)
	}
	if len(o.Namespaces) > 0 {
		found := false
		for id, n := range g.Nodes {
			if inScope(n) {
				keep[id], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("no workload of the graph is in namespace %s", strings.Join(o.Namespaces, ", "))
		}
	} else {
		for id := range g.Nodes {
			keep[id] = true
		}
	}

	// nodes sorted by namespace (outside ones last), label, graph id
	var nodes []*learner.Node
	for id := range keep {
		nodes = append(nodes, g.Nodes[id])
	}
	slices.SortFunc(nodes, func(a, b *learner.Node) int {
		return cmp.Or(cmp.Compare(groupOrder(a), groupOrder(b)), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(label(a), label(b)), strings.Compare(a.ID, b.ID))
	})
	p := &Picture{Title: o.Title, Groups: []Group{}, Nodes: make([]Node, 0, len(nodes)), Edges: make([]Edge, 0, len(edges))}
	groups := map[string]string{}
	ids := map[string]string{}
	for i, n := range nodes {
		id := "n" + strconv.Itoa(i+1)
		ids[n.ID] = id
		pn := Node{ID: id, Kind: kind(n), Label: label(n), Detail: detail(n)}
		if n.Kind == learner.NodeWorkload {
			gid, ok := groups[n.Namespace]
			if !ok {
				gid = "g" + strconv.Itoa(len(groups)+1)
				groups[n.Namespace] = gid
				p.Groups = append(p.Groups, Group{ID: gid, Name: n.Namespace})
			}
			pn.Group = gid
		}
		p.Nodes = append(p.Nodes, pn)
	}
	order := make([]edgeKey, 0, len(edges))
	for k := range edges {
		order = append(order, k)
	}
	index := func(id string) int { n, _ := strconv.Atoi(ids[id][1:]); return n }
	slices.SortFunc(order, func(a, b edgeKey) int {
		return cmp.Or(cmp.Compare(index(a.src), index(b.src)), cmp.Compare(index(a.dst), index(b.dst)), strings.Compare(a.state, b.state))
	})
	for i, k := range order {
		a := edges[k]
		slices.SortFunc(a.ports, portKey.compare)
		ports := make([]string, len(a.ports))
		for j, pk := range a.ports {
			ports[j] = pk.String()
		}
		p.Edges = append(p.Edges, Edge{ID: "e" + strconv.Itoa(i+1), Src: ids[k.src], Dst: ids[k.dst], State: k.state, Ports: ports, Flows: a.flows})
	}
	return p, nil
}

// portKey is one protocol and port of an edge.
type portKey struct {
	proto string
	port  uint16
}

func (k portKey) compare(o portKey) int {
	return cmp.Or(strings.Compare(k.proto, o.proto), cmp.Compare(k.port, o.port))
}

// String is "TCP/8080", or the protocol alone for a port-less one (ICMP).
func (k portKey) String() string {
	if k.port == 0 {
		return k.proto
	}
	return k.proto + "/" + strconv.Itoa(int(k.port))
}

// groupOrder puts workloads (in namespace groups) before the peers outside.
func groupOrder(n *learner.Node) int {
	switch n.Kind {
	case learner.NodeWorkload:
		return 0
	case learner.NodeEntity:
		return 1
	}
	return 2
}

func kind(n *learner.Node) string {
	switch n.Kind {
	case learner.NodeWorkload:
		return KindWorkload
	case learner.NodeExternal:
		return KindExternal
	}
	return KindEntity
}

// label is what the node shows: a workload's name (its group shows the
// namespace), else how reports name the peer (synth.DescribeNode).
func label(n *learner.Node) string {
	if n.Kind == learner.NodeWorkload {
		return n.Name
	}
	return synth.DescribeNode(n)
}

// detail is the node's longer description (tooltip, details panel).
func detail(n *learner.Node) string {
	d := synth.DescribeNode(n)
	if n.Kind == learner.NodeWorkload && n.WorkloadKind != "" {
		d = n.WorkloadKind + " " + d
	}
	if n.Unmanaged {
		d += " (some pods not managed by the CNI)"
	}
	return d
}
