package hubble_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
	"github.com/flowfence/flowfence/record"
)

// recordKey is what the learner takes from a record, as one comparable
// line.
func recordKey(r *record.Record) string {
	ep := func(e record.Endpoint) string {
		return fmt.Sprintf("%s/%s/%s/%s[%s] %s:%d", e.Cluster, e.Namespace, e.Pod, e.WorkloadName, e.Entity, e.IP, e.Port)
	}
	return fmt.Sprintf("%s %s -> %s %v %v %v %s %s %q %v", r.Time.Format(time.RFC3339Nano), ep(r.Src), ep(r.Dst), r.Proto, r.Verdict, r.Direction, r.Node, r.UUID, r.DNSQuery, r.Src.Labels)
}

// TestEveryFraming: the records of each Hubble shape (exporter lines,
// `hubble observe -o json` GetFlowsResponse lines and their protojson
// camelCase spelling, bare legacy flows) are the same in every JSON
// framing, with a bad document in the middle reported at the line it
// starts on and the rest kept, on one and on several workers.
func TestEveryFraming(t *testing.T) {
	bad := `{"flow":{"verdict":12.5}}`
	for _, name := range []string{"exporter.jsonl", "observe.jsonl", "observe-camelcase.jsonl", "legacy.jsonl"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "framing", name))
			if err != nil {
				t.Fatal(err)
			}
			var values [][]byte
			for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				values = append(values, []byte(l))
			}
			mid := len(values) / 2
			values = append(values[:mid], append([][]byte{[]byte(bad)}, values[mid:]...)...)
			var want []string
			for i, f := range inputtest.Framings(values) {
				path := writeFile(t, t.TempDir(), "flows", f.Data)
				for _, workers := range []int{1, 3} {
					out := runFile(t, path, false, workers)
					if out.err != nil || out.openErr != nil {
						t.Fatalf("%s: Run: %v %v", f.Name, out.err, out.openErr)
					}
					var got []string
					for i := range out.recs {
						got = append(got, recordKey(&out.recs[i]))
					}
					if i == 0 && workers == 1 {
						want = got
						if len(want) == 0 {
							t.Fatal("no record learned from the one-per-line file")
						}
					}
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("%s, %d workers: records differ from the one-per-line file:\n got %d %q\nwant %d %q", f.Name, workers, len(got), got, len(want), want)
					}
					malformed := uint64(1)
					if strings.Contains(f.Name, "garbage first line") {
						malformed++
						if !strings.Contains(out.log, path+":1:") {
							t.Errorf("%s: the garbage first line is not reported at %s:1:\n%s", f.Name, path, out.log)
						}
					}
					if out.st.Malformed != malformed || out.st.Truncated != 0 {
						t.Errorf("%s: %d malformed, %d truncated; want %d, 0", f.Name, out.st.Malformed, out.st.Truncated, malformed)
					}
					if at := fmt.Sprintf("%s:%d:", path, f.Lines[mid]); !strings.Contains(out.log, at) || !strings.Contains(out.log, "verdict") {
						t.Errorf("%s: the bad document is not reported at %s:\n%s", f.Name, at, out.log)
					}
				}
			}
		})
	}
}

// TestDetectEveryFraming: format detection sees Hubble in every framing.
func TestDetectEveryFraming(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "framing", "observe.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		values = append(values, []byte(l))
	}
	for _, f := range inputtest.Framings(values) {
		if f.Gzip {
			continue // detection sees decompressed bytes
		}
		if got := collectors.Detect(f.Data[:min(len(f.Data), 8192)]); got != collectors.FormatHubble {
			t.Errorf("%s: Detect = %q, want %q", f.Name, got, collectors.FormatHubble)
		}
	}
}
