package pipeline

import (
	"maps"
	"slices"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// FleetOnly returns, for each cluster of a fleet (sorted by name), the
// learned edges of the fleet's graph g that this cluster alone observed:
// an edge is compared as synth sees it (one workload name in one
// namespace is one workload whatever cluster ran it), and observed by a
// cluster when its graph holds it, learned or denied. The rows carry that
// cluster's evidence. A tree merged from several clusters admits every
// edge any of them observed; these are the edges to review first.
func FleetOnly(g *learner.Graph, clusters map[string]*learner.Graph) []policy.ClusterOnly {
	if len(clusters) == 0 {
		return nil
	}
	if !synth.IsCanonical(g) {
		g = synth.Canonical(g)
	}
	names := slices.Sorted(maps.Keys(clusters))
	canon := make([]*learner.Graph, len(names))
	seen := map[learner.EdgeKey]int{}
	for i, c := range names {
		cg := clusters[c]
		if !synth.IsCanonical(cg) {
			cg = synth.Canonical(cg)
		}
		canon[i] = cg
		for _, m := range []map[learner.EdgeKey]*learner.Edge{cg.Edges, cg.Denied} {
			for k := range m {
				seen[k]++
			}
		}
	}
	out := make([]policy.ClusterOnly, len(names))
	for i, c := range names {
		out[i].Cluster = c
		cg := canon[i]
		for _, e := range learner.SortedEdges(cg.Edges) {
			k := e.Key()
			if seen[k] != 1 || g.Edges[k] == nil {
				continue
			}
			src, srcNS := peerName(cg.Nodes[e.Src], e.Src)
			dst, dstNS := peerName(cg.Nodes[e.Dst], e.Dst)
			out[i].Edges = append(out[i].Edges, policy.OnlyEdge{Src: src, Dst: dst, SrcNamespace: srcNS, DstNamespace: dstNS,
				Proto: e.Proto, Port: e.Port, Flows: e.Flows, FirstSeen: e.FirstSeen, LastSeen: e.LastSeen})
		}
	}
	return out
}

// peerName names a node for the reports (and its namespace, for a workload).
func peerName(n *learner.Node, id string) (name, namespace string) {
	switch {
	case n == nil:
		return id, ""
	case n.Kind == learner.NodeWorkload:
		return n.Namespace + "/" + n.Name, n.Namespace
	case n.Kind == learner.NodeExternal:
		return n.IP, ""
	case n.IP != "":
		return n.Entity + " " + n.IP, ""
	}
	return n.Entity, ""
}
