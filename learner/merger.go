package learner

import (
	"math"
	"slices"
)

// Merger folds many graphs, one at a time, into one graph at the cost of
// what each brings: Graph.Merge judges the whole graph again on every merge
// (a denial is judged on the union of the evidence), which makes folding n
// small deltas into a large graph cost n times its size. A Merger keeps g
// judged (every edge where Judge(false) puts it, Stats.Learned and
// Stats.DeniedFlows their sums, every external node named by g.DNS) and
// judges again only what a merge touches: the edges it brings, the nodes it
// brings and the external nodes of the addresses whose DNS names it brings.
// An edge's judgement depends on its own evidence alone, so untouched edges
// keep theirs.
//
// The result is the graph Graph.Merge gives, byte for byte when written
// (TestMergerAgrees). The first merge is Graph.Merge itself (it leaves g
// judged), and so is a merge after a saturated counter. Between merges g
// must change only through the Merger.
type Merger struct {
	g     *Graph
	ready bool
	// external lists the external nodes per address (DNS names label
	// them by address).
	external map[string][]string
}

// NewMerger returns a Merger folding into g.
func NewMerger(g *Graph) *Merger { return &Merger{g: g} }

// Graph returns the graph the Merger folds into.
func (m *Merger) Graph() *Graph { return m.g }

// Merge folds o into the graph, as Graph.Merge does.
func (m *Merger) Merge(o *Graph) {
	g := m.g
	if !m.ready || g.Stats.Learned == math.MaxUint64 || g.Stats.DeniedFlows == math.MaxUint64 {
		g.Merge(o)
		m.index()
		return
	}
	// the counters lose what the touched edges counted (exact: part of an
	// unsaturated sum) and gain what they count once judged (saturating),
	// each apart so that a saturated gain is not undone by a later loss
	var lostLearned, lostDenied, gainLearned, gainDenied uint64
	var touched []*Node
	for id, n := range o.Nodes {
		cur, ok := g.Nodes[id]
		if ok {
			mergeNode(cur, n)
		} else {
			cur = n.Clone()
			g.Nodes[id] = cur
			if cur.Kind == NodeExternal {
				m.external[cur.IP] = append(m.external[cur.IP], id)
			}
		}
		if cur.Kind == NodeExternal {
			touched = append(touched, cur)
		}
	}
	// an edge's evidence is pooled in the order Graph.Merge pools it (the
	// graph's own, o's learned, o's denied), then judged once
	judge := func(k EdgeKey, learnedEdge, deniedEdge *Edge) {
		cur := g.Edges[k]
		if cur != nil {
			lostLearned += cur.Flows
			delete(g.Edges, k)
		} else if cur = g.Denied[k]; cur != nil {
			lostDenied += cur.Dropped
			delete(g.Denied, k)
		}
		for _, e := range []*Edge{learnedEdge, deniedEdge} {
			switch {
			case e == nil:
			case cur == nil:
				cur = e.Clone()
			default:
				mergeEdge(cur, e)
			}
		}
		if cur.denied() {
			g.Denied[k] = cur
			gainDenied = saturatingAdd(gainDenied, cur.Dropped)
			return
		}
		g.Edges[k] = cur
		gainLearned = saturatingAdd(gainLearned, cur.Flows)
	}
	for k, e := range o.Edges {
		judge(k, e, o.Denied[k])
	}
	for k, e := range o.Denied {
		if _, ok := o.Edges[k]; !ok {
			judge(k, nil, e)
		}
	}
	for ip, names := range o.DNS {
		g.DNS[ip] = unionCapped(g.DNS[ip], names, maxNames)
		for _, id := range m.external[ip] {
			touched = append(touched, g.Nodes[id])
		}
	}
	mergeUnaddressed(g.Unaddressed, o.Unaddressed, nil)
	g.First = minTime(g.First, o.First)
	g.Last = maxTime(g.Last, o.Last)
	learned := saturatingAdd(g.Stats.Learned-lostLearned, gainLearned)
	denied := saturatingAdd(g.Stats.DeniedFlows-lostDenied, gainDenied)
	g.Stats.add(o.Stats) // o's learned and denied counts are judged again
	g.Stats.Learned, g.Stats.DeniedFlows = learned, denied
	g.Cursors = g.Cursors.merge(o.Cursors)
	// inserting a name twice changes nothing: a node touched twice is
	// named once more
	for _, n := range touched {
		for _, name := range g.DNS[n.IP] {
			n.Names = insertSorted(n.Names, name, maxNames)
		}
	}
}

// index lists the external nodes by address, once g is judged.
func (m *Merger) index() {
	m.external = map[string][]string{}
	for id, n := range m.g.Nodes {
		if n.Kind == NodeExternal {
			m.external[n.IP] = append(m.external[n.IP], id)
		}
	}
	m.ready = true
}

// Clone returns a copy of e with slices of its own.
func (e *Edge) Clone() *Edge {
	c := *e
	c.NodesSeen = slices.Clone(e.NodesSeen)
	c.Sources = slices.Clone(e.Sources)
	c.FwdTuples = slices.Clone(e.FwdTuples)
	c.DropTuples = slices.Clone(e.DropTuples)
	c.DeniedBy = slices.Clone(e.DeniedBy)
	return &c
}
