package hubble_test

import (
	"bytes"
	"testing"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
)

// benchLines are generated cluster-scale Hubble lines (~1.8 KB each).
func benchLines(b *testing.B) ([][]byte, int64) {
	var buf bytes.Buffer
	s := benchgen.Default()
	s.Flows = 20_000
	if err := benchgen.WriteHubble(&buf, s); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	return lines, int64(buf.Len()) / int64(len(lines))
}

// BenchmarkDecodeFast: the fast path, one goroutine, per line.
func BenchmarkDecodeFast(b *testing.B) {
	fd := hubble.NewFastDecoder()
	benchDecode(b, func(line []byte, rec *record.Record) {
		if _, _, handled := fd.Decode(line, rec); !handled {
			if _, _, _, _, err := hubble.DecodeLine(line, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeProtojson: DecodeLine (protojson + ConvertFlow), per line.
func BenchmarkDecodeProtojson(b *testing.B) {
	benchDecode(b, func(line []byte, rec *record.Record) {
		if _, _, _, _, err := hubble.DecodeLine(line, rec); err != nil {
			b.Fatal(err)
		}
	})
}

// benchDecode runs decode over the generated lines in turn, into one
// record, and reports bytes, allocations and CPU time per line.
func benchDecode(b *testing.B, decode func(line []byte, rec *record.Record)) {
	lines, avg := benchLines(b)
	var rec record.Record
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testsupport.ProcessCPU()
	i := 0
	for b.Loop() {
		decode(lines[i%len(lines)], &rec)
		i++
	}
	b.ReportMetric(float64(testsupport.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
