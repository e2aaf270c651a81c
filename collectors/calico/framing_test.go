package calico_test

import (
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/collectorstest"
)

// TestEveryFraming: Felix flow-log lines and Elasticsearch hits give the
// same records in every JSON framing, with a bad document in the middle
// reported at the line it starts on and the rest kept.
func TestEveryFraming(t *testing.T) {
	for _, name := range []string{"felix.jsonl", "es-hits.jsonl"} {
		t.Run(name, func(t *testing.T) {
			want := collectorstest.CheckEveryFraming(t, filepath.Join("testdata", "framing", name), `{"reporter":"dst","source_type":5}`, []int{1, 3},
				collectors.FormatCalicoFlowLog, calico.NewFileSource)
			// the fourth document (dest_port 0 from the internet) is
			// skipped: a record without a destination port
			if len(want) != 3 {
				t.Errorf("%d records from the one-per-line file, want 3", len(want))
			}
		})
	}
}
