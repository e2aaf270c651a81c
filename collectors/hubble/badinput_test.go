package hubble_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// validLine is line n of a generated file: the same shape as the valid lines
// of testdata/bad (uuid and source port encode n).
func validLine(n int) string {
	return fmt.Sprintf(`{"flow":{"time":"2026-01-10T10:00:%02dZ","uuid":"00000000-0000-4000-8000-0000000000%02d","verdict":"FORWARDED",`+
		`"IP":{"source":"10.244.1.10","destination":"10.244.2.20","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":%d,"destination_port":8080,"flags":{"SYN":true}}},`+
		`"source":{"identity":1001,"namespace":"shop","labels":["k8s:app=frontend","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"frontend-7d4b9c-abcde"},`+
		`"destination":{"identity":1002,"namespace":"shop","labels":["k8s:app=cart","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"cart-5f6d7e-fghij"},`+
		`"Type":"L3_L4","node_name":"node-a","event_type":{"type":4},"is_reply":false},"node_name":"node-a","time":"2026-01-10T10:00:%02dZ"}`,
		n%60, n, 40000+n, n%60)
}

// longL7Line is a valid L7 HTTP request flow with many headers: far longer
// than bufio.Scanner's default 64 KiB token limit.
func longL7Line(n, headers int) string {
	var h strings.Builder
	for i := range headers {
		if i > 0 {
			h.WriteByte(',')
		}
		fmt.Fprintf(&h, `{"key":"X-Trace-%04d","value":"%s"}`, i, strings.Repeat("v", 30))
	}
	return fmt.Sprintf(`{"flow":{"time":"2026-01-10T10:00:%02dZ","uuid":"00000000-0000-4000-8000-0000000000%02d","verdict":"FORWARDED",`+
		`"IP":{"source":"10.244.1.10","destination":"10.244.2.20","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":%d,"destination_port":8080}},`+
		`"source":{"identity":1001,"namespace":"shop","labels":["k8s:app=frontend"],"pod_name":"frontend-7d4b9c-abcde"},`+
		`"destination":{"identity":1002,"namespace":"shop","labels":["k8s:app=cart"],"pod_name":"cart-5f6d7e-fghij"},`+
		`"Type":"L7","node_name":"node-a","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://cart:8080/","protocol":"HTTP/1.1","headers":[%s]}},`+
		`"event_type":{"type":129}},"node_name":"node-a","time":"2026-01-10T10:00:%02dZ"}`,
		n%60, n, 40000+n, h.String(), n%60)
}

// lineOf recovers the line number a test flow carries in its uuid.
func lineOf(t *testing.T, r *record.Record) int {
	t.Helper()
	i := strings.LastIndexByte(r.UUID, '-')
	n, err := strconv.Atoi(strings.TrimLeft(r.UUID[i+1:], "0"))
	if err != nil {
		t.Fatalf("record with uuid %q is not a test flow", r.UUID)
	}
	if int(r.Src.Port) != 40000+n {
		t.Fatalf("record with uuid %q has source port %d, want %d: fields of different lines mixed", r.UUID, r.Src.Port, 40000+n)
	}
	return n
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// randomBytes returns n deterministic pseudo-random bytes, NULs included.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
		if i%97 == 0 {
			b[i] = 0
		}
	}
	return b
}

