package hubblerelay_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// sampleFlows is how many flow events the sample holds (what a complete
// window receives).
const sampleFlows = 2614

// run runs a live source into one learner; onFlow (if any) sees the count
// of flows so far after each one (fault injection).
func run(t *testing.T, ctx context.Context, url string, opts hubblerelay.Options, onFlow func(n int)) (*learner.Graph, *hubblerelay.Report, error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = newLogger()
	}
	src, err := hubblerelay.New(url, opts)
	if err != nil {
		return nil, nil, err
	}
	l := learner.New(learner.Options{})
	var st collectors.Stats
	n := 0
	err = src.Run(ctx, &st, func(r *record.Record) error {
		l.Add(r)
		n++
		if onFlow != nil {
			onFlow(n)
		}
		return nil
	})
	return l.Graph(), src.Report(), err
}

func TestWindows(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	since := time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC)
	until := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	touches := func(g *learner.Graph, ns string) bool {
		for k := range g.Edges {
			if !strings.HasPrefix(k.Src, "pod:"+ns+"/") && !strings.HasPrefix(k.Dst, "pod:"+ns+"/") {
				return false
			}
		}
		return len(g.Edges) > 0
	}
	tests := []struct {
		name  string
		opts  hubblerelay.Options
		want  *learner.Graph // the graph learned from the files, when it must be equal
		check func(t *testing.T, g *learner.Graph, rep *hubblerelay.Report)
	}{
		{name: "everything the relay buffers", want: fromFiles(t, time.Time{}, time.Time{}),
			check: func(t *testing.T, _ *learner.Graph, rep *hubblerelay.Report) {
				if rep.Flows != sampleFlows || rep.Ended != "window complete" || rep.Reconnects != 0 {
					t.Errorf("flows %d ended %q reconnects %d", rep.Flows, rep.Ended, rep.Reconnects)
				}
			}},
		{name: "since and until", opts: hubblerelay.Options{Since: since, Until: until}, want: fromFiles(t, since, until)},
		{name: "namespace filter", opts: hubblerelay.Options{Namespaces: []string{"shop"}},
			check: func(t *testing.T, g *learner.Graph, _ *hubblerelay.Report) {
				if !touches(g, "shop") {
					t.Errorf("an edge does not touch namespace shop (or none learned): %v", edgeCounts(g))
				}
			}},
		{name: "not-namespace filter drops flows inside the namespace only", opts: hubblerelay.Options{NotNamespaces: []string{"kube-system"}},
			check: func(t *testing.T, g *learner.Graph, _ *hubblerelay.Report) {
				dns := false
				for k := range g.Edges {
					if strings.HasPrefix(k.Src, "pod:kube-system/") && strings.HasPrefix(k.Dst, "pod:kube-system/") {
						t.Errorf("edge inside kube-system learned: %s", k)
					}
					dns = dns || (strings.HasPrefix(k.Dst, "pod:kube-system/") && k.Port == 53)
				}
				if !dns {
					t.Error("DNS to kube-system no longer learned: the exclusion dropped flows crossing into the namespace")
				}
			}},
		{name: "verdict filter", opts: hubblerelay.Options{Verdicts: []string{"dropped"}},
			check: func(t *testing.T, g *learner.Graph, _ *hubblerelay.Report) {
				all := edgeCounts(g)
				if len(all) == 0 {
					t.Fatal("no dropped flow learned")
				}
				for _, m := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
					for k, e := range m {
						if e.Flows != 0 {
							t.Errorf("%s: %d forwarded flows with --verdict DROPPED", k, e.Flows)
						}
					}
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			g, rep, err := run(t, ctx, "hubble://"+r.Addr, tc.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				sameGraph(t, g, tc.want)
			}
			if tc.check != nil {
				tc.check(t, g, rep)
			}
		})
	}
}

