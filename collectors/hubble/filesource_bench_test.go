package hubble_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
)

// BenchmarkFileSource: a generated one-flow-per-line Hubble file read
// through FileSource.Run (reader, line or document splitting, fast
// decoder, ordered sink), on one and on two decode workers: the reader's
// share of a run shows here, not in BenchmarkDecodeFast.
func BenchmarkFileSource(b *testing.B) {
	var buf bytes.Buffer
	s := benchgen.Default()
	s.Flows = 20_000
	if err := benchgen.WriteHubble(&buf, s); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := testsupport.ProcessCPU()
			for b.Loop() {
				f, err := input.Open(input.Stdin, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				var st collectors.Stats
				n := 0
				src := hubble.NewFileSource(f, collectors.Options{Workers: workers})
				if err := src.Run(context.Background(), &st, func(*record.Record) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n == 0 || st.Malformed != 0 {
					b.Fatalf("%d records, %d malformed", n, st.Malformed)
				}
			}
			b.ReportMetric(float64(testsupport.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
