package input_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/benchgen"
)

// BenchmarkReadBatch: the reading goroutine's share of a one-flow-per-line
// file (generated Hubble lines, ~1.8 KB each): blocks split into lines by
// a line reader and by a document reader (the sources' reader).
func BenchmarkReadBatch(b *testing.B) {
	var gen bytes.Buffer
	s := benchgen.Default()
	s.Flows = 20_000
	if err := benchgen.WriteHubble(&gen, s); err != nil {
		b.Fatal(err)
	}
	data := gen.Bytes()
	b.Run("lines", func(b *testing.B) { benchReadBatch(b, data, input.NewLinesFrom) })
	b.Run("documents", func(b *testing.B) { benchReadBatch(b, data, input.NewDocumentsFrom) })
}

func benchReadBatch(b *testing.B, data []byte, open func(string, io.Reader) *input.Lines) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var buf []byte
	var lines []input.Line
	for b.Loop() {
		l := open("bench", bytes.NewReader(data))
		n := 0
		buf, lines = eachBatch(l, buf, lines, func(_ []byte, lines []input.Line) { n += len(lines) })
		if n == 0 {
			b.Fatal("no line")
		}
	}
}
