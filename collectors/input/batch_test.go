package input_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/testsupport"
)

// gotLine is what a reader of Lines sees of one line (TooLong lines are
// summarised by their length: they hold 16 MiB).
type gotLine struct {
	Data          string
	No            int
	Last, TooLong bool
}

func (g gotLine) String() string {
	if len(g.Data) > 64 {
		return fmt.Sprintf("{%d bytes %q… No:%d Last:%v TooLong:%v}", len(g.Data), g.Data[:16], g.No, g.Last, g.TooLong)
	}
	return fmt.Sprintf("%+v", struct {
		Data          string
		No            int
		Last, TooLong bool
	}(g))
}

// readNext reads every line with Next.
func readNext(l *input.Lines) ([]gotLine, string) {
	var out []gotLine
	for {
		ln, ok := l.Next()
		if !ok {
			break
		}
		out = append(out, gotLine{string(ln.Data), ln.No, ln.Last, ln.TooLong})
	}
	return out, fmt.Sprint(l.Err())
}

// eachBatch reads l to its end with ReadBatch, reusing buf and lines from
// one batch to the next as the parallel decoder does, and calls f with
// each batch's buffer and lines (valid until the next batch). It returns
// the buffer and the slice, for a read after the end.
func eachBatch(l *input.Lines, buf []byte, lines []input.Line, f func([]byte, []input.Line)) ([]byte, []input.Line) {
	for {
		buf, lines = l.ReadBatch(buf, lines[:0])
		if len(lines) == 0 {
			return buf, lines
		}
		f(buf, lines)
	}
}

// readBatches reads every line with ReadBatch, reusing one buffer as the
// parallel decoder does, and checks that every batch has a line.
func readBatches(t *testing.T, l *input.Lines) ([]gotLine, string) {
	t.Helper()
	var out []gotLine
	buf, lines := eachBatch(l, nil, nil, func(_ []byte, lines []input.Line) {
		for _, ln := range lines {
			out = append(out, gotLine{string(ln.Data), ln.No, ln.Last, ln.TooLong})
		}
	})
	if _, lines = l.ReadBatch(buf, lines[:0]); len(lines) != 0 {
		t.Errorf("ReadBatch after the end returned %d lines", len(lines))
	}
	return out, fmt.Sprint(l.Err())
}

// sameLines requires ReadBatch to give what Next gives on the same input
// through the same reader shape.
func sameLines(t *testing.T, name string, data []byte, shape func(io.Reader) io.Reader, readErr error) {
	t.Helper()
	open := func() *input.Lines {
		var r io.Reader = bytes.NewReader(data)
		if readErr != nil {
			r = &failingReader{data: bytes.Clone(data), err: readErr}
		}
		return input.NewLinesFrom("flows.jsonl", shape(r))
	}
	want, wantErr := readNext(open())
	got, gotErr := readBatches(t, open())
	if gotErr != wantErr {
		t.Errorf("%s: ReadBatch ends with %s, Next with %s", name, gotErr, wantErr)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: ReadBatch gave %d lines, Next %d:\n got %v\nwant %v", name, len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d: ReadBatch %v, Next %v", name, i, got[i], want[i])
		}
	}
}

// TestReadBatchIsNext: ReadBatch (the parallel decoder's block reader)
// numbers, trims, skips and flags lines exactly as Next, for lines of
// every length up to and beyond MaxLineBytes, blank lines, a BOM, CRLF,
// an unterminated tail, read errors, and readers returning a byte or half
// a buffer at a time.
func TestReadBatchIsNext(t *testing.T) {
	long := strings.Repeat("x", input.MaxLineBytes+10)
	exact := strings.Repeat("y", input.MaxLineBytes)
	mid := strings.Repeat("z", 3<<20) // longer than one read block
	flow := `{"flow":{"verdict":"FORWARDED"}}`
	many := strings.Repeat(flow+"\n", 50_000) // several blocks, lines across block ends
	cases := map[string]string{
		"empty":            "",
		"newlines":         "\n\n\n",
		"one":              flow,
		"bom-crlf":         "\ufeff" + flow + "\r\n\r\n  \n" + flow + "\r\n",
		"blank-then-tail":  "\n \n\t\npart",
		"many":             many,
		"many-tail":        many + `{"flow":{"verd`,
		"mid":              flow + "\n" + mid + "\n" + flow + "\n",
		"mid-tail":         flow + "\n" + mid,
		"too-long":         flow + "\n" + long + "\n" + flow + "\n",
		"too-long-first":   long + "\n" + flow,
		"too-long-tail":    flow + "\n" + long,
		"exactly-max":      exact + "\n" + flow + "\n",
		"exactly-max-tail": flow + "\n" + exact,
		"blanks-many":      strings.Repeat(" \n", 700_000) + flow,
	}
	shapes := map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r },
		"half":  iotest.HalfReader,
		"byte":  iotest.OneByteReader,
	}
	boom := errors.New("disk on fire")
	for name, data := range cases {
		for sname, shape := range shapes {
			if sname == "byte" && len(data) > 1<<20 {
				continue // byte by byte through 16 MiB: slow, and "half" covers short reads
			}
			for _, rerr := range []error{nil, boom} {
				sameLines(t, fmt.Sprintf("%s/%s/err=%v", name, sname, rerr), []byte(data), shape, rerr)
			}
		}
	}
}