// TestDuration observes a relay replaying in real time (24 h of flows in
// 4 s) for one second: the window ends by itself, nil error, part of the
// flows.
func TestDuration(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{Pace: relay.Realtime, Speed: 86400 / 4}, nil)
	start := time.Now()
	_, rep, err := run(t, context.Background(), "hubble://"+r.Addr, hubblerelay.Options{Duration: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if rep.Ended != "--duration elapsed" || took < time.Second || took > 5*time.Second {
		t.Errorf("ended %q after %s, want --duration elapsed after about 1s", rep.Ended, took)
	}
	if rep.Flows == 0 || rep.Flows >= sampleFlows {
		t.Errorf("%d flows in a 1 s window of a 4 s replay", rep.Flows)
	}
}

// TestInterrupt: Ctrl-C (the context from main cancelled) ends a --follow
// window cleanly: Learn returns the graph, no error.
func TestInterrupt(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := pipeline.LearnOptions{Live: pipeline.LiveOptions{
		Relay:         hubblerelay.Options{Follow: true, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		ProgressEvery: 10 * time.Millisecond,
		Progress: func(p pipeline.Progress) {
			if p.Flows == sampleFlows {
				cancel() // everything arrived: the user presses Ctrl-C
			}
		},
	}}
	done := make(chan struct{})
	var g *learner.Graph
	var sum *pipeline.Summary
	var err error
	go func() { g, sum, err = pipeline.Learn(ctx, []string{"hubble://" + r.Addr}, opts, nil); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a followed window did not end on cancel")
	}
	if err != nil {
		t.Fatalf("interrupted window: %v (want nil: a deliberate end)", err)
	}
	sameGraph(t, g, fromFiles(t, time.Time{}, time.Time{}))
	if len(sum.Live) != 1 || sum.Live[0].(*hubblerelay.Report).Ended != "interrupted" {
		t.Errorf("summary %+v, want one live window ended by interruption", sum.Live)
	}
	if c, err := hubblerelay.DecodeCursor(r.Addr, g.Cursors["hubble://"+r.Addr]); err != nil || c.Empty() {
		t.Error("the learned graph carries no cursor for the relay")
	}
}

// TestFaults breaks the stream in every way and checks the learned graph
// is the one learned from the files: no flow counted twice, none lost
// beyond what lost_events reports.
func TestFaults(t *testing.T) {
	rec := relaytest.Sample(t)
	want := fromFiles(t, time.Time{}, time.Time{})
	var killed atomic.Bool
	tests := []struct {
		name  string
		relay relay.Options
		opts  hubblerelay.Options
		// fault runs when the relay has sent n events (whatever the
		// transport buffered on the way).
		fault    func(r *relaytest.Relay, p *relaytest.Proxy, n uint64)
		wantLost uint64 // events lost beyond the 15 the sample records
		check    func(t *testing.T, rep *hubblerelay.Report)
	}{
		{name: "relay cuts the stream every 300 events", relay: relay.Options{CutAfter: 300},
			check: func(t *testing.T, rep *hubblerelay.Report) {
				if rep.Reconnects < 8 || rep.Resent == 0 {
					t.Errorf("%d reconnects, %d resent flows dropped; want ≥ 8 and some", rep.Reconnects, rep.Resent)
				}
			}},
		{name: "connection cut by the network", fault: func(_ *relaytest.Relay, p *relaytest.Proxy, n uint64) {
			if n == 700 || n == 1800 {
				go p.Cut()
			}
		}, check: func(t *testing.T, rep *hubblerelay.Report) {
			if rep.Reconnects < 1 || len(rep.Gaps) < 1 || len(rep.Gaps) > rep.Reconnects {
				t.Errorf("%d reconnects, %d gaps", rep.Reconnects, len(rep.Gaps))
			}
		}},
		{name: "relay killed and restarted mid-window", fault: func(r *relaytest.Relay, _ *relaytest.Proxy, n uint64) {
			if n == 1000 && !killed.Swap(true) { // once: the restarted relay counts again
				go func() { r.Kill(); time.Sleep(300 * time.Millisecond); r.Restart() }()
			}
		}, check: func(t *testing.T, rep *hubblerelay.Report) {
			// under load a reconnect attempt may fail while the relay is down
			// and open a second gap: what matters is that one gap spans the
			// outage (and that the graph above is exact)
			if _, longest := rep.Gap(); len(rep.Gaps) < 1 || longest < 250*time.Millisecond {
				t.Errorf("%d reconnects, longest gap %s; want ≥ 1 and about the 300 ms the relay was down", rep.Reconnects, longest)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fault atomic.Pointer[func(uint64)]
			ropts := tc.relay
			ropts.OnSent = func(n uint64) {
				if f := fault.Load(); f != nil {
					(*f)(n)
				}
			}
			r := relaytest.Start(t, rec, ropts, nil)
			p := relaytest.StartProxy(t, r.Addr)
			if tc.fault != nil {
				f := func(n uint64) { tc.fault(r, p, n) }
				fault.Store(&f)
			}
			opts := tc.opts
			opts.Backoff, opts.MaxReconnects = fastBackoff(), 20
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			g, rep, err := run(t, ctx, "hubble://"+p.Addr, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameGraph(t, g, want)
			if rep.LostEvents != 15+tc.wantLost {
				t.Errorf("lost events %d, want %d", rep.LostEvents, 15+tc.wantLost)
			}
			if tc.check != nil {
				tc.check(t, rep)
			}
		})
	}
}

// TestLostEvents: events the relay loses are reported, and only those
// are missing.
func TestLostEvents(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{LoseEvery: 100}, nil)
	g, rep, err := run(t, context.Background(), "hubble://"+r.Addr, hubblerelay.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lost := rep.LostEvents - 15
	if lost == 0 || rep.Flows+lost != sampleFlows {
		t.Errorf("%d flows + %d lost, want %d", rep.Flows, lost, sampleFlows)
	}
	if g.Stats.Records != rep.Flows {
		t.Errorf("learned %d records of %d flows received", g.Stats.Records, rep.Flows)
	}
}

// TestGivesUp: a relay gone for good ends the window with an error after
// --max-reconnects, naming the relay, with the hint.
func TestGivesUp(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	opts := hubblerelay.Options{Follow: true, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Backoff: fastBackoff(), MaxReconnects: 3}
	var killed atomic.Bool
	_, rep, err := run(t, context.Background(), "hubble://"+r.Addr, opts, func(n int) {
		if n == 500 && !killed.Swap(true) {
			go r.Kill()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 reconnects") || !strings.Contains(err.Error(), r.Addr) || !strings.Contains(err.Error(), "cilium hubble port-forward") {
		t.Fatalf("error %v: want it to give up after 3 reconnects, name %s and hint at port-forward", err, r.Addr)
	}
	if rep.Reconnects != 3 {
		t.Errorf("%d reconnects, want 3", rep.Reconnects)
	}
}

func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	start := time.Now()
	_, _, err = run(t, context.Background(), "hubble://"+addr, hubblerelay.Options{Follow: true}, nil)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	for _, want := range []string{addr, "connection refused", "is Hubble Relay reachable? try `cilium hubble port-forward`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to report an unreachable relay", time.Since(start))
	}
}

func TestTLS(t *testing.T) {
	_, certs, plain, tlsRelay, mtlsRelay := tlsRelays(t)
	client := hubblerelay.TLSOptions{CAFiles: []string{certs.CA}, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
	tests := []struct {
		name    string
		url     string
		tls     hubblerelay.TLSOptions
		wantErr []string
		wantLog string
	}{
		{name: "TLS verified by the CA", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}}},
		{name: "TLS with a server name", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}, ServerName: relaytest.ServerName}},
		{name: "mTLS", url: "hubble+tls://" + mtlsRelay.Addr, tls: client},
		{name: "wrong CA", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.OtherCA}},
			wantErr: []string{tlsRelay.Addr, "certificate", "--tls-ca-cert-files"}},
		{name: "system roots do not know a private CA", url: "hubble+tls://" + tlsRelay.Addr,
			wantErr: []string{"certificate", "--tls-ca-cert-files"}},
		{name: "wrong server name", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}, ServerName: "other.example"},
			wantErr: []string{"certificate", "--tls-server-name"}},
		{name: "mTLS without a client certificate", url: "hubble+tls://" + mtlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}},
			wantErr: []string{mtlsRelay.Addr, "certificate"}},
		{name: "insecure is loud", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{AllowInsecure: true},
			wantLog: "NOT verified"},
		{name: "TLS to a plaintext relay", url: "hubble+tls://" + plain.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}},
			wantErr: []string{plain.Addr, "cannot reach Hubble Relay"}},
		{name: "TLS options for a plaintext URL", url: "hubble://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.CA}},
			wantErr: []string{"TLS options given for a plaintext relay", "hubble+tls://"}},
		{name: "missing CA file", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.Dir + "/nope.pem"}},
			wantErr: []string{"--tls-ca-cert-files", "nope.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := newLogger()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, rep, err := run(t, ctx, tc.url, hubblerelay.Options{TLS: tc.tls, Logger: log}, nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if rep.Flows != sampleFlows {
					t.Errorf("%d flows, want %d", rep.Flows, sampleFlows)
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log %q does not warn %q", logs.String(), tc.wantLog)
			}
		})
	}
}

