package fleet

import (
	"strings"
	"time"

	"github.com/flowfence/flowfence/learner"
)

// The publisher's and the aggregator's positions are kept in the graph
// file they save, as learner cursors (so that they are written in the
// same atomic rename as the graph they describe, and merge like the rest
// of the graph: the later position wins). A position (sequence, part) is
// stored as the time Unix(sequence, part) of a cursor node: the node is
// the epoch (publisher) or cluster/epoch (aggregator).

// publishCursorName is the graph cursor of a publisher of cluster.
func publishCursorName(cluster string) string { return "nats-publish:" + cluster }

// aggregateCursorName is the graph cursor of an aggregator of stream.
func aggregateCursorName(stream string) string { return "nats:" + stream }

// Position is how far a lineage of deltas went: the last sequence and,
// within it, the last part.
type Position struct {
	Seq  uint64
	Part int
}

// After reports whether p comes after q.
func (p Position) After(q Position) bool {
	return p.Seq > q.Seq || (p.Seq == q.Seq && p.Part > q.Part)
}

func (p Position) time() time.Time { return time.Unix(int64(p.Seq), int64(p.Part)).UTC() }

func positionOf(t time.Time) Position {
	return Position{Seq: uint64(t.Unix()), Part: t.Nanosecond()}
}

// positions reads the cursor name of g: node → position.
func positions(g *learner.Graph, name string) map[string]Position {
	out := map[string]Position{}
	if g == nil || g.Cursors[name] == nil {
		return out
	}
	for node, nc := range g.Cursors[name].Nodes {
		out[node] = positionOf(nc.Time)
	}
	return out
}

// setPositions writes ps as the cursor name of g (merged with what g has).
func setPositions(g *learner.Graph, name string, ps map[string]Position) {
	c := learner.NewCursor()
	for node, p := range ps {
		c.Nodes[node] = &learner.NodeCursor{Time: p.time()}
	}
	if g.Cursors == nil {
		g.Cursors = map[string]*learner.Cursor{}
	}
	if cur := g.Cursors[name]; cur != nil {
		cur.Merge(c)
	} else {
		g.Cursors[name] = c
	}
}

// lineageKey is the aggregator cursor's node of a cluster's epoch.
func lineageKey(cluster, epoch string) string { return cluster + "/" + epoch }

func splitLineage(k string) (cluster, epoch string) {
	cluster, epoch, _ = strings.Cut(k, "/")
	return
}
