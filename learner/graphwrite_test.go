package learner

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestEdgeWriterIsEncodingJSON: the hand-written edge writer gives, byte
// for byte, what encoding/json's indenting encoder gives for the whole
// graph document — on edges with every optional field present or absent,
// strings that need escaping (quotes, HTML characters, control bytes,
// non-ASCII, invalid UTF-8), zero and zoned times; and on graphs with no
// edges, or with edges as the last field.
func TestEdgeWriterIsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	strs := []string{"pod:shop/cart", "ip:10.0.0.1", `a"b`, `back\slash`, "<script>&", "tab\there", "ünïcode", "bad\xffutf8", "line\u2028sep", "", "entity:world"}
	str := func() string { return strs[r.IntN(len(strs))] }
	zones := []*time.Location{time.UTC, time.FixedZone("x", 3600), time.FixedZone("y", -5*3600-1800)}
	tm := func() time.Time {
		if r.IntN(6) == 0 {
			return time.Time{}
		}
		return time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])
	}
	list := func() []string {
		var l []string
		for range r.IntN(4) {
			l = append(l, str())
		}
		return l
	}
	uints := func() []uint64 {
		var l []uint64
		for range r.IntN(4) {
			l = append(l, r.Uint64()>>uint(r.IntN(64)))
		}
		return l
	}
	for round := range 300 {
		g := NewGraph()
		g.First, g.Last = tm(), tm()
		for range r.IntN(5) {
			e := &Edge{Src: str(), Dst: str(), Proto: []string{"TCP", "UDP", "ICMPv4"}[r.IntN(3)], Port: uint16(r.IntN(3) * r.IntN(65536)),
				Flows: r.Uint64() >> uint(r.IntN(64)), FirstSeen: tm(), LastSeen: tm(), NodesSeen: list(), Sources: list(),
				Answered: r.IntN(2) == 0, FwdTuples: uints(), FwdOverflow: r.IntN(2) == 0, DropTuples: uints()}
			if r.IntN(2) == 0 {
				e.Audit, e.Dropped = uint64(r.IntN(5)), uint64(r.IntN(5))
				for i := range r.IntN(3) {
					e.DeniedBy = append(e.DeniedBy, Denial{Policy: str() + string(rune('a'+i)), Flows: r.Uint64() >> uint(r.IntN(64))})
				}
			}
			g.Edges[EdgeKey{Src: e.Src + string(rune('a'+r.IntN(26))), Dst: e.Dst, Port: e.Port}] = e
		}
		if r.IntN(2) == 0 {
			g.DNS["10.0.0.1"] = []string{"a.example.com"}
		}
		var got bytes.Buffer
		if err := g.Write(&got); err != nil {
			t.Fatal(err)
		}
		gj := graphJSON{Version: GraphVersion, First: g.First.UTC(), Last: g.Last.UTC(), Stats: g.Stats,
			Nodes: g.SortedNodes(), Edges: SortedEdges(g.Edges), Denied: SortedEdges(g.Denied), DNS: g.DNS}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&gj); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("round %d: the edge writer differs from encoding/json:\n got %s\nwant %s", round, got.Bytes(), want.Bytes())
		}
	}
	// a time encoding/json refuses is refused
	g := NewGraph()
	g.Edges[EdgeKey{Src: "a", Dst: "b"}] = &Edge{Src: "a", Dst: "b", Proto: "TCP", FirstSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := g.Write(&bytes.Buffer{}); err == nil {
		t.Error("a year-10000 time was written")
	}
}
