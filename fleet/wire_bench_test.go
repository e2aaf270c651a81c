package fleet_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// BenchmarkDeltaBytes: the bytes a publisher puts on the wire per
// checkpoint against the flow records (Hubble JSON lines) the checkpoint
// learned: a benchgen cluster (2,000 workloads, 10,000 pods, ~20,000
// edges) sends windows of 10,000 flows, a checkpoint after each. The first
// window's delta holds every node and edge it met (cold); the later ones
// (warm) only what changed. Reported per window: flow lines and their
// bytes, delta bytes (the messages' payloads under the default 1 MB max
// payload; each message adds its Nats-Msg-Id and subject on the wire),
// and flow bytes per delta byte.
func BenchmarkDeltaBytes(b *testing.B) {
	const window, windows = 10000, 10
	spec := benchgen.Default()
	spec.Flows = window * windows
	var buf bytes.Buffer
	if err := benchgen.WriteHubble(&buf, spec); err != nil {
		b.Fatal(err)
	}
	type win struct {
		flows, bytes int
		recs         []*record.Record
	}
	var wins []win
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	cur := win{}
	for sc.Scan() {
		var rec record.Record
		_, _, ok, _, err := hubble.DecodeLine(sc.Bytes(), &rec)
		if err != nil {
			b.Fatal(err)
		}
		cur.bytes += len(sc.Bytes()) + 1
		if !ok {
			continue // a lost-events notice: its bytes belong to the window
		}
		cur.flows++
		cur.recs = append(cur.recs, &rec)
		if cur.flows == window {
			wins = append(wins, cur)
			cur = win{}
		}
	}
	if len(wins) != windows {
		b.Fatalf("%d windows of %d flows, want %d", len(wins), window, windows)
	}
	var coldDelta, warmDelta, coldFlowBytes, warmFlowBytes, warmWindows, edges int
	b.ResetTimer()
	for range b.N {
		l := learner.New(learner.Options{})
		prev := learner.NewGraph()
		coldDelta, warmDelta, coldFlowBytes, warmFlowBytes, warmWindows = 0, 0, 0, 0, 0
		for i, w := range wins {
			for _, r := range w.recs {
				l.Add(r)
			}
			g := l.Graph()
			g.Judge(false)
			msgs, err := fleet.Encode("prod-eu-1", "e1", uint64(i+1), fleet.Delta(prev, g), 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, m := range msgs {
				n += len(m)
			}
			if i == 0 {
				coldDelta, coldFlowBytes = n, w.bytes
			} else {
				warmDelta, warmFlowBytes, warmWindows = warmDelta+n, warmFlowBytes+w.bytes, warmWindows+1
			}
			prev, edges = g, len(g.Edges)+len(g.Denied)
		}
	}
	b.ReportMetric(window, "flows/window")
	b.ReportMetric(float64(edges), "edges")
	b.ReportMetric(float64(coldFlowBytes), "flow-B/window(cold)")
	b.ReportMetric(float64(coldDelta), "delta-B(cold)")
	b.ReportMetric(float64(coldFlowBytes)/float64(coldDelta), "flow-B/delta-B(cold)")
	b.ReportMetric(float64(warmFlowBytes)/float64(warmWindows), "flow-B/window(warm)")
	b.ReportMetric(float64(warmDelta)/float64(warmWindows), "delta-B(warm)")
	b.ReportMetric(float64(warmFlowBytes)/float64(warmDelta), "flow-B/delta-B(warm)")
}