// TestTruncation: a since/until window whose start the nodes' ring
// buffers no longer hold is reported, per node.
func TestTruncation(t *testing.T) {
	rec := relaytest.Sample(t)
	since := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		buffer int
		opts   hubblerelay.Options
		want   []string
	}{
		{name: "buffers hold the window", buffer: 0, opts: hubblerelay.Options{Since: since}},
		{name: "buffers full, window older", buffer: 100, opts: hubblerelay.Options{Since: since},
			want: []string{"node node-a: ring buffer full (100/100 flows)", "node node-b", "node node-c", "after --since 2026-11-15T00:00:00Z"}},
		{name: "everything buffered, buffers full", buffer: 100,
			want: []string{"node node-a: ring buffer full (100/100 flows): only its flows since"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := relaytest.Start(t, rec, relay.Options{BufferSize: tc.buffer}, nil)
			_, rep, err := run(t, context.Background(), "hubble://"+r.Addr, tc.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			msg := strings.Join(rep.Truncated, "\n")
			if len(tc.want) == 0 && msg != "" {
				t.Errorf("truncation reported for a complete window: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("truncation report %q does not say %q", msg, w)
				}
			}
			if tc.buffer > 0 && rep.Flows > uint64(3*tc.buffer) {
				t.Errorf("%d flows from buffers of %d per node", rep.Flows, tc.buffer)
			}
		})
	}
}

