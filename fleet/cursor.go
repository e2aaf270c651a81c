package fleet

import (
	"encoding/json"
	"strings"

	"github.com/flowfence/flowfence/learner"
)

// The publisher's and the aggregator's positions are kept in the graph
// file they save, as the graph's opaque cursors (so that they are written
// in the same atomic rename as the graph they describe). A cursor is
// {"version":1,"positions":{KEY:{"seq":S,"part":P,"parts":N}}}, KEY the epoch
// (publisher) or cluster/epoch (aggregator); the cursors of one name that
// merged graphs bring together fold key by key, the later position
// winning.

// publishCursorName is the graph cursor of a publisher of cluster.
func publishCursorName(cluster string) string { return "nats-publish:" + cluster }

// aggregateCursorName is the graph cursor of an aggregator of stream.
func aggregateCursorName(stream string) string { return "nats:" + stream }

// Position is how far a lineage of deltas went: the last sequence and,
// within it, the last part, and how many parts that sequence has (0:
// not known, in a cursor written without it).
type Position struct {
	Seq   uint64
	Part  int
	Parts int
}

// Follows reports whether p is the part that comes right after q in its
// lineage: the next part of q's sequence, or the first part of the next
// sequence once q's is complete (sequences and parts count from 1). Where
// q does not know how many parts its sequence has, either is taken.
func (p Position) Follows(q Position) bool {
	nextPart := p.Seq == q.Seq && p.Part == q.Part+1
	nextSeq := p.Seq == q.Seq+1 && p.Part == 1
	switch {
	case q.Seq == 0:
		return p.Seq == 1 && p.Part == 1
	case q.Parts == 0:
		return nextPart || nextSeq
	case q.Part < q.Parts:
		return nextPart
	}
	return nextSeq
}

// After reports whether p comes after q.
func (p Position) After(q Position) bool {
	return p.Seq > q.Seq || (p.Seq == q.Seq && p.Part > q.Part)
}

// cursorVersion is the version of the fleet's cursor document.
const cursorVersion = 1

// cursorDoc is the fleet's cursor document.
type cursorDoc struct {
	Version   int                 `json:"version"`
	Positions map[string]position `json:"positions"`
}

type position struct {
	Seq   uint64 `json:"seq"`
	Part  int    `json:"part"`
	Parts int    `json:"parts,omitempty"`
}

// positions reads the cursors name of g, folded: key → the latest
// position. Cursors of another version or shape are not the fleet's and
// are passed over.
func positions(g *learner.Graph, name string) map[string]Position {
	out := map[string]Position{}
	if g == nil {
		return out
	}
	for _, raw := range g.Cursors[name] {
		var d cursorDoc
		if json.Unmarshal(raw, &d) != nil || d.Version != cursorVersion {
			continue
		}
		for k, p := range d.Positions {
			if q := (Position{Seq: p.Seq, Part: p.Part, Parts: p.Parts}); q.After(out[k]) {
				out[k] = q
			}
		}
	}
	return out
}

// setPositions writes ps, folded with what g holds, as the one cursor
// name of g.
func setPositions(g *learner.Graph, name string, ps map[string]Position) {
	all := positions(g, name)
	for k, p := range ps {
		if p.After(all[k]) {
			all[k] = p
		}
	}
	d := cursorDoc{Version: cursorVersion, Positions: make(map[string]position, len(all))}
	for k, p := range all {
		d.Positions[k] = position{Seq: p.Seq, Part: p.Part, Parts: p.Parts}
	}
	b, _ := json.Marshal(d) // strings and integers only: it cannot fail
	if g.Cursors != nil {
		delete(g.Cursors, name)
	}
	g.Cursors = g.Cursors.Add(name, b)
}

// lineageKey is the aggregator cursor's node of a cluster's epoch.
func lineageKey(cluster, epoch string) string { return cluster + "/" + epoch }

func splitLineage(k string) (cluster, epoch string) {
	cluster, epoch, _ = strings.Cut(k, "/")
	return
}
