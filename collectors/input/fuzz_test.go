package input_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowfence/flowfence/collectors/input"
)

// FuzzLines: for any input, Lines returns exactly the non-blank lines of
// the input split at '\n' — each with surrounding whitespace (and, on the
// first line, a UTF-8 BOM) trimmed, numbered by its position among all
// lines (so numbers strictly increase), Last only on a final segment with no
// '\n' after it — and never fails or panics. (Inputs the fuzzer makes are far
// below MaxLineBytes, so TooLong is always false here.)
func FuzzLines(f *testing.F) {
	for _, s := range []string{
		"", "\n", "a", "a\n", "a\nb", "a\r\nb\r\n", "\n\n  \n\t\r\n", "\ufeff{\"flow\":{}}\n",
		"\ufeff\n\ufeff\n", "a\x00b\n\xff\xfe\n", "  x  \n y", "\r", "a\n\r", "\xc2\x85a\xc2\xa0\n",
	} {
		f.Add([]byte(s))
	}
	// a real file or two from the repository (always present)
	for _, p := range []string{
		filepath.Join("..", "..", "testdata", "flows", "node-c-legacy.json"),
		filepath.Join("..", "hubble", "testdata", "bad", "crlf.jsonl"),
		filepath.Join("..", "hubble", "testdata", "bad", "truncated-tail.jsonl"),
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		type line struct {
			data string
			no   int
			last bool
		}
		var want []line
		segs := bytes.Split(data, []byte("\n"))
		for i, s := range segs {
			if i == 0 {
				s = bytes.TrimPrefix(s, []byte("\ufeff"))
			}
			if s = bytes.TrimSpace(s); len(s) > 0 {
				want = append(want, line{string(s), i + 1, i == len(segs)-1})
			}
		}
		var got []line
		l := input.NewLinesFrom("fuzz", bytes.NewReader(data))
		prev := 0
		for {
			ln, ok := l.Next()
			if !ok {
				break
			}
			if ln.No <= prev {
				t.Fatalf("line number %d after %d", ln.No, prev)
			}
			prev = ln.No
			if ln.TooLong || len(ln.Data) == 0 {
				t.Fatalf("line %d: TooLong %v, %d bytes", ln.No, ln.TooLong, len(ln.Data))
			}
			got = append(got, line{string(ln.Data), ln.No, ln.Last})
		}
		if err := l.Err(); err != nil {
			t.Fatalf("Err() = %v on an in-memory reader", err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
		}
		// the block reader of the parallel decoder, through short reads
		sameLines(t, "ReadBatch", data, iotest.HalfReader, nil)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("line %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

// FuzzDocuments: for any input, a document reader never fails or panics,
// ReadBatch through short reads gives what Next gives, documents come in
// line order, each is trimmed and non-empty unless the scanner reports it
// broken, and every well-formed value of a one-value-per-line input comes
// out as it is.
func FuzzDocuments(f *testing.F) {
	for _, s := range []string{
		"", "{}", "[]", "[{},{}]", "{\n}\n{}", "{\"a\":\"\n\"}", "x\n{\"a\":[1,{}]}\n", "[\n  {\n    \"a\": 1\n  },\n  2\n]",
		"{\"a\":1}{\"b\":2}", "{\n  \"a\": {\n{\n}\n", "]\n}\n{", "\ufeff[\r\n{}\r\n]\r\n", "{\"a\":\"\\\"}\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := readDocs(t, data, iotest.HalfReader)
		prev := 0
		for _, d := range docs {
			if d.No < prev {
				t.Fatalf("document at line %d after one at line %d", d.No, prev)
			}
			prev = d.No
			if d.Err == "" && !d.TooLong && (d.Data == "" || strings.TrimSpace(d.Data) != d.Data) {
				t.Fatalf("document at line %d is empty or untrimmed: %q", d.No, d.Data)
			}
		}
		// lines that are each one JSON object come out as they are
		lines := bytes.Split(data, []byte("\n"))
		allObjects := len(bytes.TrimSpace(data)) > 0
		for _, l := range lines {
			l = bytes.TrimSpace(l)
			if len(l) > 0 && (l[0] != '{' || !json.Valid(l)) {
				allObjects = false
			}
		}
		if allObjects {
			var want []string
			for _, l := range lines {
				if l = bytes.TrimSpace(l); len(l) > 0 {
					want = append(want, string(l))
				}
			}
			if len(docs) != len(want) {
				t.Fatalf("%d documents of %d JSON lines", len(docs), len(want))
			}
			for i := range want {
				if docs[i].Data != want[i] || docs[i].Err != "" {
					t.Fatalf("document %d = %+v, want %q", i, docs[i], want[i])
				}
			}
		}
	})
}