// binaryCounts independently counts what a file of arbitrary bytes must
// give: every non-blank line is malformed, except an unterminated last one,
// which is truncated. badLines are the line numbers of the non-blank lines.
func binaryCounts(data []byte) (malformed, truncated uint64, badLines []int) {
	segs := bytes.Split(data, []byte("\n"))
	for i, s := range segs {
		if i == 0 {
			s = bytes.TrimPrefix(s, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(s)) == 0 {
			continue
		}
		badLines = append(badLines, i+1)
		if i == len(segs)-1 {
			truncated++
		} else {
			malformed++
		}
	}
	return malformed, truncated, badLines
}

type badCase struct {
	name string
	// file is under testdata/bad; gen writes the input into dir instead.
	file string
	gen  func(t *testing.T, dir string) string

	lines, flows, malformed, truncated uint64
	// learned are the line numbers of the flows that must come out.
	learned []int
	// badLines are the malformed lines, in order: each is named as
	// file:line in a warning, and the first is the strict-mode error.
	badLines []int
	// warn is a substring the first malformed-line warning must contain.
	warn string
	// openErr / runErr: input.Open or Run (strict or not) must fail with an
	// error naming the file and containing this text.
	openErr, runErr string
	check           func(t *testing.T, out runOut)
}

func badInputCases() []badCase {
	return []badCase{
		{name: "truncated line in the middle", file: "truncated-middle.jsonl",
			lines: 3, flows: 2, malformed: 1, learned: []int{1, 3}, badLines: []int{2}, warn: "malformed Hubble JSON"},
		{name: "truncated last line (rotated file)", file: "truncated-tail.jsonl",
			lines: 3, flows: 2, truncated: 1, learned: []int{1, 2}},
		{name: "wrong JSON types", file: "wrong-types.jsonl",
			lines: 5, flows: 2, malformed: 3, learned: []int{1, 5}, badLines: []int{2, 3, 4}, warn: "verdict"},
		{name: "port and ICMP type out of range", file: "port-out-of-range.jsonl",
			lines: 4, flows: 2, malformed: 2, learned: []int{1, 4}, badLines: []int{2, 3}, warn: "70000",
			check: func(t *testing.T, out runOut) {
				for _, r := range out.recs {
					if r.Dst.Port != 8080 {
						t.Errorf("learned destination port %d: an out-of-range port must not wrap", r.Dst.Port)
					}
				}
			}},
		{name: "JSON array, one element per line", file: "json-array.json",
			lines: 2, flows: 2, learned: []int{2, 3}},
		{name: "CRLF line endings", file: "crlf.jsonl",
			lines: 3, flows: 3, learned: []int{1, 2, 4}},
		{name: "UTF-8 BOM at the start", file: "bom.jsonl",
			lines: 2, flows: 2, learned: []int{1, 2}},
		{name: "empty file", file: "empty.jsonl"},
		{name: "whitespace-only file", file: "whitespace-only.jsonl"},
		{name: "bare flow containing the string flow", file: "legacy-flow-string.json",
			lines: 2, flows: 2, learned: []int{1, 2},
			check: func(t *testing.T, out runOut) {
				if len(out.recs) == 2 && (out.recs[1].Direction != record.Request || out.recs[1].Dst.Port != 8080) {
					t.Errorf("L7 request flow: direction %v port %d", out.recs[1].Direction, out.recs[1].Dst.Port)
				}
			}},
		{name: "non-flow events", file: "nonflow-events.jsonl",
			lines: 8, flows: 2, learned: []int{3, 8},
			check: func(t *testing.T, out runOut) {
				if out.st.LostEvents != 15 {
					t.Errorf("LostEvents %d, want 12+3", out.st.LostEvents)
				}
				want := map[string]uint64{hubble.SkipNonFlow: 2, hubble.SkipLostEvents: 2, hubble.SkipTranslated: 1, hubble.SkipVerdict: 1}
				if !reflect.DeepEqual(out.st.Skipped, want) {
					t.Errorf("skipped %v, want %v", out.st.Skipped, want)
				}
			}},
		{name: "corrupt gzip body", file: "corrupt-body.json.gz", runErr: "corrupt gzip"},
		{name: "corrupt gzip header", file: "corrupt-header.json.gz", openErr: "corrupt gzip"},
		{name: "gzip truncated mid-stream",
			gen: func(t *testing.T, dir string) string {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				for n := 1; n <= 2; n++ {
					fmt.Fprintln(zw, validLine(n))
				}
				if err := zw.Flush(); err != nil {
					t.Fatal(err)
				}
				cut := buf.Len() // everything up to here decompresses to lines 1-2
				for n := 3; n <= 5; n++ {
					fmt.Fprintln(zw, validLine(n))
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				return writeFile(t, dir, "cut.jsonl.gz", buf.Bytes()[:cut])
			},
			lines: 2, flows: 2, learned: []int{1, 2}, runErr: "gzip stream truncated"},
		{name: "gzip without .gz extension",
			gen: func(t *testing.T, dir string) string {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				fmt.Fprintf(zw, "%s\n%s\n", validLine(1), validLine(2))
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				return writeFile(t, dir, "flows.log", buf.Bytes())
			},
			lines: 2, flows: 2, learned: []int{1, 2}},
		{name: "valid L7 flow longer than 64 KiB",
			gen: func(t *testing.T, dir string) string {
				long := longL7Line(2, 2000)
				if len(long) <= 64<<10 {
					t.Fatalf("long line is only %d bytes", len(long))
				}
				return writeFile(t, dir, "long-l7.jsonl", []byte(validLine(1)+"\n"+long+"\n"+validLine(3)+"\n"))
			},
			lines: 3, flows: 3, learned: []int{1, 2, 3},
			check: func(t *testing.T, out runOut) {
				if len(out.recs) == 3 && (out.recs[1].Direction != record.Request || out.recs[1].Dst.Port != 8080 || out.recs[1].Src.Labels["app"] != "frontend") {
					t.Errorf("long L7 request: %+v", out.recs[1])
				}
			}},
		{name: "garbage line longer than 64 KiB",
			gen: func(t *testing.T, dir string) string {
				garbage := `{"flow":` + strings.Repeat(`{"x":`, 20000)
				return writeFile(t, dir, "long-garbage.jsonl", []byte(validLine(1)+"\n"+garbage+"\n"+validLine(3)+"\n"))
			},
			lines: 3, flows: 2, malformed: 1, learned: []int{1, 3}, badLines: []int{2}},
		{name: "line longer than input.MaxLineBytes",
			gen: func(t *testing.T, dir string) string {
				huge := strings.Repeat("x", input.MaxLineBytes+(1<<20))
				return writeFile(t, dir, "huge.jsonl", []byte(validLine(1)+"\n"+huge+"\n"+validLine(3)+"\n"))
			},
			lines: 3, flows: 2, malformed: 1, learned: []int{1, 3}, badLines: []int{2}, warn: "longer than"},
		{name: "binary garbage line between flows",
			gen: func(t *testing.T, dir string) string {
				junk := bytes.ReplaceAll(randomBytes(1, 8<<10), []byte("\n"), []byte{0})
				data := append([]byte(validLine(1)+"\n"), junk...)
				data = append(data, "\n"+validLine(3)+"\n"...)
				return writeFile(t, dir, "binary-middle.jsonl", data)
			},
			lines: 3, flows: 2, malformed: 1, learned: []int{1, 3}, badLines: []int{2}},
		binaryOnlyCase(),
	}
}

// binaryOnlyCase is a file of random bytes (NULs and newlines included,
// no newline at the end): its counts are computed independently. It holds
// no { or [, so that every line is garbage on its own (values spanning
// lines are input.FuzzDocuments' business).
func binaryOnlyCase() badCase {
	data := append(randomBytes(2, 64<<10), 'x')
	for i, c := range data {
		if c == '{' || c == '[' {
			data[i] = 'x'
		}
	}
	malformed, truncated, bad := binaryCounts(data)
	return badCase{name: "binary garbage only",
		gen: func(t *testing.T, dir string) string {
			return writeFile(t, dir, "random.bin", data)
		},
		lines: malformed + truncated, malformed: malformed, truncated: truncated, badLines: bad[:len(bad)-1],
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range badInputCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "bad", tc.file)
			if tc.gen != nil {
				path = tc.gen(t, t.TempDir())
			}
			for _, workers := range []int{1, 4} {
				for _, strict := range []bool{false, true} {
					t.Run(fmt.Sprintf("workers=%d/strict=%v", workers, strict), func(t *testing.T) {
						out := runFile(t, path, strict, workers)
						checkBadCase(t, tc, path, strict, out)
					})
				}
			}
		})
	}
}

