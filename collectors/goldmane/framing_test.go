package goldmane_test

import (
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
)

// TestEveryFraming: protojson Flows and FlowResults give the same records
// in every JSON framing, with a bad document in the middle reported at the
// line it starts on and the rest kept, on one and on several workers.
func TestEveryFraming(t *testing.T) {
	for _, name := range []string{"flows.jsonl", "flowresults.jsonl"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "framing", name)
			want := collectorstest.CheckEveryFraming(t, file, `{"Key":{"sourceName":5}}`, []int{1, 3}, collectors.FormatGoldmane, goldmane.NewFileSource)
			if n := len(inputtest.Values(t, file)); len(want) != n {
				t.Errorf("%d records from the one-per-line file, want %d", len(want), n)
			}
		})
	}
}
