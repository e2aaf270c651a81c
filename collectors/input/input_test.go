package input_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/testsupport"
)

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"c.jsonl", "a.jsonl", "b.jsonl", "notes.txt", "flows[1].json", "sub/d.jsonl"} {
		testsupport.WriteFile(t, filepath.Join(dir, n), []byte("{}\n"))
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.jsonl"), 0o755); err != nil { // a directory the glob matches
		t.Fatal(err)
	}
	j := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		name    string
		arg     string
		want    []string
		wantErr []string // substrings of the error
	}{
		{"literal path", j("b.jsonl"), []string{j("b.jsonl")}, nil},
		{"stdin", "-", []string{"-"}, nil},
		{"missing path", j("missing.jsonl"), nil, []string{j("missing.jsonl"), "no such file"}},
		{"glob sorted, directories left out", j("*.jsonl"), []string{j("a.jsonl"), j("b.jsonl"), j("c.jsonl")}, nil},
		{"glob with ?", j("?.jsonl"), []string{j("a.jsonl"), j("b.jsonl"), j("c.jsonl")}, nil},
		{"glob in a subdirectory", j("s*/*.jsonl"), []string{j("sub/d.jsonl")}, nil},
		{"glob matching nothing", j("*.gz"), nil, []string{j("*.gz"), "matches no file"}},
		{"glob matching only a directory", j("dir.*"), nil, []string{j("dir.*"), "matches no file"}},
		{"bad glob", j("[.jsonl"), nil, []string{j("[.jsonl"), "bad glob"}},
		{"existing file with glob characters in its name", j("flows[1].json"), []string{j("flows[1].json")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := input.Expand(tc.arg)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Expand(%q) = %v, want an error", tc.arg, got)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Expand(%q) error %q does not say %q", tc.arg, err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand(%q): %v", tc.arg, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Expand(%q) = %v, want %v", tc.arg, got, tc.want)
			}
		})
	}
}