func checkBadCase(t *testing.T, tc badCase, path string, strict bool, out runOut) {
	t.Helper()
	if tc.openErr != "" {
		if out.openErr == nil || !strings.Contains(out.openErr.Error(), path) || !strings.Contains(out.openErr.Error(), tc.openErr) {
			t.Fatalf("input.Open error %v, want one naming %s and saying %q", out.openErr, path, tc.openErr)
		}
		return
	}
	if out.openErr != nil {
		t.Fatalf("input.Open: %v", out.openErr)
	}
	learned := []int{}
	for i := range out.recs {
		learned = append(learned, lineOf(t, &out.recs[i]))
	}
	wantLearned := append([]int{}, tc.learned...)
	switch {
	case tc.runErr != "":
		if out.err == nil || !strings.Contains(out.err.Error(), path) || !strings.Contains(out.err.Error(), tc.runErr) {
			t.Fatalf("Run error %v, want one naming %s and saying %q", out.err, path, tc.runErr)
		}
		if strings.Count(out.err.Error(), path) != 1 {
			t.Errorf("Run error %q names the file more than once", out.err)
		}
	case strict && len(tc.badLines) > 0:
		first := tc.badLines[0]
		var lerr *collectors.LineError
		if !errors.As(out.err, &lerr) {
			t.Fatalf("strict Run error %v (%T), want a *collectors.LineError", out.err, out.err)
		}
		if lerr.File != path || lerr.Line != first || !strings.Contains(out.err.Error(), fmt.Sprintf("%s:%d:", path, first)) {
			t.Errorf("strict Run error %q (file %q line %d), want %s:%d", out.err, lerr.File, lerr.Line, path, first)
		}
		// what came before the bad line was still delivered, nothing after it
		wantLearned = wantLearned[:0]
		for _, n := range tc.learned {
			if n < first {
				wantLearned = append(wantLearned, n)
			}
		}
		if out.st.Malformed != 1 {
			t.Errorf("strict: Malformed %d, want 1 (it stops at the first)", out.st.Malformed)
		}
	default:
		if out.err != nil {
			t.Fatalf("Run: %v", out.err)
		}
		st := out.st
		if st.Files != 1 || st.Lines != tc.lines || st.FlowEvents != tc.flows || st.Malformed != tc.malformed || st.Truncated != tc.truncated {
			t.Errorf("stats: files %d lines %d flows %d malformed %d truncated %d; want 1, %d, %d, %d, %d",
				st.Files, st.Lines, st.FlowEvents, st.Malformed, st.Truncated, tc.lines, tc.flows, tc.malformed, tc.truncated)
		}
		if got := strings.Count(out.log, "skipping malformed line"); got != len(tc.badLines) {
			t.Errorf("%d malformed-line warnings, want %d:\n%s", got, len(tc.badLines), out.log)
		}
		for _, n := range tc.badLines {
			if !strings.Contains(out.log, fmt.Sprintf("%s:%d:", path, n)) {
				t.Errorf("no warning names %s:%d:\n%.2000s", path, n, out.log)
			}
		}
		if tc.warn != "" && !strings.Contains(out.log, tc.warn) {
			t.Errorf("warnings do not say %q:\n%.2000s", tc.warn, out.log)
		}
	}
	if !reflect.DeepEqual(learned, wantLearned) {
		t.Errorf("learned the flows of lines %v, want %v", learned, wantLearned)
	}
	if tc.check != nil && out.err == nil {
		tc.check(t, out)
	}
}

// TestBadCorpusIsDocumented keeps testdata/bad/README.md and the table in
// step: every committed file is exercised and listed.
func TestBadCorpusIsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("testdata", "bad", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, tc := range badInputCases() {
		used[tc.file] = true
	}
	ents, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if name == "README.md" || name == ".gitattributes" {
			continue
		}
		if !used[name] {
			t.Errorf("testdata/bad/%s is not in badInputCases", name)
		}
		if !bytes.Contains(readme, []byte("| "+name+" |")) {
			t.Errorf("testdata/bad/%s is not described in README.md", name)
		}
	}
	crlf, err := os.ReadFile(filepath.Join("testdata", "bad", "crlf.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(crlf, []byte("\r\n")) != 4 {
		t.Error("crlf.jsonl lost its CRLF line endings (a checkout converted them?)")
	}
}
