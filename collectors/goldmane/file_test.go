package goldmane_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

func readFile(t *testing.T, path string) ([]record.Record, *collectors.Stats) {
	t.Helper()
	f, err := input.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := f.Peek(8192)
	if got := collectors.Detect(head); got != collectors.FormatGoldmane {
		t.Fatalf("%s: Detect = %q, want %q", path, got, collectors.FormatGoldmane)
	}
	st := &collectors.Stats{}
	var recs []record.Record
	if err := goldmane.NewFileSource(f, collectors.Options{Strict: true}).Run(context.Background(), st, func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs, st
}

func capture(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "captures", "goldmane", "goldmane-flow-protojson.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("shared/captures/goldmane not found above the package directory: skipping")
	return ""
}

// TestSavedShapes: the capture (pretty protojson), the same flow as the
// emitter's NDJSON (encoding/json of the generated struct: proto names,
// numbers), as a FlowResult line and inside a FlowListResult all read the
// same record.
func TestSavedShapes(t *testing.T) {
	raw, err := os.ReadFile(capture(t))
	if err != nil {
		t.Fatal(err)
	}
	var fl goldmanepb.Flow
	if err := protojson.Unmarshal(raw, &fl); err != nil {
		t.Fatalf("the capture is not a goldmane Flow: %v", err)
	}
	emitter, err := json.Marshal(&fl) // what the emitter POSTs, one per line
	if err != nil {
		t.Fatal(err)
	}
	compact, _ := protojson.Marshal(&fl)
	dir := t.TempDir()
	files := map[string]string{
		"capture (pretty protojson)": string(raw),
		"emitter NDJSON":             string(emitter) + "\n" + string(emitter) + "\n",
		"FlowResult lines":           `{"id":"7","flow":` + string(compact) + "}\n",
		"FlowListResult":             `{"meta":{"totalPages":"1"},"flows":[{"id":"7","flow":` + string(compact) + "}]}\n",
	}
	want := map[string]int{"emitter NDJSON": 2}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			recs, _ := readFile(t, p)
			n := want[name]
			if n == 0 {
				n = 1
			}
			if len(recs) != n {
				t.Fatalf("%d records, want %d", len(recs), n)
			}
			r := recs[0]
			if r.Src.Namespace != "longhorn-system" || r.Src.Pod != "longhorn-manager-*" || !r.Src.Aggregated || r.Src.Labels["app"] != "longhorn-manager" ||
				r.Dst.Pod != "instance-manager-318f1eac2bc7c775b7a6d2e68e9e2800" || r.Dst.Port != 8503 || r.Proto != record.TCP ||
				r.Reporter != record.ReporterSrc || r.Verdict != record.Forwarded || r.Time.Unix() != 1764970845 || r.Src.IP.IsValid() {
				t.Errorf("record %+v", r)
			}
		})
	}
}
