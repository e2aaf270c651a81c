package learner

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestGraphCursorsRoundTrip: cursors survive Write/ReadGraph and Merge; a
// graph without cursors reads as before, and a cursor of an unknown
// version is refused with a message naming the file and the source.
func TestGraphCursorsRoundTrip(t *testing.T) {
	g := NewGraph()
	c := NewCursor()
	c.Advance(cursorRec("node-a", 5, "u", 80))
	g.Cursors = map[string]*Cursor{"hubble://localhost:4245": c}
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGraph("g.json", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Cursors, g.Cursors) {
		t.Errorf("cursors after a round trip: %+v, want %+v", back.Cursors, g.Cursors)
	}
	m := NewGraph()
	m.Merge(back)
	if m.Cursors["hubble://localhost:4245"].Last() != c.Last() {
		t.Error("Merge lost the cursor")
	}
	var plain bytes.Buffer
	if err := NewGraph().Write(&plain); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "cursors") {
		t.Error("a graph without live sources writes a cursors key")
	}
	bad := strings.Replace(buf.String(), `"version": 1`, `"version": 9`, 1)
	if _, err := ReadGraph("g.json", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "g.json") || !strings.Contains(err.Error(), "hubble://localhost:4245") {
		t.Errorf("unknown cursor version: %v", err)
	}
}
