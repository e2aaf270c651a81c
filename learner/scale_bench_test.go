package learner_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/internal/testsupport"
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

// BenchmarkLearnerAddShuffled and BenchmarkLearnerAddCalicoShuffled are
// BenchmarkLearnerAdd and BenchmarkLearnerAddCalico with the records in a
// random order (lines of many nodes interleaved): consecutive records
// rarely share a pod.
func BenchmarkLearnerAddShuffled(b *testing.B) {
	benchAdd(b, shuffled(scaleRecords(b, "hubble", 200_000)))
}

func BenchmarkLearnerAddCalicoShuffled(b *testing.B) {
	benchAdd(b, shuffled(scaleRecords(b, "calico", 200_000)))
}

// shuffled returns recs in a random order (the same every run).
func shuffled(recs []record.Record) []record.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	return recs
}

// benchAdd learns recs once, then times adding them again, round and
// round.
func benchAdd(b *testing.B, recs []record.Record) {
	l := learner.New(learner.Options{})
	for i := range recs {
		l.Add(&recs[i])
	}
	// the records keep their uuids: the dedupe window (64k) is shorter
	// than the stream, so every uuid has left it when its record comes
	// round again, and the timed loop pays for dedupe as a real stream does
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testsupport.ProcessCPU()
	i := 0
	for b.Loop() {
		l.Add(&recs[i%len(recs)])
		i++
	}
	// CPU time, not wall time: the machine may be shared
	b.ReportMetric(float64(testsupport.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
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