// TestReadBatchAfterPeek: format detection peeks at an opened file first;
// the block reader then starts with what the peek buffered.
func TestReadBatchAfterPeek(t *testing.T) {
	data := strings.Repeat(`{"flow":{"verdict":"FORWARDED","n":12345}}`+"\n", 80_000) + "tail"
	path := testsupport.WriteFile(t, t.TempDir()+"/flows.jsonl", []byte(data))
	read := func(batch bool) ([]gotLine, string) {
		f, err := input.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Peek(8192); err != nil {
			t.Fatal(err)
		}
		if batch {
			return readBatches(t, input.NewLines(f))
		}
		return readNext(input.NewLines(f))
	}
	want, wantErr := read(false)
	got, gotErr := read(true)
	if len(got) != 80_001 || len(got) != len(want) || gotErr != wantErr || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("ReadBatch: %d lines (%s), Next: %d lines (%s)", len(got), gotErr, len(want), wantErr)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: ReadBatch %v, Next %v", i, got[i], want[i])
		}
	}
}

// TestReadBatchKeepsItsBuffer: a batch buffer reused for block after
// block keeps its storage while the unfinished lines carried from one
// block to the next are short (lines of a few KiB, of varying length), so
// that reading allocates nothing once warm.
func TestReadBatchKeepsItsBuffer(t *testing.T) {
	var in bytes.Buffer
	for i := 0; in.Len() < 8<<20; i++ {
		// lengths from 100 bytes to 9 KiB: the carry changes every block
		in.WriteString(strings.Repeat("x", 100+(i*7919)%9000))
		in.WriteByte('\n')
	}
	l := input.NewLinesFrom("flows", bytes.NewReader(in.Bytes()))
	buf, lines := l.ReadBatch(nil, nil)
	first := &buf[:1][0]
	batches := 1
	eachBatch(l, buf, lines, func(buf []byte, lines []input.Line) {
		batches++
		if &buf[:1][0] != first {
			t.Fatalf("batch %d: ReadBatch allocated a new buffer (carry %d bytes)", batches, len(lines[0].Data))
		}
	})
	if batches < 6 {
		t.Fatalf("only %d batches: the input should span several blocks", batches)
	}
}

// onceErrReader returns its data with an error on the first read, and then
// a clean end: an error that a second read would not repeat.
type onceErrReader struct {
	data string
	done bool
}

var errOnce = errors.New("device hiccup")

func (r *onceErrReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	return copy(p, r.data), errOnce
}

// TestReadBatchKeepsPendingError: an error met while the input was being
// opened (the buffered reader's first fill, for the gzip check) is
// reported after the lines read before it, though ReadBatch goes on to read
// the stream under the buffered reader directly.
func TestReadBatchKeepsPendingError(t *testing.T) {
	f, err := input.Open(input.Stdin, &onceErrReader{data: "{\"a\":1}\n{\"b\":2}\n"})
	if err != nil {
		t.Fatal(err)
	}
	// Open peeked at the first bytes: the buffered reader holds the lines
	// and the error
	got, gotErr := readBatches(t, input.NewLines(f))
	if len(got) != 2 || !strings.Contains(gotErr, "device hiccup") {
		t.Fatalf("got %v, error %q: want both lines and the read error", got, gotErr)
	}
}

// TestReadBatchGzipIsNext: a gzip file, read by blocks straight from the
// decompressor, gives the lines Next gives: whole, and cut short (no
// trailer), where both end with the same error naming the file.
func TestReadBatchGzipIsNext(t *testing.T) {
	var content strings.Builder
	for i := range 60_000 {
		fmt.Fprintf(&content, `{"flow":{"verdict":"FORWARDED","n":%d}}`+"\n", i)
	}
	var whole, cut bytes.Buffer
	for _, b := range []*bytes.Buffer{&whole, &cut} {
		zw := gzip.NewWriter(b)
		if _, err := zw.Write([]byte(content.String())); err != nil {
			t.Fatal(err)
		}
		if b == &cut {
			if err := zw.Flush(); err != nil {
				t.Fatal(err)
			}
			continue // no trailer: truncated
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{"whole.gz": whole.Bytes(), "cut.gz": cut.Bytes()} {
		path := testsupport.WriteFile(t, t.TempDir()+"/"+name, data)
		read := func(batch bool) ([]gotLine, string) {
			f, err := input.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !f.Gzip {
				t.Fatalf("%s: not read as gzip", name)
			}
			if batch {
				return readBatches(t, input.NewLines(f))
			}
			return readNext(input.NewLines(f))
		}
		want, wantErr := read(false)
		got, gotErr := read(true)
		if len(want) != 60_000 || len(got) != len(want) || gotErr != wantErr {
			t.Fatalf("%s: ReadBatch %d lines (%s), Next %d lines (%s)", name, len(got), gotErr, len(want), wantErr)
		}
		if name == "cut.gz" && !strings.Contains(gotErr, "cut.gz") {
			t.Errorf("%s: error %q does not name the file", name, gotErr)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: line %d: ReadBatch %v, Next %v", name, i, got[i], want[i])
			}
		}
	}
}
