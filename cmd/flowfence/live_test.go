package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// startMain starts flowfence with args in a child process.
func startMain(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := mainCommand(args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd, &stderr
}

// readGraph reads a graph file, nil while it is absent or being replaced.
func readGraph(path string) *learner.Graph {
	g, err := pipeline.ReadGraphFile(path)
	if err != nil {
		return nil
	}
	return g
}

// waitGraph polls path until ok accepts the graph there.
func waitGraph(t *testing.T, path string, within time.Duration, ok func(*learner.Graph) bool) *learner.Graph {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if g := readGraph(path); g != nil && ok(g) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no suitable graph within %s", path, within)
	return nil
}

func fromSample(t *testing.T) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{relaytest.SampleGlob()}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func counts(g *learner.Graph) string {
	var b strings.Builder
	for _, e := range learner.SortedEdges(g.Edges) {
		fmt.Fprintf(&b, "%s flows=%d dropped=%d\n", e.Key(), e.Flows, e.Dropped)
	}
	for _, e := range learner.SortedEdges(g.Denied) {
		fmt.Fprintf(&b, "denied %s flows=%d dropped=%d\n", e.Key(), e.Flows, e.Dropped)
	}
	s := g.Stats
	fmt.Fprintf(&b, "records=%d requests=%d replies=%d learned=%d denied=%d duplicates=%d nodes=%d\n",
		s.Records, s.Requests, s.Replies, s.Learned, s.DeniedFlows, s.Duplicates, len(g.Nodes))
	return b.String()
}

// TestKillResume: `learn` from a live relay is killed with SIGKILL in the
// middle of its window; its graph file holds the last checkpoint and its
// cursor; `learn` run again with the same file resumes there and ends with
// exactly the counts of the whole recording: nothing lost, nothing twice.
func TestKillResume(t *testing.T) {
	rec := relaytest.Sample(t)
	first, _ := rec.Span()
	// 24 h of flows replayed in 8 s, as they happen
	r := relaytest.Start(t, rec, relay.Options{Pace: relay.Realtime, Speed: 86400 / 8}, nil)
	graph := filepath.Join(t.TempDir(), "graph.json")
	url := "hubble://" + r.Addr
	cmd, stderr := startMain(t, "learn", "--from", url, "--graph", graph, "--follow", "--since", first.Format(time.RFC3339Nano),
		"--checkpoint-interval", "100ms", "--quiet")
	cp := waitGraph(t, graph, 20*time.Second, func(g *learner.Graph) bool { return g.Stats.Records >= 600 && len(g.Cursors[url]) == 1 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := readGraph(graph)
	if killed == nil || killed.Stats.Records < cp.Stats.Records || killed.Stats.Records >= 2614 {
		t.Fatalf("after kill -9 the graph file holds %v records (stderr %q); want a checkpoint mid-window", killed, stderr)
	}
	t.Logf("killed after a checkpoint of %d records, cursor %s", killed.Stats.Records, killed.Cursors[url])

	// the relay comes back with the whole recording buffered
	r.RestartWith(relay.Options{})
	if code, stderr := runMain(t, "learn", "--from", url, "--graph", graph); code != 0 {
		t.Fatalf("resumed learn: exit %d\n%s", code, stderr)
	} else if !strings.Contains(stderr, "resumed after") || !strings.Contains(stderr, "resent flows dropped") {
		t.Errorf("resumed run's summary does not say it resumed:\n%s", stderr)
	}
	got, want := counts(readGraph(graph)), counts(fromSample(t))
	if got != want {
		t.Errorf("resumed graph differs from the recording learned at once:\n--- resumed\n%s--- recording\n%s", got, want)
	}
}

// TestSIGTERMWrites: SIGTERM (or Ctrl-C) ends a --follow window cleanly:
// exit 0, the graph written, the summary printed.
func TestSIGTERMWrites(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	graph := filepath.Join(t.TempDir(), "graph.json")
	url := "hubble://" + r.Addr
	cmd, stderr := startMain(t, "learn", "--from", url, "--graph", graph, "--follow", "--since", "2026-01-01T00:00:00Z", "--checkpoint-interval", "50ms")
	waitGraph(t, graph, 20*time.Second, func(g *learner.Graph) bool { return g.Stats.Records == 2614 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("learn after SIGTERM: %v\n%s", err, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("learn did not end on SIGTERM")
	}
	out := stderr.String()
	for _, want := range []string{"live:      " + url, "interrupted", "graph:     " + graph} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not say %q:\n%s", want, out)
		}
	}
	if got, want := counts(readGraph(graph)), counts(fromSample(t)); got != want {
		t.Errorf("graph written on SIGTERM differs from the recording:\n%s\nwant\n%s", got, want)
	}
}

// TestRelayVerb: `flowfence relay` serves the sample; `flowfence generate
// --from hubble://` learns the same tree over gRPC as from the files.
func TestRelayVerb(t *testing.T) {
	a := startRelayVerb(t, "--from", "../../testdata/flows/*.json*", "--buffer-size", "4095")
	dir := t.TempDir()
	live, files := filepath.Join(dir, "live"), filepath.Join(dir, "files")
	if code, stderr := runMain(t, "generate", "--from", "hubble://"+a, "--out", live); code != 0 || !strings.Contains(stderr, "live:      hubble://"+a+": everything the relay buffers; window complete") {
		t.Fatalf("generate from the relay: exit %d\n%s", code, stderr)
	}
	if code, stderr := runMain(t, "generate", "--quiet", "--from", "../../testdata/flows/*.json*", "--out", files); code != 0 {
		t.Fatalf("generate from the files: exit %d\n%s", code, stderr)
	}
	for _, f := range []string{"shop/cart-ingress.yaml", "shop/frontend-egress.yaml", "ROLLOUT.md"} {
		a, errA := os.ReadFile(filepath.Join(live, f))
		b, errB := os.ReadFile(filepath.Join(files, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the tree learned live and from the files (%v, %v)", f, errA, errB)
		}
	}
}
