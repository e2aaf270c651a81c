package hubble_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
)

// captureFiles returns every file of shared/captures/hubble followed by
// the repository's scenario files. When the shared captures are not
// available it says so in a skipped subtest and returns the scenario files
// alone; shared reports which case it is.
func captureFiles(t *testing.T) (files []string, shared bool) {
	t.Helper()
	repo := []string{repoFlows("node-a.jsonl"), repoFlows("node-b.json.gz"), repoFlows("node-c-legacy.json")}
	dir, ok := testsupport.FindCaptures("hubble")
	if !ok {
		t.Run("shared-captures", func(t *testing.T) {
			t.Skip("shared/captures/hubble not found above the package directory (set FLOWFENCE_CAPTURES to its parent): only the repository's testdata/flows are checked")
		})
		return repo, false
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		t.Fatalf("%s holds no capture", dir)
	}
	sort.Strings(files)
	return append(files, repo...), true
}

// repoFlows are the synthetic scenario files committed in the repository
// (testdata/flows at the module root): always present.
func repoFlows(name string) string { return filepath.Join("..", "..", "testdata", "flows", name) }

// runOut is what one FileSource run produced.
type runOut struct {
	st   collectors.Stats
	recs []record.Record
	log  string
	err  error
	// openErr is set when input.Open failed (Run never started).
	openErr error
}

// runFile opens path as the pipeline does and runs a hubble.FileSource
// over it, collecting copies of the emitted records and the log output.
func runFile(t testing.TB, path string, strict bool, workers int) runOut {
	t.Helper()
	logger, logs := testsupport.Logger(slog.LevelDebug)
	var out runOut
	f, err := input.Open(path, nil)
	if err != nil {
		out.openErr = err
		return out
	}
	opts := collectors.Options{Strict: strict, Logger: logger, Workers: workers}
	src := hubble.NewFileSource(f, opts)
	if src.Name() != path {
		t.Errorf("Name() = %q, want %q", src.Name(), path)
	}
	out.err = src.Run(context.Background(), &out.st, func(r *record.Record) error {
		out.recs = append(out.recs, *r)
		return nil
	})
	out.log = logs.String()
	return out
}

// rawLine is one non-blank line of a capture as encoding/json sees it.
type rawLine struct {
	no   int
	text []byte
	last bool           // not newline-terminated
	obj  map[string]any // nil when the line is not a JSON object
	flow map[string]any // the flow: obj["flow"], or obj itself for a bare flow
}

// readRaw splits a (possibly gzipped) file into lines independently of
// package input and decodes each with encoding/json.
func readRaw(t testing.TB, path string) []rawLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var out []rawLine
	r := bufio.NewReader(bytes.NewReader(data))
	for no := 1; ; no++ {
		text, err := r.ReadBytes('\n')
		if len(text) == 0 && err != nil {
			break
		}
		last := err != nil
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		l := rawLine{no: no, text: text, last: last}
		if json.Unmarshal(text, &l.obj) == nil {
			if f, ok := l.obj["flow"].(map[string]any); ok {
				l.flow = f
			} else if _, wrapped := l.obj["lost_events"]; !wrapped && l.obj["node_status"] == nil && (l.obj["verdict"] != nil || l.obj["IP"] != nil || l.obj["source"] != nil) {
				l.flow = l.obj // bare legacy flow
			}
		}
		out = append(out, l)
	}
	return out
}

// learnable says whether docs/DESIGN.md wants a flow learned at all: TRANSLATED
// socket-LB events (event_type 7, Type SOCK), debug/capture events and
// ERROR/UNKNOWN verdicts are skipped.
func learnable(f map[string]any) bool {
	switch str(f, "verdict") {
	case "FORWARDED", "DROPPED", "AUDIT", "REDIRECTED", "TRACED":
	default:
		return false
	}
	switch num(f, "event_type", "type") {
	case 2, 3, 7:
		return false
	}
	return str(f, "Type") != "SOCK"
}

// get walks a decoded JSON object.
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func str(m map[string]any, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

func num(m map[string]any, path ...string) float64 {
	n, _ := get(m, path...).(float64)
	return n
}

func boolean(m map[string]any, path ...string) (value, present bool) {
	b, ok := get(m, path...).(bool)
	return b, ok
}
