package learner_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// scaleRecords decodes generated cluster-scale flows (2,000 workloads,
// 10,000 pods, ~18,000 edges) into records, as the collector emits them.
func scaleRecords(b *testing.B, flows int64) []record.Record {
	var buf bytes.Buffer
	s := benchgen.Default()
	s.Flows = flows
	if err := benchgen.WriteHubble(&buf, s); err != nil {
		b.Fatal(err)
	}
	f, err := input.Open(input.Stdin, &buf)
	if err != nil {
		b.Fatal(err)
	}
	var recs []record.Record
	var st collectors.Stats
	err = hubble.NewFileSource(f, collectors.Options{}).Run(context.Background(), &st, func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return recs
}

// BenchmarkLearnerAdd measures Learner.Add alone, per record, on a stream
// whose graph is already complete (the steady state of a long stream).
func BenchmarkLearnerAdd(b *testing.B) {
	recs := scaleRecords(b, 200_000)
	l := learner.New(learner.Options{})
	for i := range recs {
		l.Add(&recs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		r.UUID = "" // the warm-up saw them all: without this every record is a duplicate
		l.Add(&r)
		i++
	}
}
