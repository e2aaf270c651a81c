package learner

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/flowfence/flowfence/record"
)

// BenchmarkWorkloadMemory measures what one distinct workload costs the
// learner: n workloads (one pod each, in 100 namespaces) each call one
// shared service, the heap is measured after a GC with the learner and its
// graph alive. The B/workload metric is the figure the README's sizing
// notes quote.
func BenchmarkWorkloadMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var perWorkload float64
			for b.Loop() {
				perWorkload = workloadMemory(n)
			}
			b.ReportMetric(perWorkload, "B/workload")
		})
	}
}

func workloadMemory(n int) float64 {
	dst := podEP("shared", "api-0", "10.200.0.1", 8080, map[string]string{"app": "api"})
	recs := make([]record.Record, n)
	for i := range recs {
		ns := fmt.Sprintf("ns-%d", i%100)
		name := fmt.Sprintf("w-%d", i)
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		src := record.Endpoint{Namespace: ns, Pod: name + "-0", WorkloadKind: "Deployment", WorkloadName: name, IP: ip,
			Labels: map[string]string{"app": name}, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
		recs[i] = record.Record{Time: at(i % 3600), Src: src, Dst: dst, Proto: record.TCP, Direction: record.Request, Verdict: record.Forwarded, Node: "node-1"}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := New(Options{})
	for i := range recs {
		l.Add(&recs[i])
	}
	g := l.Graph()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(l)
	runtime.KeepAlive(g)
	runtime.KeepAlive(recs)
	return float64(after.HeapInuse-before.HeapInuse) / float64(n)
}