// TestSlowConsumer: a reader slower than the replay falls behind by more
// than the ring holds: the relay skips and says so (lost_events), the
// window goes on, and flows + lost account for every recorded flow.
func TestSlowConsumer(t *testing.T) {
	rec := relaytest.Sample(t)
	// the replay starts once the client is connected: the buffers hold
	// the whole start of the window
	r := relaytest.Start(t, rec, relay.Options{Pace: relay.Realtime, Speed: 86400 / 3, BufferSize: 50, Delay: time.Second}, nil)
	first, _ := rec.Span()
	// flow-control windows scaled down with the sample: the client's
	// default windows (MiBs) would take in the whole 2,614-flow sample
	// while the consumer sleeps, as they take in a few seconds of a real
	// cluster's flows; a real consumer that falls behind by more than its
	// windows, the source's own batches (up to 2 × 1024 flows) and the ring
	// meets the same skipping
	small := []grpc.DialOption{grpc.WithInitialWindowSize(64 << 10), grpc.WithInitialConnWindowSize(64 << 10)}
	// the replay takes about 4 s (1 s delay, 3 s of pacing); the consumer
	// learns its first 300 flows in 3 s, while the replay sends them all.
	// The window is wall-clock, so it leaves room for a loaded machine to
	// deliver the end of the replay before it closes
	opts := hubblerelay.Options{Since: first, Duration: 15 * time.Second, DialOptions: small}
	_, rep, err := run(t, context.Background(), "hubble://"+r.Addr, opts, func(n int) {
		if n < 300 {
			time.Sleep(10 * time.Millisecond)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// the sample records two lost_events of its own (3 and 12 events);
	// the ring may overwrite either, and then counts it as one event
	const recordedLost = 15
	lost := rep.LostEvents - min(rep.LostEvents, recordedLost)
	if lost == 0 {
		t.Fatalf("no lost_events from a consumer 3 s behind a 150-flow ring (flows %d)", rep.Flows)
	}
	// lost counts events (the 3 recorded non-flow events may be among
	// them); flows the ring had already overwritten when the stream opened
	// are missing from the start of the window: reported as truncation.
	// Subtracting the recorded losses takes up to 14 too many when the
	// ring dropped one of those lines.
	total := rep.Flows + lost
	if total > sampleFlows+3 || total < sampleFlows-150 || (total < sampleFlows-(recordedLost-1) && len(rep.Truncated) == 0) {
		t.Errorf("%d flows + %d lost = %d, want the %d recorded flows (or fewer, reported as truncation: %q)", rep.Flows, lost, total, sampleFlows, rep.Truncated)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, addr, name string
		tls            bool
		err            bool
	}{
		{in: "hubble://", addr: "localhost:4245", name: "hubble://localhost:4245"},
		{in: "hubble://relay.example:443", addr: "relay.example:443", name: "hubble://relay.example:443"},
		{in: "hubble+tls://relay.example", addr: "relay.example:4245", tls: true, name: "hubble+tls://relay.example:4245"},
		{in: "hubble://[::1]:4245", addr: "[::1]:4245", name: "hubble://[::1]:4245"},
		{in: "hubble://127.0.0.1:4245/", addr: "127.0.0.1:4245", name: "hubble://127.0.0.1:4245"},
		{in: "hubble://host:4245/path", err: true},
		{in: "goldmane://host:443", err: true},
	}
	for _, tc := range tests {
		addr, useTLS, name, err := hubblerelay.ParseURL(tc.in)
		if (err != nil) != tc.err || addr != tc.addr || useTLS != tc.tls || name != tc.name {
			t.Errorf("ParseURL(%q) = %q %v %q %v", tc.in, addr, useTLS, name, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := hubblerelay.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: -1}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, b.Delay(n, nil))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
}
