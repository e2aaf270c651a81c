package nats

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/fleet/fleettest"
	"github.com/flowfence/flowfence/learner"
)

// synthetic learns a cluster of edges distinct connections (workload i
// calls workload j on port p), one flow each, and returns the learner.
func synthetic(cluster string, edges int) *learner.Learner {
	l := learner.New(learner.Options{})
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range edges {
		l.Add(fleettest.BenchFlow(cluster, i, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	return l
}

// jetStream starts one in-process JetStream server (benchmarks measure
// the aggregator, not replication).
func jetStream(b *testing.B) string {
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoLog: true, NoSigs: true}
	s, err := server.NewServer(o)
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		b.Fatal("server not ready")
	}
	b.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// BenchmarkAggregate: one aggregator merging the deltas of a fleet of
// clusters × edges edges with 1% of each cluster's edges changing per
// checkpoint. The fleet's first graphs are merged before the timer starts;
// each op is one checkpoint of every cluster (published untimed) merged by
// the aggregator: deltas/s and edges/s merged, CPU time per delta (of the
// whole process, the in-process server's deliveries included), bytes on
// the wire per delta.
func BenchmarkAggregate(b *testing.B) {
	const clusters, edges = 100, 10000
	url := jetStream(b)
	dir := b.TempDir()
	ctx := context.Background()
	type member struct {
		name string
		l    *learner.Learner
		pub  *fleet.Publisher
	}
	var fleetOf []member
	publish := func(m member) int {
		g := m.l.Graph()
		g.Judge(false)
		commit, err := m.pub.Prepare(g)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := m.pub.PendingBytes()
		if err := commit(ctx, nil); err != nil {
			b.Fatal(err)
		}
		return n
	}
	for c := range clusters {
		name := fmt.Sprintf("c%03d", c)
		pub, err := fleet.NewPublisher(ctx, fleet.PublishOptions{URL: url, Cluster: name, GraphPath: filepath.Join(dir, name+".json")}, nil)
		if err != nil {
			b.Fatal(err)
		}
		m := member{name: name, l: synthetic(name, edges), pub: pub}
		defer pub.Close()
		publish(m)
		fleetOf = append(fleetOf, m)
	}
	a, err := fleet.NewAggregator(fleet.AggregateOptions{URL: url, Durable: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	g := learner.NewGraph()
	if err := a.Run(ctx, g, nil); err != nil {
		b.Fatal(err)
	}
	if len(g.Edges) != clusters*edges {
		b.Fatalf("fleet graph has %d edges (%d denied), want %d; merged %d skipped %d", len(g.Edges), len(g.Denied), clusters*edges, a.Merged, a.Skipped)
	}
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var deltaBytes, deltas int
	merged0, edges0 := a.Merged, a.Edges
	var cpu time.Duration
	b.ResetTimer()
	for r := range b.N {
		b.StopTimer()
		for _, m := range fleetOf {
			for i := range edges / 100 {
				m.l.Add(fleettest.BenchFlow(m.name, (i*97+r*13)%edges, t0.Add(time.Duration(r)*time.Minute)))
			}
			deltaBytes += publish(m)
			deltas++
		}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := a.Run(ctx, g, nil); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
	}
	b.StopTimer()
	if a.Merged-merged0 != deltas {
		b.Fatalf("merged %d deltas, published %d", a.Merged-merged0, deltas)
	}
	if len(g.Edges) != clusters*edges {
		b.Fatalf("fleet graph has %d edges (%d denied), want %d; merged %d skipped %d", len(g.Edges), len(g.Denied), clusters*edges, a.Merged, a.Skipped)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(deltas)/secs, "deltas/s")
	b.ReportMetric(float64(a.Edges-edges0)/secs, "edges/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(deltas), "cpu-µs/delta")
	b.ReportMetric(float64(deltaBytes)/float64(deltas), "B/delta")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPublishCheckpoint: the publisher's work at one checkpoint of a
// 100,000-edge cluster graph with 1% of its edges changed: the delta,
// its messages, the sidecar and the publish.
func BenchmarkPublishCheckpoint(b *testing.B) {
	const edges = 100000
	url := jetStream(b)
	ctx := context.Background()
	l := synthetic("big", edges)
	pub, err := fleet.NewPublisher(ctx, fleet.PublishOptions{URL: url, Cluster: "big", GraphPath: filepath.Join(b.TempDir(), "g.json")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	g := l.Graph()
	commit, _ := pub.Prepare(g)
	if err := commit(ctx, nil); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var bytes int
	b.ResetTimer()
	for r := range b.N {
		b.StopTimer()
		for i := range edges / 100 {
			l.Add(fleettest.BenchFlow("big", (i*97+r*13)%edges, t0.Add(time.Duration(r)*time.Minute)))
		}
		g := l.Graph()
		g.Judge(false)
		b.StartTimer()
		commit, err := pub.Prepare(g)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := pub.PendingBytes()
		bytes += n
		if err := commit(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/delta")
}
