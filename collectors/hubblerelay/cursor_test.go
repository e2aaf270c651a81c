package hubblerelay

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

func cursorRec(node string, sec int, uuid string, port uint16) *record.Record {
	return &record.Record{Node: node, Time: time.Unix(int64(sec), 0).UTC(), UUID: uuid,
		Src: record.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 40000}, Dst: record.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: port}}
}

// TestReplay: after a reconnect or a resume, a node's flows up to its
// cursor are dropped — at the boundary time, exactly as many as were
// counted — and the first later flow ends the replay for that node.
func TestReplay(t *testing.T) {
	c := NewCursor()
	for _, r := range []*record.Record{
		cursorRec("a", 10, "u1", 80), cursorRec("a", 11, "u2", 80), cursorRec("a", 11, "u3", 80),
		cursorRec("b", 11, "", 53), cursorRec("b", 11, "", 53), // two identical flows without uuid
	} {
		c.Advance(r)
	}
	tests := []struct {
		name string
		in   []*record.Record
		want []bool // Seen
	}{
		{"resent flows dropped, new ones kept",
			[]*record.Record{cursorRec("a", 10, "u1", 80), cursorRec("a", 11, "u2", 80), cursorRec("a", 11, "u3", 80), cursorRec("a", 11, "u4", 80), cursorRec("a", 12, "u5", 80)},
			[]bool{true, true, true, false, false}},
		{"identical flows counted by multiplicity",
			[]*record.Record{cursorRec("b", 11, "", 53), cursorRec("b", 11, "", 53), cursorRec("b", 11, "", 53)},
			[]bool{true, true, false}},
		{"a node without cursor is new",
			[]*record.Record{cursorRec("c", 1, "x", 80)},
			[]bool{false}},
		{"after a newer flow the node is live again",
			[]*record.Record{cursorRec("a", 12, "u5", 80), cursorRec("a", 10, "late", 80)},
			[]bool{false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := NewReplay(c)
			var got []bool
			for _, r := range tc.in {
				got = append(got, rp.Seen(r))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Seen = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCursorSince(t *testing.T) {
	c := NewCursor()
	c.Advance(cursorRec("a", 1000, "1", 80))
	c.Advance(cursorRec("b", 990, "2", 80))
	c.Advance(cursorRec("silent", 100, "3", 80)) // silent for 15 min: not waited for
	if got, want := c.Since(), time.Unix(990, 0).UTC(); !got.Equal(want) {
		t.Errorf("Since = %v, want %v (the oldest node within the reorder window)", got, want)
	}
	if !NewCursor().Since().IsZero() {
		t.Error("an empty cursor has a since")
	}
}

// TestCursorMerge: cursors merge like graphs — in any order, any grouping.
func TestCursorMerge(t *testing.T) {
	mk := func(recs ...*record.Record) *Cursor {
		c := NewCursor()
		for _, r := range recs {
			c.Advance(r)
		}
		return c
	}
	a := mk(cursorRec("n", 5, "x", 80), cursorRec("m", 7, "p", 80))
	b := mk(cursorRec("n", 5, "y", 80))
	d := mk(cursorRec("n", 6, "z", 80), cursorRec("o", 1, "q", 80))
	merge := func(cs ...*Cursor) *Cursor {
		out := NewCursor()
		for _, c := range cs {
			out.Merge(c)
		}
		out.normalize()
		return out
	}
	ab := merge(a, b)
	if got := ab.Nodes["n"].Keys; !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("tie keys %v, want the union", got)
	}
	orders := []*Cursor{merge(a, b, d), merge(d, b, a), merge(merge(a, b), d), merge(a, merge(d, b))}
	for i, o := range orders[1:] {
		if !reflect.DeepEqual(o, orders[0]) {
			t.Errorf("order %d: %+v, want %+v", i+1, o, orders[0])
		}
	}
	if n := orders[0].Nodes["n"]; !n.Time.Equal(time.Unix(6, 0)) || !reflect.DeepEqual(n.Keys, []string{"z"}) {
		t.Errorf("later time must win: %+v", n)
	}
}

// TestCursorOfEarlierGraphs: a graph file written before cursors became
// the relay's own (testdata/graph-cursor-v1.json, written by that build)
// still resumes: its cursor reads back as it was, replays the flows it
// counted (uuid or hashed record keys) and is written again unchanged.
func TestCursorOfEarlierGraphs(t *testing.T) {
	const path, relay = "testdata/graph-cursor-v1.json", "hubble://relay.example:4245"
	g, err := learner.ReadGraphFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCursor(relay, g.Cursors[relay])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Last(), time.Unix(5, 0).UTC(); !got.Equal(want) {
		t.Errorf("Last = %v, want %v", got, want)
	}
	rp := NewReplay(c)
	for _, r := range []*record.Record{cursorRec("node-a", 5, "u1", 80), cursorRec("node-a", 5, "u2", 80), cursorRec("node-b", 3, "", 53)} {
		if !rp.Seen(r) {
			t.Errorf("%s %s: a flow the earlier run counted is not dropped", r.Node, RecordKey(r))
		}
	}
	if rp.Seen(cursorRec("node-a", 6, "u3", 80)) {
		t.Error("a later flow is dropped")
	}
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(path); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("written again:\n%s\nwant the file unchanged:\n%s", buf.Bytes(), want)
	}
}

// TestMergeCursors: the relay's merge rule folds a graph's cursors of one
// relay into one (written and read back), and refuses a version it does not read, naming the relay.
func TestMergeCursors(t *testing.T) {
	a, b := NewCursor(), NewCursor()
	a.Advance(cursorRec("n", 5, "x", 80))
	b.Advance(cursorRec("n", 6, "y", 80))
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	folded, err := DecodeCursor("hubble://r:1", []json.RawMessage{ja, jb})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := folded.MarshalJSON()
	c, err := DecodeCursor("hubble://r:1", []json.RawMessage{m})
	if err != nil || !c.Last().Equal(time.Unix(6, 0)) || !reflect.DeepEqual(c.Nodes["n"].Keys, []string{"y"}) {
		t.Errorf("merged %s (%v): want node n at 6 s with key y", m, err)
	}
	if _, err := DecodeCursor("hubble://r:1", []json.RawMessage{json.RawMessage(`{"version":9,"nodes":{}}`)}); err == nil || !strings.Contains(err.Error(), "hubble://r:1") || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("unknown version: %v", err)
	}
}
