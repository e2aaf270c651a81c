package learner

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestGraphCursors: the cursors a graph carries are opaque to the learner:
// they survive Write/ReadGraph as written, merging keeps each distinct
// cursor of a source once (in any order or grouping), a set of several is
// written as an array and read back, and a cursor without a positive
// version is refused naming the file and the source.
func TestGraphCursors(t *testing.T) {
	const src = "hubble://localhost:4245"
	a, b, c := json.RawMessage(`{"version": 1, "at": 5}`), json.RawMessage(`{"version":1,"at":6}`), json.RawMessage(`{"version":2,"x":[1]}`)
	graph := func(cs ...json.RawMessage) *Graph {
		g := NewGraph()
		for _, x := range cs {
			g.Cursors = g.Cursors.Add(src, x)
		}
		return g
	}
	write := func(g *Graph) string {
		var buf bytes.Buffer
		if err := g.Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	roundTrip := func(g *Graph) *Graph {
		back, err := ReadGraph("g.json", strings.NewReader(write(g)))
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	if got := graph(a).Cursors[src]; len(got) != 1 || string(got[0]) != `{"version":1,"at":5}` {
		t.Errorf("one cursor kept as %s", got)
	}
	if out := write(graph(a)); !strings.Contains(out, "\"cursors\": {\n    \"hubble://localhost:4245\": {\n      \"version\": 1,") {
		t.Errorf("one cursor is not written as itself:\n%s", out)
	}
	merge := func(gs ...*Graph) *Graph {
		out := NewGraph()
		for _, g := range gs {
			out.Merge(g)
		}
		return out
	}
	orders := []*Graph{merge(graph(a), graph(b), graph(c)), merge(graph(c), graph(b, a)), merge(merge(graph(b), graph(a)), graph(c, a)), graph(c, a, b, a)}
	for i, g := range orders {
		if !reflect.DeepEqual(g.Cursors, orders[0].Cursors) {
			t.Errorf("order %d: %s, want %s", i, g.Cursors[src], orders[0].Cursors[src])
		}
	}
	if n := len(orders[0].Cursors[src]); n != 3 {
		t.Errorf("%d distinct cursors kept, want 3", n)
	}
	if back := roundTrip(orders[0]); !reflect.DeepEqual(back.Cursors, orders[0].Cursors) {
		t.Errorf("several cursors after a round trip: %s, want %s", back.Cursors[src], orders[0].Cursors[src])
	}
	if strings.Contains(write(NewGraph()), "cursors") {
		t.Error("a graph without live sources writes a cursors key")
	}
	for _, bad := range []string{`{"version": 0}`, `{"nodes": {}}`, `[]`, `"x"`, `[{"version": 1}, 3]`} {
		doc := strings.Replace(write(graph(a)), `{
      "version": 1,
      "at": 5
    }`, bad, 1)
		if _, err := ReadGraph("g.json", strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), "g.json") || !strings.Contains(err.Error(), src) && !strings.Contains(err.Error(), "not a flowfence graph") {
			t.Errorf("cursor %s: %v", bad, err)
		}
	}
}
