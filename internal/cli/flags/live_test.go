package flags

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/pipeline"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p    pipeline.Progress
		want string
	}{
		{pipeline.Progress{Flows: 1234567, Rate: 201234.4, Edges: 43, Nodes: 28, Elapsed: 65 * time.Second, Remaining: 55 * time.Second},
			"live: 1,234,567 flows (201,234/s), 43 edges, 28 nodes, 1m5s elapsed, 55s left"},
		{pipeline.Progress{Flows: 12, Elapsed: time.Second, Checkpoints: 2, Done: true},
			"live: 12 flows (0/s), 0 edges, 0 nodes, 1s elapsed, 2 checkpoints — window closed"},
	}
	for _, tc := range tests {
		if got := ProgressLine(tc.p); got != tc.want {
			t.Errorf("ProgressLine = %q\n want %q", got, tc.want)
		}
	}
}

// TestProgressPrinter: one updating line on a terminal; a plain line every
// 10 s (and at the end) otherwise.
func TestProgressPrinter(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	var term, plain bytes.Buffer
	tp := newProgressPrinter(&term, true, clock)
	pp := newProgressPrinter(&plain, false, clock)
	for i := range 25 {
		now = now.Add(time.Second)
		p := pipeline.Progress{Flows: uint64(i), Done: i == 24}
		tp.print(p)
		pp.print(p)
	}
	if n := strings.Count(term.String(), "\r\033[K"); n != 25 || !strings.HasSuffix(term.String(), "window closed\n") {
		t.Errorf("terminal: %d rewrites, ends %q", n, term.String()[max(0, term.Len()-20):])
	}
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	if len(lines) != 3 || strings.Contains(plain.String(), "\r") {
		t.Errorf("plain output: %d lines (want 2 periodic + the last)\n%s", len(lines), plain.String())
	}
	if Progress(Env{Streams: Streams{Err: &plain}}, true) != nil {
		t.Error("--quiet still prints progress")
	}
}

// TestLiveOptionsGC: the verbs read live windows at the collector target
// pipeline.LiveGC gives (GOGC, when set, stands).
func TestLiveOptionsGC(t *testing.T) {
	t.Setenv("GOGC", "")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	if got := LiveOptions(&config.Config{}, Env{}, nil).GCPercent; got != 200 {
		t.Errorf("GOGC unset: GCPercent %d, want 200", got)
	}
	t.Setenv("GOGC", "80")
	if got := LiveOptions(&config.Config{}, Env{}, nil).GCPercent; got != 0 {
		t.Errorf("GOGC=80: GCPercent %d, want 0 (the user's setting stands)", got)
	}
}
