package fleet

import (
	"cmp"
	"maps"
	"reflect"
	"slices"

	"github.com/flowfence/flowfence/learner"
)

// Delta returns what cur holds beyond prev, as a graph d such that
// prev.Merge(d) equals cur (cursors aside: a delta carries none), when cur
// grew from prev by merging and learning (counters only grow, sets only
// gain, times only widen). A nil prev is the empty graph. Neither argument
// changes; d shares no memory with them.
func Delta(prev, cur *learner.Graph) *learner.Graph {
	if prev == nil {
		prev = learner.NewGraph()
	}
	d := learner.NewGraph()
	d.First, d.Last = cur.First, cur.Last
	d.Stats = statsDiff(prev.Stats, cur.Stats)
	for ip, names := range cur.DNS {
		if add := setDiff(names, prev.DNS[ip]); len(add) > 0 {
			d.DNS[ip] = add
		}
	}
	need := map[string]bool{}
	prevEdge := func(k learner.EdgeKey) *learner.Edge {
		if e := prev.Edges[k]; e != nil {
			return e
		}
		return prev.Denied[k]
	}
	for _, edges := range []map[learner.EdgeKey]*learner.Edge{cur.Edges, cur.Denied} {
		for k, e := range edges {
			p := prevEdge(k)
			if p != nil && sameEdge(p, e) {
				continue
			}
			de, _ := edgeDiff(p, e)
			d.Edges[k] = de
			need[e.Src], need[e.Dst] = true, true
		}
	}
	for k, u := range cur.Unaddressed {
		if du, changed := unaddressedDiff(prev.Unaddressed[k], u); changed {
			d.Unaddressed[k] = du
			need[u.Workload] = true
		}
	}
	for id, n := range cur.Nodes {
		if need[id] || !reflect.DeepEqual(prev.Nodes[id], n) {
			d.Nodes[id] = n.Clone()
		}
	}
	return d
}

// pooled returns the learned and the denied edges together: Merge pools
// them and judges again, so a delta need not say which side an edge is on.
func pooled(g *learner.Graph) map[learner.EdgeKey]*learner.Edge {
	out := make(map[learner.EdgeKey]*learner.Edge, len(g.Edges)+len(g.Denied))
	maps.Copy(out, g.Edges)
	maps.Copy(out, g.Denied)
	return out
}

// sameEdge reports whether c holds nothing beyond p (the cheap test that
// spares most edges of a checkpoint the diff).
func sameEdge(p, c *learner.Edge) bool {
	return p.Flows == c.Flows && p.Audit == c.Audit && p.Dropped == c.Dropped && p.FirstSeen.Equal(c.FirstSeen) && p.LastSeen.Equal(c.LastSeen) &&
		p.Answered == c.Answered && p.FwdOverflow == c.FwdOverflow && slices.Equal(p.NodesSeen, c.NodesSeen) && slices.Equal(p.Sources, c.Sources) &&
		slices.Equal(p.FwdTuples, c.FwdTuples) && slices.Equal(p.DropTuples, c.DropTuples) && slices.Equal(p.DeniedBy, c.DeniedBy)
}

// edgeDiff returns the edge that, merged into p (nil: absent), gives c.
func edgeDiff(p, c *learner.Edge) (*learner.Edge, bool) {
	d := c.Clone()
	if p == nil {
		return d, true
	}
	d.Flows, d.Audit, d.Dropped = c.Flows-p.Flows, c.Audit-p.Audit, c.Dropped-p.Dropped
	d.NodesSeen = setDiff(c.NodesSeen, p.NodesSeen)
	d.Sources = setDiff(c.Sources, p.Sources)
	d.FwdTuples = setDiff(c.FwdTuples, p.FwdTuples)
	d.DropTuples = setDiff(c.DropTuples, p.DropTuples)
	d.DeniedBy = nil
	for _, cd := range c.DeniedBy {
		i := slices.IndexFunc(p.DeniedBy, func(x learner.Denial) bool { return x.Policy == cd.Policy })
		switch {
		case i < 0:
			d.DeniedBy = append(d.DeniedBy, cd)
		case cd.Flows > p.DeniedBy[i].Flows:
			d.DeniedBy = append(d.DeniedBy, learner.Denial{Policy: cd.Policy, Flows: cd.Flows - p.DeniedBy[i].Flows})
		}
	}
	changed := d.Flows != 0 || d.Audit != 0 || d.Dropped != 0 || len(d.NodesSeen)+len(d.Sources)+len(d.FwdTuples)+len(d.DropTuples)+len(d.DeniedBy) > 0 ||
		!d.FirstSeen.Equal(p.FirstSeen) || !d.LastSeen.Equal(p.LastSeen) ||
		d.Answered != p.Answered || d.FwdOverflow != p.FwdOverflow
	return d, changed
}

func unaddressedDiff(p, c *learner.Unaddressed) (*learner.Unaddressed, bool) {
	d := *c
	d.Names = slices.Clone(c.Names)
	if p == nil {
		return &d, true
	}
	d.Flows, d.Dropped = c.Flows-p.Flows, c.Dropped-p.Dropped
	d.Names = setDiff(c.Names, p.Names)
	changed := d.Flows != 0 || d.Dropped != 0 || len(d.Names) > 0 || !d.FirstSeen.Equal(p.FirstSeen) || !d.LastSeen.Equal(p.LastSeen)
	return &d, changed
}

// statsDiff subtracts the counters (Learned and DeniedFlows too: Merge
// judges again and recounts them).
func statsDiff(p, c learner.Stats) learner.Stats {
	d := learner.Stats{
		Records: c.Records - p.Records, Requests: c.Requests - p.Requests, Replies: c.Replies - p.Replies,
		Learned: c.Learned - min(p.Learned, c.Learned), Duplicates: c.Duplicates - p.Duplicates,
		DeniedFlows: c.DeniedFlows - min(p.DeniedFlows, c.DeniedFlows), DNSResponses: c.DNSResponses - p.DNSResponses,
	}
	for k, v := range c.Skipped {
		if n := v - p.Skipped[k]; n > 0 {
			if d.Skipped == nil {
				d.Skipped = map[string]uint64{}
			}
			d.Skipped[k] = n
		}
	}
	return d
}

// setDiff returns the members of the sorted set c that p lacks (sorted):
// the names and the tuples of a delta alike.
func setDiff[T cmp.Ordered](c, p []T) []T {
	var out []T
	for _, s := range c {
		if _, ok := slices.BinarySearch(p, s); !ok {
			out = append(out, s)
		}
	}
	return out
}
