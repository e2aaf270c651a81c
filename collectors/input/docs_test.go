package input_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
	"github.com/flowfence/flowfence/internal/testsupport"
)

// gotDoc is what a reader of a document reader sees of one value.
type gotDoc struct {
	Data    string
	No      int
	Last    bool
	TooLong bool
	Err     string
}

func docsOf(lines []input.Line) []gotDoc {
	var out []gotDoc
	for _, l := range lines {
		d := gotDoc{Data: string(l.Data), No: l.No, Last: l.Last, TooLong: l.TooLong}
		if l.Err != nil {
			d.Err = l.Err.Error()
		}
		out = append(out, d)
	}
	return out
}

// readDocs reads every value of data with Next and, through shape, with
// ReadBatch, and requires both to agree.
func readDocs(t *testing.T, data []byte, shape func(io.Reader) io.Reader) []gotDoc {
	t.Helper()
	var next []input.Line
	l := input.NewDocumentsFrom("flows.json", bytes.NewReader(data))
	for {
		ln, ok := l.Next()
		if !ok {
			break
		}
		ln.Data = bytes.Clone(ln.Data)
		next = append(next, ln)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	var batch []input.Line
	b := input.NewDocumentsFrom("flows.json", shape(bytes.NewReader(data)))
	eachBatch(b, nil, nil, func(_ []byte, ls []input.Line) {
		for _, ln := range ls {
			ln.Data = bytes.Clone(ln.Data)
			batch = append(batch, ln)
		}
	})
	got, want := docsOf(batch), docsOf(next)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ReadBatch through short reads:\n got %v\nwant %v (Next)", got, want)
	}
	return want
}

