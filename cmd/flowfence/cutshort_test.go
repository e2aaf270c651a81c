package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// stallingRelay sends the first stream's first 1000 events, then hangs
// every stream: accepted, nothing sent.
func stallingRelay(t *testing.T) *relaytest.Relay {
	return relaytest.Start(t, relaytest.Sample(t), relay.Options{StallAfter: func(stream int) (int, bool) {
		if stream == 1 {
			return 1000, true
		}
		return 0, true
	}}, nil)
}

// TestWindowCutShortStillWrites: a bounded window whose relay stalls and
// never recovers ends within seconds; learn writes the graph of the flows
// received before and generate the tree, both exit 4, and the summary and
// ROLLOUT.md say the window was cut short.
func TestWindowCutShortStillWrites(t *testing.T) {
	first, last := relaytest.Sample(t).Span()
	window := []string{"--since", first.Format(time.RFC3339Nano), "--until", last.Format(time.RFC3339Nano), "--idle-timeout", "300ms", "--max-reconnects", "2"}
	dir := t.TempDir()

	r := stallingRelay(t)
	graph := filepath.Join(dir, "graph.json")
	start := time.Now()
	code, stderr := runMain(t, append([]string{"learn", "--from", "hubble://" + r.Addr, "--graph", graph}, window...)...)
	if code != 4 {
		t.Fatalf("learn: exit %d, want 4 (window cut short)\n%s", code, stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("learn took %s to give up on a stalled relay", took)
	}
	for _, want := range []string{"window cut short: gave up after 2 reconnects", "stream stalled", "was written with the flows received before"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("learn's stderr does not say %q:\n%s", want, stderr)
		}
	}
	g := readGraph(graph)
	if g == nil || g.Stats.Records == 0 || g.Stats.Records > 1000 || len(g.Cursors["hubble://"+r.Addr]) == 0 {
		t.Fatalf("graph written: %+v; want the flows received before the stall (at most 1000) and the cursor", g)
	}

	r2 := stallingRelay(t)
	out := filepath.Join(dir, "policies")
	code, stderr = runMain(t, append([]string{"generate", "--from", "hubble://" + r2.Addr, "--out", out}, window...)...)
	if code != 4 {
		t.Fatalf("generate: exit %d, want 4 (window cut short)\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "window cut short") || !strings.Contains(stderr, "written:   "+out) {
		t.Errorf("generate's summary does not say the window was cut short and the tree written:\n%s", stderr)
	}
	rollout, err := os.ReadFile(filepath.Join(out, "ROLLOUT.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rollout), "**Window cut short:** "+escape.MarkdownText("hubble://"+r2.Addr+": gave up after 2 reconnects")) {
		t.Errorf("ROLLOUT.md does not say the window was cut short:\n%s", rollout)
	}
}
