package goldmane_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
	"github.com/flowfence/flowfence/record"
)

// recordKey is what the learner takes from a record, as one comparable
// line.
func recordKey(r *record.Record) string {
	ep := func(e record.Endpoint) string {
		return fmt.Sprintf("%s/%s/%s[%s] %d %v", e.Namespace, e.Pod, e.WorkloadName, e.Entity, e.Port, e.Labels)
	}
	return fmt.Sprintf("%s %s -> %s %v %v %v %d", r.Time.Format(time.RFC3339), ep(r.Src), ep(r.Dst), r.Proto, r.Verdict, r.Reporter, r.Flows())
}

// TestEveryFraming: protojson Flows and FlowResults give the same records
// in every JSON framing, with a bad document in the middle reported at the
// line it starts on and the rest kept.
func TestEveryFraming(t *testing.T) {
	bad := `{"Key":{"sourceName":5}}`
	for _, name := range []string{"flows.jsonl", "flowresults.jsonl"} {
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
				path := filepath.Join(t.TempDir(), "flows")
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				fh, err := input.Open(path, nil)
				if err != nil {
					t.Fatal(err)
				}
				head, _ := fh.Peek(8192)
				if got := collectors.Detect(head); got != collectors.FormatGoldmane {
					t.Fatalf("%s: Detect = %q, want %q", f.Name, got, collectors.FormatGoldmane)
				}
				var logs bytes.Buffer
				st := &collectors.Stats{}
				var got []string
				opts := collectors.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
				if err := goldmane.NewFileSource(fh, opts).Run(context.Background(), st, func(r *record.Record) error {
					got = append(got, recordKey(r))
					return nil
				}); err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				log := logs.String()
				if i == 0 {
					if want = got; len(want) != len(values)-1 {
						t.Fatalf("%d records from the one-per-line file, want %d", len(want), len(values)-1)
					}
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: records differ from the one-per-line file:\n got %q\nwant %q", f.Name, got, want)
				}
				malformed := uint64(1)
				if strings.Contains(f.Name, "garbage first line") {
					malformed++
					if !strings.Contains(log, path+":1:") {
						t.Errorf("%s: the garbage first line is not reported at %s:1:\n%s", f.Name, path, log)
					}
				}
				if st.Malformed != malformed || st.Truncated != 0 {
					t.Errorf("%s: %d malformed, %d truncated; want %d, 0", f.Name, st.Malformed, st.Truncated, malformed)
				}
				if at := fmt.Sprintf("%s:%d:", path, f.Lines[mid]); !strings.Contains(log, at) {
					t.Errorf("%s: the bad document is not reported at %s:\n%s", f.Name, at, log)
				}
			}
		})
	}
}
