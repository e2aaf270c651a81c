package hubblerelay_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestLiveGraphIsTheFilesGraph: `learn --from hubble://` against a relay
// replaying the sample writes, cursors and source names aside, the very graph file that
// `learn --from` the sample's files writes, byte for byte: the live path's
// receive codec and wire decoder agree with the file path on everything a
// graph holds.
func TestLiveGraphIsTheFilesGraph(t *testing.T) {
	r := relaytest.Start(t, relaytest.Sample(t), relay.Options{}, nil)
	dir := t.TempDir()
	write := func(name string, from string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		g, sum, err := pipeline.Learn(ctx, []string{from}, pipeline.LearnOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Input.FlowEvents != sampleFlows {
			t.Fatalf("%s: %d flows, want %d", from, sum.Input.FlowEvents, sampleFlows)
		}
		return graphBytes(t, filepath.Join(dir, name), g)
	}
	files := write("files.json", relaytest.SampleGlob())
	live := write("live.json", "hubble://"+r.Addr)
	sameBytes(t, "live", live, "files", files)
	t.Logf("%d bytes alike", len(live))
}