// corruptBody is a valid gzip header followed by bytes that are not deflate.
var corruptBody = []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffthis is not deflate data \xff\xfe\xfd")

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	content := []byte("{\"a\":1}\n{\"b\":2}\n")
	zipped := gz(t, content)
	tests := []struct {
		name     string
		path     string // "-" reads stdin
		stdin    io.Reader
		file     []byte // written to path when not stdin
		want     []byte
		wantGzip bool
		wantName string
		openErr  []string
		readErr  []string
	}{
		{name: "plain file", path: "plain.jsonl", file: content, want: content},
		{name: "gzip named .gz", path: "flows.jsonl.gz", file: zipped, want: content, wantGzip: true},
		{name: "gzip without extension", path: "flows.log", file: zipped, want: content, wantGzip: true},
		{name: "plain text named .gz", path: "fake.gz", file: content, want: content},
		{name: "concatenated gzip members (rotated parts)", path: "cat.gz", file: append(gz(t, content), gz(t, content)...), want: bytes.Repeat(content, 2), wantGzip: true},
		{name: "empty file", path: "empty", file: []byte{}, want: []byte{}},
		{name: "one byte 0x1f", path: "short", file: []byte{0x1f}, want: []byte{0x1f}},
		{name: "stdin plain", path: "-", stdin: bytes.NewReader(content), want: content, wantName: "stdin"},
		{name: "stdin gzip", path: "-", stdin: bytes.NewReader(zipped), want: content, wantGzip: true, wantName: "stdin"},
		{name: "stdin missing", path: "-", openErr: []string{"--from -", "no standard input"}},
		{name: "missing file", path: "nope.jsonl", openErr: []string{"nope.jsonl"}},
		{name: "directory", path: ".", openErr: []string{"is a directory"}},
		{name: "gzip magic, bad header", path: "bad-header.gz", file: []byte("\x1f\x8b\x07\x00garbage"), openErr: []string{"bad-header.gz", "corrupt gzip"}},
		{name: "gzip header, corrupt body", path: "bad-body.gz", file: corruptBody, wantGzip: true, readErr: []string{"bad-body.gz", "corrupt gzip"}},
		{name: "gzip truncated", path: "cut.gz", file: zipped[:len(zipped)-12], wantGzip: true, readErr: []string{"cut.gz", "gzip stream truncated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path != "-" {
				path = filepath.Join(dir, tc.path)
				if tc.file != nil {
					testsupport.WriteFile(t, path, tc.file)
				}
			}
			f, err := input.Open(path, tc.stdin)
			if tc.openErr != nil {
				if err == nil {
					f.Close()
					t.Fatal("Open succeeded, want an error")
				}
				for _, s := range tc.openErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Open error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			if f.Gzip != tc.wantGzip {
				t.Errorf("Gzip = %v, want %v", f.Gzip, tc.wantGzip)
			}
			wantName := tc.wantName
			if wantName == "" {
				wantName = path
			}
			if f.Name != wantName {
				t.Errorf("Name = %q, want %q", f.Name, wantName)
			}
			// Peek does not consume, and shows the decompressed content
			head, perr := f.Peek(4)
			got, rerr := io.ReadAll(f.Reader())
			if tc.readErr != nil {
				if perr == nil && rerr == nil {
					t.Fatal("reading a damaged gzip succeeded")
				}
				// Peek names the file itself; a raw read names the problem
				if perr != nil && !strings.Contains(perr.Error(), filepath.Base(path)) {
					t.Errorf("Peek error %q does not name the file", perr)
				}
				for _, e := range []error{perr, rerr} {
					if e != nil && !strings.Contains(e.Error(), tc.readErr[1]) {
						t.Errorf("read error %q does not say %q", e, tc.readErr[1])
					}
				}
				drain(input.NewLines(f))
				return
			}
			if perr != nil || rerr != nil {
				t.Fatalf("Peek: %v; read: %v", perr, rerr)
			}
			if !bytes.Equal(head, tc.want[:min(4, len(tc.want))]) {
				t.Errorf("Peek(4) = %q, want %q", head, tc.want[:min(4, len(tc.want))])
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("content %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLinesReadErrorNamesFileAndLine: a damaged gzip stream ends the lines
// with an error naming the file, and the lines before it are delivered.
func TestLinesReadErrorNamesFileAndLine(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprint(zw, "one\ntwo\n")
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	path := testsupport.WriteFile(t, filepath.Join(t.TempDir(), "cut.gz"), buf.Bytes()) // no gzip trailer: truncated
	f, err := input.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := input.NewLines(f)
	var got []string
	for {
		l, ok := lines.Next()
		if !ok {
			break
		}
		got = append(got, string(l.Data))
	}
	if !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Errorf("lines %q, want one, two", got)
	}
	err = lines.Err()
	if err == nil || !strings.Contains(err.Error(), path+": read after line 2: gzip stream truncated") {
		t.Errorf("Err() = %v, want %s: read after line 2: gzip stream truncated…", err, path)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Err() = %v, want it to wrap io.ErrUnexpectedEOF", err)
	}
	// the block reader of the parallel decoder says the same
	f2, err := input.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	batched, batchErr := readBatches(t, input.NewLines(f2))
	if len(batched) != 2 || batched[0].Data != "one" || batched[1].Data != "two" || batchErr != fmt.Sprint(lines.Err()) {
		t.Errorf("ReadBatch: lines %v, Err() = %s; Next gave one, two and %v", batched, batchErr, lines.Err())
	}
}

func TestPeekLargerThanContent(t *testing.T) {
	f, err := input.Open("-", strings.NewReader("short"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 2 { // twice: Peek does not consume
		head, err := f.Peek(8192)
		if err != nil || string(head) != "short" {
			t.Fatalf("Peek(8192) = %q, %v; want the whole content, no error", head, err)
		}
	}
}

type wantLine struct {
	Data          string
	No            int
	Last, TooLong bool
}

// drain reads l to its end.
func drain(l *input.Lines) []wantLine {
	var got []wantLine
	for {
		ln, ok := l.Next()
		if !ok {
			return got
		}
		got = append(got, wantLine{string(ln.Data), ln.No, ln.Last, ln.TooLong})
	}
}

// collect reads l to its end and fails t on a read error.
func collect(t *testing.T, l *input.Lines) []wantLine {
	t.Helper()
	got := drain(l)
	if err := l.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	return got
}

func TestLines(t *testing.T) {
	long := strings.Repeat("a", 3<<20) // longer than the 1 MiB read buffer
	atMax := strings.Repeat("m", input.MaxLineBytes)
	tooLong := strings.Repeat("b", input.MaxLineBytes+1)
	tests := []struct {
		name string
		in   string
		want []wantLine
	}{
		{"empty", "", nil},
		{"only blank lines", "\n\n \t\n\r\n", nil},
		{"LF", "a\nb\n", []wantLine{{"a", 1, false, false}, {"b", 2, false, false}}},
		{"CRLF", "a\r\nb\r\n", []wantLine{{"a", 1, false, false}, {"b", 2, false, false}}},
		{"blank lines keep numbering", "\na\n\n  \nb\n", []wantLine{{"a", 2, false, false}, {"b", 5, false, false}}},
		{"surrounding whitespace trimmed", "  a b \t\n", []wantLine{{"a b", 1, false, false}}},
		{"last line unterminated", "a\nb", []wantLine{{"a", 1, false, false}, {"b", 2, true, false}}},
		{"last line unterminated CR", "a\nb\r", []wantLine{{"a", 1, false, false}, {"b", 2, true, false}}},
		{"trailing blank unterminated", "a\n   ", []wantLine{{"a", 1, false, false}}},
		{"UTF-8 BOM at the start", "\ufeffa\nb\n", []wantLine{{"a", 1, false, false}, {"b", 2, false, false}}},
		{"BOM alone on the first line", "\ufeff\na\n", []wantLine{{"a", 2, false, false}}},
		{"BOM later is content", "a\n\ufeffb\n", []wantLine{{"a", 1, false, false}, {"\ufeffb", 2, false, false}}},
		{"NUL bytes are content", "a\x00b\n", []wantLine{{"a\x00b", 1, false, false}}},
		{"3 MiB line", "x\n" + long + "\ny", []wantLine{{"x", 1, false, false}, {long, 2, false, false}, {"y", 3, true, false}}},
		{"exactly MaxLineBytes", atMax + "\nz\n", []wantLine{{atMax, 1, false, false}, {"z", 2, false, false}}},
		{"too long in the middle", "x\n" + tooLong + "\ny\n", []wantLine{{"x", 1, false, false}, {tooLong[:input.MaxLineBytes], 2, false, true}, {"y", 3, false, false}}},
		{"too long at the end", "x\n" + tooLong, []wantLine{{"x", 1, false, false}, {tooLong[:input.MaxLineBytes], 2, true, true}}},
		{"much too long in the middle", "x\n" + tooLong + long + "\ny\n", []wantLine{{"x", 1, false, false}, {tooLong[:input.MaxLineBytes], 2, false, true}, {"y", 3, false, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, input.NewLinesFrom("test", strings.NewReader(tc.in)))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lines:\n%s\nwant:\n%s", brief(got), brief(tc.want))
			}
		})
	}
}

// brief prints lines without megabytes of data.
func brief(ls []wantLine) string {
	var b strings.Builder
	for _, l := range ls {
		d := l.Data
		if len(d) > 40 {
			d = fmt.Sprintf("%s…(%d bytes)", d[:20], len(d))
		}
		fmt.Fprintf(&b, "  %d %q last=%v tooLong=%v\n", l.No, d, l.Last, l.TooLong)
	}
	return b.String()
}

// failingReader yields data, then a read error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLinesReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	l := input.NewLinesFrom("flows.jsonl", &failingReader{data: []byte("a\n\nb\npart"), err: boom})
	got := drain(l)
	want := []wantLine{{"a", 1, false, false}, {"b", 3, false, false}, {"part", 4, true, false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines %v, want %v", got, want)
	}
	err := l.Err()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "flows.jsonl: read after line 3") {
		t.Errorf("Err() = %v, want flows.jsonl: read after line 3: disk on fire (line 4 is the partial one)", err)
	}
	if _, ok := l.Next(); ok {
		t.Error("Next after an error returned a line")
	}
	l = input.NewLinesFrom("stdin", &failingReader{err: boom})
	if _, ok := l.Next(); ok || l.Err() == nil || !strings.HasPrefix(l.Err().Error(), "stdin: ") {
		t.Errorf("error before any line: ok %v err %v", ok, l.Err())
	}
}
