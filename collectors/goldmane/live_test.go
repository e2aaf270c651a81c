package goldmane_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// followed returns 300 flows in 15 s buckets, five per bucket, some
// denied, and one flow twice (two identical flows are two flows). One
// reporter (the destination's): the learner pairs the two reporters of a
// connection within one run (learner/reporter.go), so a window split
// between two runs may count a connection whose reports fall on both
// sides differently, as two files learned apart and merged would.
func followed() []*goldmanepb.Flow {
	var out []*goldmanepb.Flow
	for i := range 300 {
		rep, act := goldmanepb.Reporter_Dst, goldmanepb.Action_Allow
		if i%11 == 0 {
			act = goldmanepb.Action_Deny
		}
		f := flow(1_700_000_000+int64(i/5)*15, fmt.Sprintf("web%d-6b7d9c4f5-*", i%7), fmt.Sprintf("db%d-5f6d7c8b9-*", i%5), 5432+int64(i%3), rep, act, 1+int64(i%3))
		out = append(out, f)
		if i == 120 {
			out = append(out, f)
		}
	}
	return out
}

// followGoldmane runs `learn --follow` over a goldmane:// URL with
// checkpoints to cp, resumed from base, until stop says so.
func followGoldmane(t *testing.T, p *relaytest.Certs, url string, base *learner.Graph, cp string, stop func(ctx context.Context, flows uint64) bool) (*learner.Graph, *pipeline.Summary) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := pipeline.LearnOptions{
		Goldmane: goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey},
		Live: pipeline.LiveOptions{Relay: hubblerelay.Options{Follow: true}, Base: base, CheckpointPath: cp, CheckpointInterval: 40 * time.Millisecond,
			ProgressEvery: 5 * time.Millisecond, Progress: func(pr pipeline.Progress) {
				if stop(ctx, pr.Flows) {
					cancel()
				}
			}},
	}
	g, sum, err := pipeline.Learn(ctx, []string{url}, opts, nil)
	if err != nil {
		t.Fatalf("a followed window ended by the user: %v", err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatal("the followed window did not get its flows in 30 s")
	}
	return g, sum
}

// TestResumeFollowedGoldmane: a followed goldmane:// window stopped after
// a checkpoint (the process killed: only the checkpoint file is left) and
// resumed from that file counts each flow once: the checkpoint merged
// with the resumed run has the edges and counts of one uninterrupted run,
// and the resumed run dropped the flows Goldmane sent again.
func TestResumeFollowedGoldmane(t *testing.T) {
	dir := t.TempDir()
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	flows := followed()
	total := uint64(len(flows))
	url := serve(t, p, &server{stream: flows, pace: 2 * time.Millisecond})

	whole, _ := followGoldmane(t, p, url, nil, "", func(_ context.Context, n uint64) bool { return n == total })
	if whole.Stats.Records != total {
		t.Fatalf("uninterrupted run: %d records, want %d", whole.Stats.Records, total)
	}

	cp := filepath.Join(dir, "graph.json")
	followGoldmane(t, p, url, nil, cp, func(context.Context, uint64) bool {
		g, err := pipeline.ReadGraphFile(cp)
		return err == nil && g != nil && g.Stats.Records >= 60
	})
	killed, err := pipeline.ReadGraphFile(cp)
	if err != nil || killed == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if killed.Stats.Records >= total || len(killed.Cursors[url]) != 1 {
		t.Fatalf("checkpoint of %d records with cursors %s: want part of the window and one cursor", killed.Stats.Records, killed.Cursors[url])
	}
	resumed, sum := followGoldmane(t, p, url, killed, cp, func(_ context.Context, n uint64) bool { return killed.Stats.Records+n == total })
	final := pipeline.MergeGraphs(killed, resumed)
	sameEdges(t, final, whole)
	if r := sum.Live[0].(*goldmane.Report); r.Resent == 0 {
		t.Errorf("resumed run: %+v: want the flows sent again dropped", r)
	}
	c, err := goldmane.DecodeCursor(url, final.Cursors[url])
	if err != nil || c.Since().Unix() != flows[len(flows)-1].GetStartTime() || len(final.Cursors[url]) != 1 {
		t.Errorf("final cursors %s (%v): want one, folded by Goldmane's merge rule, at the last flow's start", final.Cursors[url], err)
	}
}

// sameEdges fails unless got has want's records and edges with their
// counts.
func sameEdges(t *testing.T, got, want *learner.Graph) {
	t.Helper()
	if got.Stats.Records != want.Stats.Records || len(got.Edges) != len(want.Edges) || len(got.Denied) != len(want.Denied) {
		t.Errorf("%d records, %d edges, %d denied; want %d, %d, %d", got.Stats.Records, len(got.Edges), len(got.Denied), want.Stats.Records, len(want.Edges), len(want.Denied))
	}
	for _, m := range []struct {
		got, want map[learner.EdgeKey]*learner.Edge
	}{{got.Edges, want.Edges}, {got.Denied, want.Denied}} {
		for k, w := range m.want {
			g := m.got[k]
			if g == nil || g.Flows != w.Flows || g.Dropped != w.Dropped {
				t.Errorf("edge %v: got %+v, want %d flows, %d dropped", k, g, w.Flows, w.Dropped)
			}
		}
	}
}

// TestResumeListedGoldmane: a listed goldmane:// window learned into a
// graph, listed again from that graph's cursor, counts nothing twice (the
// flows of the cursor's second come again and are dropped) and learns the
// flows stored since; a cursor of a version this build does not read is
// refused naming the --graph and the source.
func TestResumeListedGoldmane(t *testing.T) {
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	flows := followed()
	srv := &server{flows: flows[:200]}
	url := serve(t, p, srv)
	opts := pipeline.LearnOptions{Goldmane: goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey}}
	first, _, err := pipeline.Learn(context.Background(), []string{url}, opts, nil)
	if err != nil || first.Stats.Records != 200 {
		t.Fatalf("first window: %v, %d records; want 200", err, first.Stats.Records)
	}
	srv.flows = flows // Goldmane stored more since
	opts.Live.Base = first
	again, sum, err := pipeline.Learn(context.Background(), []string{url}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, _, err := pipeline.Learn(context.Background(), []string{url}, pipeline.LearnOptions{Goldmane: opts.Goldmane}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameEdges(t, pipeline.MergeGraphs(first, again), whole)
	atLast := 0
	for _, f := range flows[:200] {
		if f.GetStartTime() == flows[199].GetStartTime() {
			atLast++
		}
	}
	if r := sum.Live[0].(*goldmane.Report); r.Resent != uint64(atLast) || r.Flows != uint64(len(flows)-200) {
		t.Errorf("resumed window: %+v; want the %d flows of the cursor's second dropped and %d new", r, atLast, len(flows)-200)
	}
	bad := learner.NewGraph()
	bad.Cursors = bad.Cursors.Add(url, []byte(`{"version": 7, "start": 1}`))
	opts.Live.Base = bad
	if _, _, err := pipeline.Learn(context.Background(), []string{url}, opts, nil); err == nil || !strings.Contains(err.Error(), "--graph") || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "version 7") {
		t.Errorf("a cursor of version 7: %v", err)
	}
}
