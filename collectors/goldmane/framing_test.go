package goldmane_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/goldmane"
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
	for _, name := range []string{"flows.jsonl", "flowresults.jsonl"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "framing", name)
			want := inputtest.CheckEveryFraming(t, file, `{"Key":{"sourceName":5}}`, []int{1}, func(t *testing.T, path string, _ int) ([]string, uint64, uint64, string) {
				var logs bytes.Buffer
				var got []string
				opts := collectors.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
				st, err := collectorstest.Run(t, path, collectors.FormatGoldmane, goldmane.NewFileSource, opts, func(r *record.Record) error {
					got = append(got, recordKey(r))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return got, st.Malformed, st.Truncated, logs.String()
			})
			if n := len(inputtest.Values(t, file)); len(want) != n {
				t.Errorf("%d records from the one-per-line file, want %d", len(want), n)
			}
		})
	}
}
