package fleet_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/fleet/fleettest"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// records reads the Hubble flows of the files matching glob.
func records(t *testing.T, glob string) []*record.Record {
	t.Helper()
	paths, err := filepath.Glob(glob)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no flows at %s", glob)
	}
	var out []*record.Record
	for _, p := range paths {
		f, err := input.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		var st collectors.Stats
		err = hubble.NewFileSource(f, collectors.Options{}).Run(context.Background(), &st, func(r *record.Record) error {
			c := *r
			out = append(out, &c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkpoints learns recs and returns the graph at each cut (as the live
// path takes its checkpoints: Graph() of one running learner, judged).
func checkpoints(recs []*record.Record, cuts int) []*learner.Graph {
	l := learner.New(learner.Options{})
	var out []*learner.Graph
	for i, r := range recs {
		l.Add(r)
		if (i+1)%max(1, len(recs)/cuts) == 0 || i == len(recs)-1 {
			g := l.Graph()
			g.Judge(false)
			out = append(out, g)
		}
	}
	return out
}

// TestDeltaMerge: prev.Merge(Delta(prev, cur)) == cur at every checkpoint
// of real flows, also after the delta went through its messages (split
// into parts of a small max payload and read back), and the deltas of a
// whole run merged in any order give the last graph.
func TestDeltaMerge(t *testing.T) {
	sets := map[string]string{"sample": "../testdata/flows/*"}
	if dir, ok := testsupport.FindCaptures("hubble"); ok {
		sets["captures"] = filepath.Join(dir, "*.json")
	}
	for name, glob := range sets {
		for _, cuts := range []int{1, 3, 17} {
			for _, limit := range []int{1 << 20, 4096} {
				t.Run(name, func(t *testing.T) {
					cps := checkpoints(records(t, glob), cuts)
					prev := learner.NewGraph()
					var deltas []*learner.Graph
					for i, cur := range cps {
						d := fleet.Delta(prev, cur)
						msgs, err := fleet.Encode("prod-eu-1", "e1", uint64(i+1), d, limit)
						if err != nil {
							t.Fatal(err)
						}
						got := learner.NewGraph()
						got.Merge(prev)
						for j, m := range msgs {
							if len(m) > limit {
								t.Fatalf("part %d: %d bytes, limit %d", j+1, len(m), limit)
							}
							msg, part, err := fleet.Decode(m)
							if err != nil {
								t.Fatal(err)
							}
							if msg.Part != j+1 || msg.Parts != len(msgs) || msg.Seq != uint64(i+1) {
								t.Fatalf("part header %+v", msg)
							}
							got.Merge(part)
							deltas = append(deltas, part)
						}
						if want := fleettest.Text(t, cur); fleettest.Text(t, got) != want {
							t.Fatalf("checkpoint %d of %d (limit %d, %d parts): prev ⊕ delta differs from the graph", i+1, len(cps), limit, len(msgs))
						}
						prev = cur
					}
					// the aggregator's view: every part, last first
					agg := learner.NewGraph()
					for i := len(deltas) - 1; i >= 0; i-- {
						agg.Merge(deltas[i])
					}
					if fleettest.Text(t, agg) != fleettest.Text(t, cps[len(cps)-1]) {
						t.Fatal("the deltas merged in reverse differ from the last graph")
					}
				})
			}
		}
	}
}

// TestDeltaUnchanged: a checkpoint that learned nothing has an empty delta.
func TestDeltaUnchanged(t *testing.T) {
	cps := checkpoints(records(t, "../testdata/flows/*"), 1)
	g := cps[len(cps)-1]
	d := fleet.Delta(g, g)
	if len(d.Nodes)+len(d.Edges)+len(d.Denied)+len(d.Unaddressed)+len(d.DNS) != 0 {
		t.Fatalf("delta of a graph with itself: %d nodes, %d edges", len(d.Nodes), len(d.Edges))
	}
}

// TestDecodeRefuses: a message that is not a delta, of another version or
// with a bad cluster name is refused with a clear error.
func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"not json", "hello", "not a flowfence delta"},
		{"version", `{"flowfenceDelta":9,"cluster":"a","epoch":"e","seq":1,"part":1,"parts":1,"graph":{}}`, "version 9"},
		{"cluster", `{"flowfenceDelta":1,"cluster":"A B","epoch":"e","seq":1,"part":1,"parts":1,"graph":{}}`, "invalid cluster"},
		{"unknown field", `{"flowfenceDelta":1,"x":1}`, "unknown field"},
		{"a second message after the first", `{"flowfenceDelta":9} {"flowfenceDelta":1}`, "trailing data after the delta"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := fleet.Decode([]byte(c.data))
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
