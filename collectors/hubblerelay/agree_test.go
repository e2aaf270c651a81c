package hubblerelay_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
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
		// what differs by design: where the live window got to (files have
		// no cursor) and the names of the sources (the files' names, the
		// relay's URL)
		g.Cursors = nil
		for _, m := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
			for _, e := range m {
				e.Sources = nil
			}
		}
		path := filepath.Join(dir, name)
		if err := pipeline.WriteGraphFile(path, g); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files := write("files.json", relaytest.SampleGlob())
	live := write("live.json", "hubble://"+r.Addr)
	if !bytes.Equal(live, files) {
		i := 0
		for i < min(len(live), len(files)) && live[i] == files[i] {
			i++
		}
		lo := max(0, i-200)
		t.Fatalf("graph files differ from byte %d:\n live  …%s…\n files …%s…", i, live[lo:min(len(live), i+200)], files[lo:min(len(files), i+200)])
	}
	t.Logf("%d bytes alike", len(live))
}
