package hubblerelay_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// logBuf is a log sink safe for concurrent writes.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuf) {
	var b logBuf
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo})), &b
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
