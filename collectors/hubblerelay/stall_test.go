package hubblerelay_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
	"github.com/flowfence/flowfence/synth"
)

// stallFirst stalls the first GetFlows stream after n events.
func stallFirst(n int) func(int) (int, bool) {
	return func(stream int) (int, bool) { return n, stream == 1 }
}

// TestStalledStream: a relay that accepts a bounded window's stream, sends
// part of it and then holds the stream open sending nothing does not hang
// the window: the silence is a stall, the stream is cancelled and resumed
// from the cursor, and the window ends with every flow counted once.
func TestStalledStream(t *testing.T) {
	rec := relaytest.Sample(t)
	want := fromFiles(t, time.Time{}, time.Time{})
	r := relaytest.Start(t, rec, relay.Options{StallAfter: stallFirst(1000)}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	g, rep, err := run(t, ctx, "hubble://"+r.Addr, hubblerelay.Options{IdleTimeout: 300 * time.Millisecond, Backoff: fastBackoff(), MaxReconnects: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stalled window took %s to finish", took)
	}
	sameGraph(t, g, want)
	if rep.Stalls != 1 || rep.Reconnects != 1 || rep.Flows != sampleFlows || rep.Ended != "window complete" || rep.CutShort != "" {
		t.Errorf("stalls %d, reconnects %d, flows %d, ended %q, cut short %q; want 1 stall, 1 reconnect, %d flows, a complete window",
			rep.Stalls, rep.Reconnects, rep.Flows, rep.Ended, rep.CutShort, sampleFlows)
	}
}

// TestStallCutsWindowShort: a relay that stalls on every stream after the
// first 1000 events: reconnects run out, and the window ends cut short with
// the flows received before the stall kept, the reason in the report and
// an error wrapping ErrCutShort.
func TestStallCutsWindowShort(t *testing.T) {
	rec := relaytest.Sample(t)
	var sentFirst atomic.Uint64
	r := relaytest.Start(t, rec, relay.Options{StallAfter: func(stream int) (int, bool) {
		if stream == 1 {
			return 1000, true
		}
		return 0, true // every reconnect: accepted, then nothing
	}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	g, rep, err := run(t, ctx, "hubble://"+r.Addr, hubblerelay.Options{IdleTimeout: 200 * time.Millisecond, Backoff: fastBackoff(), MaxReconnects: 2}, func(n int) { sentFirst.Store(uint64(n)) })
	if !errors.Is(err, hubblerelay.ErrCutShort) {
		t.Fatalf("error %v: want it to wrap ErrCutShort", err)
	}
	for _, w := range []string{r.Addr, "window cut short", "gave up after 2 reconnects", "sent nothing for 200ms", "--idle-timeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s to give up", took)
	}
	if rep.Flows == 0 || rep.Flows != sentFirst.Load() || g.Stats.Records != rep.Flows || rep.Flows > 1000 {
		t.Errorf("report %d flows, emitted %d, learned %d records; want the (at most 1000) flows sent before the stall, all kept", rep.Flows, sentFirst.Load(), g.Stats.Records)
	}
	if !strings.HasPrefix(rep.Ended, "window cut short: gave up after 2 reconnects") || rep.CutShort == "" || rep.Stalls != 3 {
		t.Errorf("ended %q, cut short %q, %d stalls; want the window cut short after 3 stalls", rep.Ended, rep.CutShort, rep.Stalls)
	}
}

// TestQuietFollowIsNotAStall: a followed window on a quiet relay (the
// recording sent, nothing more coming) is not ended by the idle timeout:
// the relay answers ServerStatus, so the stream is only quiet.
func TestQuietFollowIsNotAStall(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	first, _ := rec.Span()
	_, rep, err := run(t, context.Background(), "hubble://"+r.Addr, hubblerelay.Options{Since: first, Duration: 1500 * time.Millisecond,
		IdleTimeout: 200 * time.Millisecond, Backoff: fastBackoff(), MaxReconnects: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stalls != 0 || rep.Reconnects != 0 || rep.Flows != sampleFlows || rep.Ended != "--duration elapsed" {
		t.Errorf("stalls %d, reconnects %d, flows %d, ended %q; want a quiet stream kept to the end of --duration", rep.Stalls, rep.Reconnects, rep.Flows, rep.Ended)
	}
}

// TestBlackHoledFollow: a followed window whose connection goes dead
// without closing (the proxy holds every byte) is caught: after the idle
// timeout the relay does not answer ServerStatus, the stream is a stall,
// and the window reconnects on a new connection and goes on.
func TestBlackHoledFollow(t *testing.T) {
	rec := relaytest.Sample(t)
	var froze atomic.Bool
	var p atomic.Pointer[relaytest.Proxy]
	r := relaytest.Start(t, rec, relay.Options{Pace: relay.Realtime, Speed: 86400 / 4, OnSent: func(n uint64) {
		if n == 500 && !froze.Swap(true) {
			go p.Load().Freeze()
		}
	}}, nil)
	p.Store(relaytest.StartProxy(t, r.Addr))
	first, _ := rec.Span()
	_, rep, err := run(t, context.Background(), "hubble://"+p.Load().Addr, hubblerelay.Options{Since: first, Duration: 6 * time.Second,
		IdleTimeout: 300 * time.Millisecond, ProbeTimeout: 300 * time.Millisecond, Backoff: fastBackoff(), MaxReconnects: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stalls < 1 || rep.Reconnects < 1 || rep.Flows != sampleFlows {
		t.Errorf("stalls %d, reconnects %d, flows %d; want the frozen connection detected, a reconnect and all %d flows", rep.Stalls, rep.Reconnects, rep.Flows, sampleFlows)
	}
}

// TestCutShortKeepsTheOtherRelays: of two relays learned together, one
// stalls for good: pipeline.Learn still returns the graph of both (the
// healthy relay's window is not cancelled), with an *IncompleteError
// naming the one cut short, and the tree rendered from it says so in
// ROLLOUT.md.
func TestCutShortKeepsTheOtherRelays(t *testing.T) {
	rec := relaytest.Sample(t)
	good := relaytest.Start(t, rec, relay.Options{}, nil)
	bad := relaytest.Start(t, rec, relay.Options{StallAfter: func(stream int) (int, bool) {
		if stream == 1 {
			return 500, true
		}
		return 0, true
	}}, nil)
	opts := pipeline.LearnOptions{Live: pipeline.LiveOptions{Relay: hubblerelay.Options{IdleTimeout: 200 * time.Millisecond, Backoff: fastBackoff(), MaxReconnects: 1}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, sum, err := pipeline.Learn(ctx, []string{"hubble://" + good.Addr, "hubble://" + bad.Addr}, opts, nil)
	var inc *pipeline.IncompleteError
	if !errors.As(err, &inc) || g == nil {
		t.Fatalf("error %v, graph %v: want an *IncompleteError with the graph", err, g != nil)
	}
	if cut := sum.CutShort(); len(cut) != 1 || !strings.HasPrefix(cut[0], "hubble://"+bad.Addr+": gave up after 1 reconnects") {
		t.Errorf("cut short %q: want the stalled relay only", cut)
	}
	var flows uint64
	for _, lr := range sum.Live {
		r := lr.(*hubblerelay.Report)
		flows += r.Flows
		if r.Source == "hubble://"+good.Addr && (r.Flows != sampleFlows || r.Ended != "window complete") {
			t.Errorf("healthy relay: %d flows, ended %q; want its whole window", r.Flows, r.Ended)
		}
	}
	if g.Stats.Records != flows || flows <= sampleFlows {
		t.Errorf("learned %d records of %d received; want every flow of both relays", g.Stats.Records, flows)
	}
	_, tree, err := pipeline.RenderLearned(g, sum, synth.Options{}, k8s.Formatter{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tree["ROLLOUT.md"]), "**Window cut short:** "+escape.MarkdownText("hubble://"+bad.Addr)) {
		t.Errorf("ROLLOUT.md does not say the window was cut short:\n%.600s", tree["ROLLOUT.md"])
	}
}
