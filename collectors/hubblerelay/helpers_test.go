package hubblerelay_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// newLogger is the relay tests' logger (info level) and what it wrote.
func newLogger() (*slog.Logger, *testsupport.LogBuffer) { return testsupport.Logger(slog.LevelInfo) }

// tlsRelays serves the sample from three relays on loopback: plaintext,
// TLS, and TLS requiring a client certificate signed by certs' CA (mTLS).
func tlsRelays(t *testing.T) (rec *relay.Recording, certs *relaytest.Certs, plain, tlsRelay, mtlsRelay *relaytest.Relay) {
	t.Helper()
	rec = relaytest.Sample(t)
	certs = relaytest.NewCerts(t)
	plain = relaytest.Start(t, rec, relay.Options{}, nil)
	tlsRelay = relaytest.Start(t, rec, relay.Options{}, certs.ServerTLS(false))
	mtlsRelay = relaytest.Start(t, rec, relay.Options{}, certs.ServerTLS(true))
	return rec, certs, plain, tlsRelay, mtlsRelay
}

// fromFiles learns the sample files directly: what a live window over
// the same flows must learn.
func fromFiles(t *testing.T, since, until time.Time) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{relaytest.SampleGlob()}, pipeline.LearnOptions{Since: since, Until: until}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// fastBackoff keeps reconnect tests short and their jitter deterministic.
func fastBackoff() hubblerelay.Backoff {
	return hubblerelay.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: 0.2, Seed: 42}
}

// edgeCounts is what a user compares between two graphs: every edge
// (learned and denied) with its flow counts.
func edgeCounts(g *learner.Graph) map[string]string {
	out := map[string]string{}
	for k, e := range g.Edges {
		out[k.String()] = fmt.Sprintf("flows=%d dropped=%d audit=%d", e.Flows, e.Dropped, e.Audit)
	}
	for k, e := range g.Denied {
		out["denied "+k.String()] = fmt.Sprintf("flows=%d dropped=%d", e.Flows, e.Dropped)
	}
	return out
}

// sameGraph fails unless got has the edges, counts and learner stats of
// want.
func sameGraph(t *testing.T, got, want *learner.Graph) {
	t.Helper()
	ge, we := edgeCounts(got), edgeCounts(want)
	var diffs []string
	for k, v := range we {
		if ge[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: got %q want %q", k, ge[k], v))
		}
	}
	for k, v := range ge {
		if _, ok := we[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, not in want", k, v))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("graphs differ in %d edges:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
	gs, ws := got.Stats, want.Stats
	if gs.Records != ws.Records || gs.Requests != ws.Requests || gs.Replies != ws.Replies || gs.Learned != ws.Learned || gs.DeniedFlows != ws.DeniedFlows {
		t.Errorf("stats differ:\n got  %+v\n want %+v", gs, ws)
	}
	if len(got.Nodes) != len(want.Nodes) {
		t.Errorf("%d nodes, want %d", len(got.Nodes), len(want.Nodes))
	}
}

// graphBytes writes g to path as learn writes a graph file and returns the
// bytes, without what differs by design between two ways of learning the
// same flows: where a live window got to (files have no cursor) and the
// names of the sources (the files' names, the relay's URL). g changes.
func graphBytes(t *testing.T, path string, g *learner.Graph) []byte {
	t.Helper()
	g.Cursors = nil
	for _, m := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
		for _, e := range m {
			e.Sources = nil
		}
	}
	if err := pipeline.WriteGraphFile(path, g); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameBytes fails unless the graph files got and want are alike, showing
// where they part.
func sameBytes(t *testing.T, gotName string, got []byte, wantName string, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-200)
	t.Fatalf("graph files differ from byte %d:\n %s  …%s…\n %s …%s…", i, gotName, got[lo:min(len(got), i+200)], wantName, want[lo:min(len(want), i+200)])
}