// TestDocumentsEveryFraming: the same values come out, each numbered by
// the line it starts on, in every framing (inputtest.Framings), read
// whole, half a buffer and a byte at a time.
func TestDocumentsEveryFraming(t *testing.T) {
	values := [][]byte{
		[]byte(`{"flow":{"verdict":"FORWARDED","l4":{"TCP":{"destination_port":8080}}},"node_name":"a"}`),
		[]byte(`{"s":"braces { [ in a string ] } and \"quotes\\\" and a \\\\"}`),
		[]byte(`{"nested":[[1,2],{"a":[]},[]],"empty":{}}`),
		[]byte(`{"flow":{"verdict":"DROPPED"},"time":"2026-01-01T00:00:00Z"}`),
	}
	for _, f := range inputtest.Framings(values) {
		t.Run(f.Name, func(t *testing.T) {
			data := f.Data
			if f.Gzip {
				p := testsupport.WriteFile(t, filepath.Join(t.TempDir(), "f.gz"), f.Data)
				fh, err := input.Open(p, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer fh.Close()
				if data, err = io.ReadAll(fh.Reader()); err != nil {
					t.Fatal(err)
				}
			}
			for sname, shape := range map[string]func(io.Reader) io.Reader{
				"whole": func(r io.Reader) io.Reader { return r }, "half": iotest.HalfReader, "byte": iotest.OneByteReader,
			} {
				var got []gotDoc
				for _, d := range readDocs(t, data, shape) {
					if json.Valid([]byte(d.Data)) || d.Err != "" {
						got = append(got, d)
						continue
					}
					// what a decoder that fails on the line does
					for _, v := range input.Split(input.Line{Data: []byte(d.Data), No: d.No, Last: d.Last}) {
						got = append(got, gotDoc{Data: string(v.Data), No: v.No})
					}
				}
				if strings.Contains(f.Name, "garbage first line") {
					if len(got) == 0 || got[0].Data != "garbage: not JSON" || got[0].No != 1 {
						t.Fatalf("%s: the garbage line is not a document of its own at line 1: %v", sname, got)
					}
					got = got[1:]
				}
				if len(got) != len(values) {
					t.Fatalf("%s: %d documents, want %d: %v", sname, len(got), len(values), got)
				}
				for i, g := range got {
					var c bytes.Buffer
					if err := json.Compact(&c, []byte(g.Data)); err != nil || c.String() != string(values[i]) || g.Err != "" || g.TooLong {
						t.Errorf("%s: document %d = %+v, want %s", sname, i, g, values[i])
					}
					if g.No != f.Lines[i] {
						t.Errorf("%s: document %d starts on line %d, want %d", sname, i, g.No, f.Lines[i])
					}
				}
			}
		})
	}
}

// TestDocumentsBroken: a broken value is one document (with the line it
// starts on and the scanner's diagnosis, or left to its decoder), and the
// values after it are read.
func TestDocumentsBroken(t *testing.T) {
	ok := `{"ok":1}`
	cases := []struct {
		name string
		in   string
		want []gotDoc
	}{
		{"garbage line between values", ok + "\nnot json\n" + ok + "\n",
			[]gotDoc{{Data: ok, No: 1}, {Data: "not json", No: 2}, {Data: ok, No: 3}}},
		{"garbage first line, pretty values after it", "Hello\n{\n  \"ok\": 1\n}\n",
			[]gotDoc{{Data: "Hello", No: 1}, {Data: "{\n  \"ok\": 1\n}", No: 2}}},
		{"JSON line cut inside a string", `{"flow":{"time":"2026-01` + "\n" + ok + "\n",
			[]gotDoc{{Data: `{"flow":{"time":"2026-01`, No: 1, Err: "inside a JSON string"}, {Data: ok, No: 2}}},
		{"JSON line cut between members", `{"flow":{"a":1,"b":` + "\n" + ok + "\n",
			[]gotDoc{{Data: `{"flow":{"a":1,"b":`, No: 1, Err: "not closed before line 2"}, {Data: ok, No: 2}}},
		{"JSON line cut right after a closing brace", `{"flow":{"a":{}}` + "\n" + ok + "\n",
			[]gotDoc{{Data: `{"flow":{"a":{}}`, No: 1}, {Data: ok, No: 2}}}, // one object shape: its decoder reports it
		{"pretty document cut, the next one at column 0", "{\n  \"a\": {\n    \"b\": 1,\n{\n  \"ok\": 1\n}\n",
			[]gotDoc{{Data: "{\n  \"a\": {\n    \"b\": 1", No: 1, Err: "not closed before line 4"}, {Data: "{\n  \"ok\": 1\n}", No: 4}}},
		{"pretty document cut in a string: its remaining lines skipped", "{\n  \"a\": \"cut\n    \"b\": 1\n  }\n}\n" + ok + "\n",
			[]gotDoc{{Data: "{\n  \"a\": \"cut", No: 1, Err: "inside a JSON string"}, {Data: ok, No: 6}}},
		{"array element cut: the next element is read", "[\n  {\n    \"a\": \"cut\n  },\n  {\n    \"ok\": 1\n  }\n]\n" + ok + "\n",
			[]gotDoc{{Data: "{\n    \"a\": \"cut", No: 2, Err: "inside a JSON string"}, {Data: "{\n    \"ok\": 1\n  }", No: 5}, {Data: ok, No: 9}}},
		{"array element cut, the next at its column", "[\n  {\n    \"a\": [\n  {\n    \"ok\": 1\n  }\n]\n",
			[]gotDoc{{Data: "{\n    \"a\": [", No: 2, Err: "not closed before line 4"}, {Data: "{\n    \"ok\": 1\n  }", No: 4}}},
		{"a closing bracket that does not match", "{\"a\":[1}\n" + ok + "\n",
			[]gotDoc{{Data: `{"a":[1}`, No: 1}, {Data: ok, No: 2}}}, // one object shape: its decoder reports it
		{"a mismatched bracket inside a pretty document", "{\n  \"a\": [1}\n}\n" + ok + "\n",
			[]gotDoc{{Data: "{\n  \"a\": [1}", No: 1, Err: "does not close"}, {Data: ok, No: 4}}},
		{"a value and garbage on one line", ok + " trailing words\n" + ok + "\n",
			[]gotDoc{{Data: ok, No: 1}, {Data: "trailing words", No: 1}, {Data: ok, No: 2}}},
		{"commas between values (copied out of an array)", ok + ",\n" + ok + ",\n" + ok + "\n",
			[]gotDoc{{Data: ok, No: 1}, {Data: ok, No: 2}, {Data: ok, No: 3}}},
		{"truncated tail of a pretty file", ok + "\n{\n  \"a\": {\n    \"b\": 1",
			[]gotDoc{{Data: ok, No: 1}, {Data: "{\n  \"a\": {\n    \"b\": 1", No: 2, Last: true}}},
		{"truncated tail of a jq -s array", "[\n  " + ok + ",\n  {\"a\":",
			[]gotDoc{{Data: ok, No: 2}, {Data: `{"a":`, No: 3, Last: true}}},
		{"scalars in an array are documents (their decoder rejects them)", `[1, "x", null, {"ok":1}]`,
			[]gotDoc{{Data: "1", No: 1}, {Data: `"x"`, No: 1}, {Data: "null", No: 1}, {Data: ok, No: 1}}},
		{"empty arrays", "[]\n[ ]\n" + ok + "\n", []gotDoc{{Data: ok, No: 3}}},
		{"BOM and blank lines", "\ufeff\n\n  " + ok + "  \n\n", []gotDoc{{Data: ok, No: 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := readDocs(t, []byte(tc.in), iotest.HalfReader)
			if len(got) != len(tc.want) {
				t.Fatalf("%d documents, want %d:\n got %+v\nwant %+v", len(got), len(tc.want), got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Data != w.Data || g.No != w.No || g.Last != w.Last || (w.Err == "") != (g.Err == "") || !strings.Contains(g.Err, w.Err) {
					t.Errorf("document %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestSplit: several values on one line are split for the decoder that
// failed on the line; a line with one value is left alone.
func TestSplit(t *testing.T) {
	got := input.Split(input.Line{Data: []byte(`{"a":1}{"b":[2]} {"c":"}"} tail`), No: 7})
	want := []string{`{"a":1}`, `{"b":[2]}`, `{"c":"}"}`, `tail`}
	if len(got) != len(want) {
		t.Fatalf("Split = %d values, want %d", len(got), len(want))
	}
	for i, w := range want {
		if string(got[i].Data) != w || got[i].No != 7 {
			t.Errorf("value %d = %q line %d, want %q line 7", i, got[i].Data, got[i].No, w)
		}
	}
	one := input.Line{Data: []byte(`{"a":1`), No: 3, Last: true}
	if got := input.Split(one); len(got) != 1 || string(got[0].Data) != `{"a":1` || got[0].No != 3 || !got[0].Last {
		t.Errorf("Split of one value = %+v, want the line itself", got)
	}
}

// hugeValue streams a JSON value that never ends — an object whose
// string member goes on for n bytes without a newline — then a good value
// on the next line, and samples the heap as it is read.
type hugeValue struct {
	head, tail string
	n, off     int
	peak       uint64
	reads      int
}

func (h *hugeValue) Read(p []byte) (int, error) {
	if h.reads++; h.reads%4 == 0 || len(p) > 1<<20 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
	total := len(h.head) + h.n + len(h.tail)
	if h.off >= total {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && h.off < total {
		switch {
		case h.off < len(h.head):
			c := copy(p[w:], h.head[h.off:])
			w, h.off = w+c, h.off+c
		case h.off < len(h.head)+h.n:
			c := min(len(p)-w, len(h.head)+h.n-h.off)
			for i := range c {
				p[w+i] = 'x'
			}
			w, h.off = w+c, h.off+c
		default:
			t := h.off - len(h.head) - h.n
			c := copy(p[w:], h.tail[t:])
			w, h.off = w+c, h.off+c
		}
	}
	return w, nil
}

// TestDocumentTooLongBoundedMemory: a value that goes on for 200 MB is
// reported as too long (with the line it starts on) without being held:
// the heap stays far below the value's size, and the value after it is
// read.
func TestDocumentTooLongBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	h := &hugeValue{head: "{\"ok\":1}\n{\"flow\":\"", n: 200 << 20, tail: "\"}\n{\"ok\":2}\n"}
	l := input.NewDocumentsFrom("huge.json", h)
	var got []gotDoc
	eachBatch(l, nil, nil, func(_ []byte, ls []input.Line) { got = append(got, docsOf(ls)...) })
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Data != `{"ok":1}` || !got[1].TooLong || got[1].No != 2 || !strings.Contains(got[1].Err, "longer than") || got[1].Data != "" || got[2].Data != `{"ok":2}` || got[2].No != 3 {
		t.Fatalf("documents %+v; want line 1, a too-long value at line 2, line 3", got)
	}
	peak := h.peak - min(h.peak, base)
	t.Logf("a 200 MB value: peak heap %.1f MiB above the start (bound %d MiB)", float64(peak)/(1<<20), input.MaxDocumentBytes>>20)
	if peak > 3*input.MaxDocumentBytes {
		t.Errorf("peak heap %d MiB while skipping a 200 MB value: not bounded by MaxDocumentBytes (%d MiB)", peak>>20, input.MaxDocumentBytes>>20)
	}
}
