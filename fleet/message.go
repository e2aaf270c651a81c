package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/flowfence/flowfence/internal/jsondoc"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// MessageVersion is the version of the delta message this build writes
// and reads.
const MessageVersion = 1

// SubjectPrefix is the subjects' prefix: a cluster's deltas go to
// SubjectPrefix + cluster.
const SubjectPrefix = "flowfence.graph."

// Message is one part of one delta as it travels: versioned JSON whose
// graph is a flowfence graph (compact), read back with the checks every
// saved graph gets.
type Message struct {
	Version int    `json:"flowfenceDelta"`
	Cluster string `json:"cluster"`
	Epoch   string `json:"epoch"`
	Seq     uint64 `json:"seq"`
	Part    int    `json:"part"`
	Parts   int    `json:"parts"`
	// Graph is the part's graph (learner's graph JSON).
	Graph json.RawMessage `json:"graph"`
}

// MsgID is the Nats-Msg-Id of a part: cluster/epoch/sequence/part.
func (m *Message) MsgID() string {
	return fmt.Sprintf("%s/%s/%d/%d", m.Cluster, m.Epoch, m.Seq, m.Part)
}

// Subject is the subject a cluster's deltas are published to.
func Subject(cluster string) string { return SubjectPrefix + cluster }

// ValidCluster reports whether name can be a cluster name: a DNS-1123
// label (it is a subject token, a file name and a report heading).
func ValidCluster(name string) bool {
	return record.ValidNamespace(name)
}

// Encode cuts the delta d into parts of at most limit bytes each (the
// server's max payload) and returns the messages, numbered.
func Encode(cluster, epoch string, seq uint64, d *learner.Graph, limit int) ([][]byte, error) {
	graphs, err := split(d, limit-envelope(cluster, epoch))
	if err != nil {
		return nil, fmt.Errorf("delta %s/%s/%d: %w", cluster, epoch, seq, err)
	}
	out := make([][]byte, len(graphs))
	for i, g := range graphs {
		m := Message{Version: MessageVersion, Cluster: cluster, Epoch: epoch, Seq: seq, Part: i + 1, Parts: len(graphs), Graph: g}
		b, err := json.Marshal(&m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// envelope bounds the bytes a message adds around its graph.
func envelope(cluster, epoch string) int { return 160 + len(cluster) + len(epoch) }

// Decode reads one message: its envelope and its graph (validated as a
// saved graph is; at most limit bytes).
func Decode(data []byte) (*Message, *learner.Graph, error) {
	var m Message
	if err := jsondoc.DecodeStrict(data, &m, "delta"); err != nil {
		return nil, nil, fmt.Errorf("not a flowfence delta: %w", err)
	}
	if m.Version != MessageVersion {
		return nil, nil, fmt.Errorf("delta message version %d, this build reads version %d", m.Version, MessageVersion)
	}
	if !ValidCluster(m.Cluster) || m.Epoch == "" || m.Seq == 0 || m.Part < 1 || m.Part > m.Parts {
		return nil, nil, errors.New("delta message: invalid cluster, epoch, sequence or part")
	}
	g, err := learner.ReadGraph("delta "+m.MsgID(), bytes.NewReader(m.Graph))
	if err != nil {
		return nil, nil, err
	}
	return &m, g, nil
}

// encodeGraph writes g as compact graph JSON.
func encodeGraph(g *learner.Graph) ([]byte, error) {
	var buf, out bytes.Buffer
	if err := g.Write(&buf); err != nil {
		return nil, err
	}
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// split encodes g, halving it until every part fits in limit bytes. Each
// part is a graph of its own: an edge with both its nodes, an unaddressed
// entry with its workload; the stats, window and DNS go with the first.
func split(g *learner.Graph, limit int) ([][]byte, error) {
	b, err := encodeGraph(g)
	if err != nil {
		return nil, err
	}
	if len(b) <= limit {
		return [][]byte{b}, nil
	}
	a, z := halves(g)
	if a == nil {
		return nil, fmt.Errorf("one edge or node takes %d bytes, more than the %d the server's max payload leaves", len(b), limit)
	}
	pa, err := split(a, limit)
	if err != nil {
		return nil, err
	}
	pz, err := split(z, limit)
	if err != nil {
		return nil, err
	}
	return append(pa, pz...), nil
}

// halves cuts g in two (nil when it holds a single item).
func halves(g *learner.Graph) (*learner.Graph, *learner.Graph) {
	edges := learner.SortedEdges(pooled(g))
	unaddr := learner.SortedUnaddressed(g.Unaddressed)
	used := map[string]bool{}
	for _, e := range edges {
		used[e.Src], used[e.Dst] = true, true
	}
	for _, u := range unaddr {
		used[u.Workload] = true
	}
	var free []string
	for _, id := range slices.Sorted(maps.Keys(g.Nodes)) {
		if !used[id] {
			free = append(free, id)
		}
	}
	items := len(edges) + len(unaddr) + len(free)
	if items < 2 {
		return nil, nil
	}
	a, z := learner.NewGraph(), learner.NewGraph()
	a.First, a.Last, a.Stats, a.DNS = g.First, g.Last, g.Stats, g.DNS
	z.First, z.Last = g.First, g.Last
	half := items / 2
	i := 0
	into := func() *learner.Graph {
		i++
		if i <= half {
			return a
		}
		return z
	}
	for _, e := range edges {
		p := into()
		p.Edges[e.Key()] = e
		p.Nodes[e.Src], p.Nodes[e.Dst] = g.Nodes[e.Src], g.Nodes[e.Dst]
	}
	for _, u := range unaddr {
		p := into()
		p.Unaddressed[u.Key()] = u
		p.Nodes[u.Workload] = g.Nodes[u.Workload]
	}
	for _, id := range free {
		into().Nodes[id] = g.Nodes[id]
	}
	return a, z
}
