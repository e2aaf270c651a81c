package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// startRelayVerb runs `flowfence relay` with args (plus --listen
// 127.0.0.1:0) in a child process until the test ends and returns the
// address it serves on.
func startRelayVerb(t *testing.T, args ...string) string {
	t.Helper()
	cmd := mainCommand(append([]string{"relay", "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		for {
			n, err := stderr.Read(buf)
			seen.Write(buf[:n])
			if i := strings.Index(seen.String(), ", on "); i >= 0 {
				rest := seen.String()[i+len(", on "):]
				if j := strings.Index(rest, " ("); j >= 0 {
					addr <- rest[:j]
					_, _ = io.Copy(io.Discard, stderr)
					return
				}
			}
			if err != nil {
				close(addr)
				return
			}
		}
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("relay ended without serving")
		}
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("relay did not start")
	}
	return ""
}

// TestRebasedRelaySinceOneHour: the README's live demo. `flowfence relay
// --rebase` moves the recording to end now, so `learn --since 1h` learns
// the recording's last hour: exactly the flows the files hold in their
// last hour.
func TestRebasedRelaySinceOneHour(t *testing.T) {
	addr := startRelayVerb(t, "--from", "../../testdata/flows/*.json*", "--rebase")
	graph := filepath.Join(t.TempDir(), "graph.json")
	code, stderr := runMain(t, "learn", "--from", "hubble://"+addr, "--graph", graph, "--since", "1h")
	if code != 0 {
		t.Fatalf("learn --since 1h: exit %d\n%s", code, stderr)
	}
	g := readGraph(graph)
	if g == nil || g.Stats.Records == 0 {
		t.Fatalf("learn --since 1h against a rebased recording learned nothing:\n%s", stderr)
	}
	if now := time.Now(); g.Last.After(now) || now.Sub(g.Last) > time.Hour {
		t.Errorf("newest flow learned at %s: want within the last hour before %s", g.Last, now)
	}
	// the files' last hour (the rebase moves by whole seconds: allow the
	// flows of the one second at the edge of the hour)
	_, last := relaytest.Sample(t).Span()
	lo, _, err := pipeline.Learn(context.Background(), []string{relaytest.SampleGlob()}, pipeline.LearnOptions{Since: last.Add(-time.Hour + time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hi, _, err := pipeline.Learn(context.Background(), []string{relaytest.SampleGlob()}, pipeline.LearnOptions{Since: last.Add(-time.Hour - 2*time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Stats.Records < lo.Stats.Records || g.Stats.Records > hi.Stats.Records {
		t.Errorf("learned %d records; the files' last hour holds %d..%d", g.Stats.Records, lo.Stats.Records, hi.Stats.Records)
	}
}
