package calico_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
	"github.com/flowfence/flowfence/record"
)

// recordKey is what the learner takes from a record, as one comparable
// line.
func recordKey(r *record.Record) string {
	ep := func(e record.Endpoint) string {
		return fmt.Sprintf("%s/%s/%s[%s] %s:%d %v", e.Namespace, e.Pod, e.WorkloadName, e.Entity, e.IP, e.Port, e.Labels)
	}
	return fmt.Sprintf("%s %s -> %s %v %v %v %v %d", r.Time.Format(time.RFC3339), ep(r.Src), ep(r.Dst), r.Proto, r.Verdict, r.Reporter, r.Delivered, r.Flows())
}

// runLogged reads path as flowfence does (detected, not strict), with the
// warnings captured.
func runLogged(t *testing.T, path string, workers int) ([]string, *collectors.Stats, string) {
	t.Helper()
	var logs bytes.Buffer
	opts := collectors.Options{Workers: workers, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	var got []string
	st, err := collectorstest.Run(t, path, collectors.FormatCalicoFlowLog, calico.NewFileSource, opts, func(r *record.Record) error {
		got = append(got, recordKey(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st, logs.String()
}

// TestEveryFraming: Felix flow-log lines and Elasticsearch hits give the
// same records in every JSON framing, with a bad document in the middle
// reported at the line it starts on and the rest kept.
func TestEveryFraming(t *testing.T) {
	for _, name := range []string{"felix.jsonl", "es-hits.jsonl"} {
		t.Run(name, func(t *testing.T) {
			want := inputtest.CheckEveryFraming(t, filepath.Join("testdata", "framing", name), `{"reporter":"dst","source_type":5}`, []int{1, 3},
				func(t *testing.T, path string, workers int) ([]string, uint64, uint64, string) {
					got, st, log := runLogged(t, path, workers)
					return got, st.Malformed, st.Truncated, log
				})
			// the fourth document (dest_port 0 from the internet) is
			// skipped: a record without a destination port
			if len(want) != 3 {
				t.Errorf("%d records from the one-per-line file, want 3", len(want))
			}
		})
	}
}
