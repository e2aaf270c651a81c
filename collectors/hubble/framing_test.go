package hubble_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
)

// TestEveryFraming: the records of each Hubble shape (exporter lines,
// `hubble observe -o json` GetFlowsResponse lines and their protojson
// camelCase spelling, bare legacy flows) are the same in every JSON
// framing, with a bad document in the middle reported at the line it
// starts on and the rest kept, on one and on several workers.
func TestEveryFraming(t *testing.T) {
	for _, name := range []string{"exporter.jsonl", "observe.jsonl", "observe-camelcase.jsonl", "legacy.jsonl"} {
		t.Run(name, func(t *testing.T) {
			want := inputtest.CheckEveryFraming(t, filepath.Join("testdata", "framing", name), `{"flow":{"verdict":12.5}}`, []int{1, 3},
				func(t *testing.T, path string, workers int) ([]string, uint64, uint64, string) {
					out := runFile(t, path, false, workers)
					if out.err != nil || out.openErr != nil {
						t.Fatalf("Run: %v %v", out.err, out.openErr)
					}
					if out.st.Malformed > 0 && !strings.Contains(out.log, "verdict") {
						t.Errorf("the bad document's report does not say what is wrong:\n%s", out.log)
					}
					var got []string
					for i := range out.recs {
						got = append(got, collectorstest.RecordKey(&out.recs[i]))
					}
					return got, out.st.Malformed, out.st.Truncated, out.log
				})
			if len(want) == 0 {
				t.Error("no record learned from the one-per-line file")
			}
		})
	}
}

// TestDetectEveryFraming: format detection sees Hubble in every framing.
func TestDetectEveryFraming(t *testing.T) {
	for _, f := range inputtest.Framings(inputtest.Values(t, filepath.Join("testdata", "framing", "observe.jsonl"))) {
		if f.Gzip {
			continue // detection sees decompressed bytes
		}
		if got := collectors.Detect(f.Data[:min(len(f.Data), 8192)]); got != collectors.FormatHubble {
			t.Errorf("%s: Detect = %q, want %q", f.Name, got, collectors.FormatHubble)
		}
	}
}
