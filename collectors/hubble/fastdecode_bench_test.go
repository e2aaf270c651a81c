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
	lines, avg := benchLines(b)
	fd := hubble.NewFastDecoder()
	var rec record.Record
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testsupport.ProcessCPU()
	i := 0
	for b.Loop() {
		if _, _, handled := fd.Decode(lines[i%len(lines)], &rec); !handled {
			if _, _, _, _, err := hubble.DecodeLine(lines[i%len(lines)], &rec); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	b.ReportMetric(float64(testsupport.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecodeProtojson: DecodeLine (protojson + ConvertFlow), per line.
func BenchmarkDecodeProtojson(b *testing.B) {
	lines, avg := benchLines(b)
	var rec record.Record
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testsupport.ProcessCPU()
	i := 0
	for b.Loop() {
		if _, _, _, _, err := hubble.DecodeLine(lines[i%len(lines)], &rec); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(testsupport.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
