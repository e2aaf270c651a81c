// Package inputtest renders JSON values in every framing users produce —
// one per line, pretty-printed (`jq .`), concatenated, `jq -s` and `jq
// -sc` arrays, CRLF line ends, gzip — for the tests of the readers built
// on input.NewDocuments. It records the line each value starts on, so that
// a test can check the file:line a reader reports.
package inputtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
)

// Framing is the same values in one framing.
type Framing struct {
	Name string
	Data []byte
	// Lines are the lines the values start on, in order.
	Lines []int
	// Gzip: Data is gzip-compressed (Lines are of the decompressed text).
	Gzip bool
}

// Framings renders values (each one JSON value) in every framing. The
// values are compacted first; a value that is not JSON is kept as it is
// (a bad document).
func Framings(values [][]byte) []Framing {
	compact := make([][]byte, len(values))
	pretty := make([][]byte, len(values))
	elems := make([][]byte, len(values))
	for i, v := range values {
		var c, p, e bytes.Buffer
		if json.Compact(&c, v) != nil || json.Indent(&p, v, "", "  ") != nil || json.Indent(&e, v, "  ", "  ") != nil {
			c.Reset()
			c.Write(bytes.TrimSpace(v))
			p, e = c, c
		}
		compact[i], pretty[i], elems[i] = c.Bytes(), p.Bytes(), append([]byte("  "), e.Bytes()...)
	}
	var out []Framing
	add := func(name string, parts [][]byte, head, sep, tail string) Framing {
		f := Framing{Name: name}
		var b bytes.Buffer
		b.WriteString(head)
		for i, p := range parts {
			if i > 0 {
				b.WriteString(sep)
			}
			start := bytes.Count(b.Bytes(), []byte("\n")) + 1
			f.Lines = append(f.Lines, start)
			b.Write(p)
		}
		b.WriteString(tail)
		f.Data = b.Bytes()
		out = append(out, f)
		return f
	}
	lines := add("one per line", compact, "", "\n", "\n")
	pr := add("pretty-printed (jq .)", pretty, "", "\n", "\n")
	add("concatenated, no separator", compact, "", "", "\n")
	add("concatenated, spaces", compact, "", " ", "")
	add("pretty-printed, no newline between", pretty, "", "", "\n")
	arr := add("jq -s array", elems, "[\n", ",\n", "\n]\n")
	add("jq -sc one-line array", compact, "[", ",", "]\n")
	add("unindented array, one element per line", compact, "[\n", ",\n", "\n]\n")
	for _, f := range []Framing{lines, pr, arr} {
		out = append(out, Framing{Name: f.Name + ", CRLF", Data: bytes.ReplaceAll(f.Data, []byte("\n"), []byte("\r\n")), Lines: f.Lines})
	}
	for _, f := range []Framing{lines, pr, arr} {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(f.Data)
		zw.Close()
		out = append(out, Framing{Name: f.Name + ", gzip", Data: z.Bytes(), Lines: f.Lines, Gzip: true})
	}
	for _, f := range []Framing{lines, pr} {
		g := Framing{Name: f.Name + ", garbage first line", Data: append([]byte("garbage: not JSON\n"), f.Data...)}
		for _, n := range f.Lines {
			g.Lines = append(g.Lines, n+1)
		}
		out = append(out, g)
	}
	return out
}

// String names a framing in test output.
func (f Framing) String() string { return fmt.Sprintf("%s (%d bytes)", f.Name, len(f.Data)) }
