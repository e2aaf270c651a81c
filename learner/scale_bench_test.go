package learner_test

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// scaleRecords decodes generated cluster-scale flows (2,000 workloads,
// 10,000 pods, ~18,000 edges) into records, as the collector emits them.
func scaleRecords(b *testing.B, format string, flows int64) []record.Record {
	s := benchgen.Default()
	s.Flows = flows
	return decoded(b, format, s)
}

// BenchmarkLearnerAdd measures Learner.Add alone, per record, on a stream
// whose graph is already complete (the steady state of a long stream).
func BenchmarkLearnerAdd(b *testing.B) { benchAdd(b, scaleRecords(b, "hubble", 200_000)) }

// BenchmarkLearnerAddCalico is BenchmarkLearnerAdd over Calico flow-log
// records of the same cluster (two reporter records per connection,
// merged by the learner).
func BenchmarkLearnerAddCalico(b *testing.B) { benchAdd(b, scaleRecords(b, "calico", 200_000)) }

// benchAdd learns recs once, then times adding them again, round and
// round: one by one ("add"), and as the file sources add them, groups of
// 32 given to Prefetch first ("prefetch").
func benchAdd(b *testing.B, recs []record.Record) {
	for _, group := range []int{0, 32} {
		name := "add"
		if group > 0 {
			name = "prefetch"
		}
		b.Run(name, func(b *testing.B) {
			l := learner.New(learner.Options{})
			for i := range recs {
				l.Add(&recs[i])
			}
			ptrs := make([]*record.Record, len(recs))
			for i := range recs {
				ptrs[i] = &recs[i]
			}
			// the records keep their uuids: the dedupe window (64k) is shorter
			// than the stream, so every uuid has left it when its record comes
			// round again, and the timed loop pays for dedupe as a real stream does
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				j := i % len(recs)
				if group > 0 && j%group == 0 {
					l.Prefetch(ptrs[j:min(j+group, len(ptrs))])
				}
				l.Add(ptrs[j])
				i++
			}
			// CPU time, not wall time: the machine may be shared
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGraphWrite measures serialising a cluster-scale graph (the
// last, single-threaded step of `flowfence learn`).
func BenchmarkGraphWrite(b *testing.B) {
	recs := scaleRecords(b, "hubble", 200_000)
	l := learner.New(learner.Options{})
	for i := range recs {
		l.Add(&recs[i])
	}
	g := l.Graph()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := g.Write(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(len(g.Edges)), "edges")
}
