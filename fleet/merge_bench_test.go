package fleet_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/fleet/fleettest"
	"github.com/flowfence/flowfence/learner"
)

// BenchmarkMergeDelta: one aggregator's merge work, without the wire: a
// fleet graph of 100 clusters × 10,000 edges takes, per op, one
// checkpoint's delta of every cluster (1% of its edges changed), through
// a learner.Merger (the aggregator's way) and through Graph.Merge (each
// delta judging the whole graph again; only the first plainDeltas of each
// checkpoint, it is that slow): deltas/s, edges/s and CPU time per delta.
func BenchmarkMergeDelta(b *testing.B) {
	const clusters, edges, plainDeltas = 100, 10000, 3
	type member struct {
		name string
		l    *learner.Learner
		prev *learner.Graph
	}
	var fleetOf []*member
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for c := range clusters {
		m := &member{name: fmt.Sprintf("c%03d", c), l: learner.New(learner.Options{})}
		for i := range edges {
			m.l.Add(fleettest.BenchFlow(m.name, i, t0.Add(time.Duration(i)*time.Millisecond)))
		}
		m.prev = m.l.Graph()
		m.prev.Judge(false)
		fleetOf = append(fleetOf, m)
	}
	round := 0
	// deltas returns one checkpoint's delta of every cluster
	deltas := func() []*learner.Graph {
		round++
		var out []*learner.Graph
		for _, m := range fleetOf {
			for i := range edges / 100 {
				m.l.Add(fleettest.BenchFlow(m.name, (i*97+round*13)%edges, t0.Add(time.Duration(round)*time.Hour)))
			}
			g := m.l.Graph()
			g.Judge(false)
			out = append(out, fleet.Delta(m.prev, g))
			m.prev = g
		}
		return out
	}
	for _, how := range []string{"merger", "plain"} {
		b.Run(how, func(b *testing.B) {
			g := learner.NewGraph()
			for _, m := range fleetOf {
				g.Merge(m.prev)
			}
			merger := learner.NewMerger(g)
			merger.Merge(learner.NewGraph()) // the first merge judges the whole graph once
			var n, merged int
			var cpu time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				ds := deltas()
				b.StartTimer()
				cpu0 := cpuTime()
				if how == "plain" {
					ds = ds[:plainDeltas] // each judges the whole graph: a sample
				}
				for _, d := range ds {
					if how == "merger" {
						merger.Merge(d)
					} else {
						g.Merge(d)
					}
					n, merged = n+1, merged+len(d.Edges)+len(d.Denied)
				}
				cpu += cpuTime() - cpu0
			}
			b.StopTimer()
			if len(g.Edges) != clusters*edges {
				b.Fatalf("fleet graph has %d edges, want %d", len(g.Edges), clusters*edges)
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(n)/secs, "deltas/s")
			b.ReportMetric(float64(merged)/secs, "edges/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/delta")
			b.ReportMetric(float64(n)/cpu.Seconds(), "deltas/cpu-s")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
