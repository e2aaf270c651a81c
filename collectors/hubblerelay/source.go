package hubblerelay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/record"
)

// Hint is added to every "cannot reach the relay" error.
const Hint = "is Hubble Relay reachable? try `cilium hubble port-forward` (it listens on localhost:4245)"

// Options configure a live source. The zero value reads everything the
// relay buffers, once, over plaintext.
type Options struct {
	TLS TLSOptions
	// Since and Until bound the window in flow time (GetFlows since/until).
	Since, Until time.Time
	// Follow streams new flows until ctx is done (or Duration elapses, or
	// a flow after Until arrives).
	Follow bool
	// Duration observes live for this long (implies Follow).
	Duration time.Duration
	// Namespaces keeps flows from or to pods of these namespaces;
	// NotNamespaces drops flows whose both ends are pods of these
	// namespaces; Verdicts keeps flows with these verdicts (FORWARDED,
	// DROPPED, AUDIT, …). All are server-side FlowFilters.
	Namespaces, NotNamespaces, Verdicts []string
	// MaxReconnects gives up after this many reconnects in a row that
	// brought no new event; negative never gives up, 0 never reconnects.
	// Giving up after flows were received cuts the window short (the
	// error wraps ErrCutShort; what was received is kept).
	MaxReconnects int
	// IdleTimeout is how long a stream may send nothing (0:
	// DefaultIdleTimeout; negative: no limit). A window that is not
	// followed (everything buffered, --since/--until) streams the buffers
	// at once, so silence that long is a stalled stream: it is cancelled
	// and reconnected. A followed window (--follow, --duration) is quiet
	// whenever the cluster is, so after IdleTimeout of silence the relay
	// is asked ServerStatus instead: a relay that answers is quiet and the
	// stream goes on; one that does not answer within ProbeTimeout is
	// stalled.
	IdleTimeout time.Duration
	// ProbeTimeout bounds that ServerStatus call (0: min(IdleTimeout,
	// DefaultProbeTimeout)).
	ProbeTimeout time.Duration
	// Keepalive are the gRPC keepalive pings that detect a dead peer on a
	// quiet connection (zero Time: DefaultKeepaliveTime and
	// DefaultKeepaliveTimeout).
	Keepalive keepalive.ClientParameters
	// Backoff between reconnects.
	Backoff Backoff
	// Shard, when set, learns only the relay's nodes ShardOf gives to
	// Shard.Index: the relay's GetNodes is asked on connecting and on
	// every reconnect, and every GetFlows whitelist filter carries their
	// node_name patterns (shard.go). A shard with no node finishes an
	// unfollowed window empty and waits for nodes in a followed one.
	Shard Shard
	// ShardRelist is how often a followed sharded window lists the nodes
	// again (0: DefaultShardRelist): when the shard's nodes change, the
	// stream is opened again with the new filter, resuming from the
	// cursor; a node that joined is read from the window's start.
	ShardRelist time.Duration
	// Resume is the cursor of an earlier run (from the graph file): flows
	// at or before it are asked again (since = the cursor) and dropped.
	Resume *Cursor
	// Logger receives reconnects and warnings.
	Logger *slog.Logger
	// Monitor hears connects, disconnects, reconnects, lost events and
	// skipped items as they happen (nil: nobody).
	Monitor collectors.Monitor
	// DialOptions are added to the gRPC client's (tests).
	DialOptions []grpc.DialOption
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Backoff is a bounded, jittered exponential backoff.
type Backoff struct {
	// Initial is the first delay (default 200ms), doubled on every attempt
	// up to Max (default 15s).
	Initial, Max time.Duration
	// Jitter spreads each delay by ±Jitter (a fraction; default 0.2).
	Jitter float64
	// Seed makes the jitter deterministic (tests); 0 seeds from the clock.
	Seed uint64
}

// DefaultMaxReconnects is how many reconnects in a row bring nothing before
// a live source gives up.
const DefaultMaxReconnects = 10

// Stall detection defaults.
const (
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultProbeTimeout = 15 * time.Second
)

// DefaultKeepaliveTime and DefaultKeepaliveTimeout: a connection that
// carried nothing for 5 minutes is pinged and closed when the ping is not
// answered within 20 s. Five minutes is the shortest interval a gRPC
// server with the default enforcement policy (Hubble Relay's) accepts:
// more frequent pings on a quiet stream get the connection closed with
// GOAWAY "too_many_pings". No pings without an open stream, which that
// policy forbids as well.
const (
	DefaultKeepaliveTime    = 5 * time.Minute
	DefaultKeepaliveTimeout = 20 * time.Second
)

// ErrCutShort marks the error of a window that ended before its end after
// flows were received (reconnects exhausted, a stream failing for good):
// the flows received are kept; the window is not complete.
var ErrCutShort = collectors.ErrCutShort

// StallError is a stream that sent nothing for the idle timeout (and, in a
// followed window, a relay that did not answer ServerStatus either).
type StallError struct {
	Idle  time.Duration
	Probe error // the failed ServerStatus of a followed window
}

func (e *StallError) Error() string {
	if e.Probe != nil {
		return fmt.Sprintf("stream stalled: nothing for %s (--idle-timeout) and the relay did not answer ServerStatus: %s", e.Idle, escape.Terminal(status.Convert(e.Probe).Message()))
	}
	return fmt.Sprintf("stream stalled: the relay accepted the request and then sent nothing for %s (--idle-timeout)", e.Idle)
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 200 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 15 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Jitter < 0 || b.Jitter >= 1 {
		b.Jitter = 0.2
	}
	return b
}

// Delay returns the delay before reconnect attempt n (1-based), jittered
// with r (nil: no jitter).
func (b Backoff) Delay(n int, r *rand.Rand) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if r != nil && b.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + b.Jitter*(2*r.Float64()-1)))
	}
	return d
}

// Report is what a live window lacked or went through, for the summary.
type Report struct {
	Source string
	// Window says how the window was asked for and how it ended.
	Window, Ended string
	Events        uint64 // events received (flows and others)
	Flows         uint64 // flows passed on (after dropping resent ones)
	// Resent counts flows received again after a reconnect or a resume
	// and dropped (already counted).
	Resent uint64
	// Invalid counts flows rejected by the identity rules (record.Check:
	// a namespace, pod or workload name that is not a valid Kubernetes
	// name).
	Invalid uint64
	// LostEvents the relay reported (ring buffer overflows, unavailable
	// nodes).
	LostEvents uint64
	// Reconnects counts reconnect attempts.
	Reconnects int
	// Stalls counts streams cancelled because they sent nothing for the
	// idle timeout.
	Stalls int
	// CutShort says why the window ended before its end (empty when it
	// did not): the flows received are kept, but the window is partial.
	CutShort string
	// Gaps are the times between a disconnect and the first event after
	// it (one per disconnection, however many attempts it took).
	Gaps []time.Duration
	// Buffer is the relay's status when the window opened: flows held,
	// capacity (0 unknown), per node when the relay lists its nodes.
	Buffer []NodeBuffer
	// Truncated explains why flows of the window are missing from the
	// relays' buffers (empty when the window is complete).
	Truncated []string
	// Oldest is the time of the oldest flow received per node.
	Oldest map[string]time.Time
	// Shard is the shard learned (I/N; "" when every node is), ShardNodes
	// its nodes when the window last listed them and RelayNodes how many
	// nodes the relay listed then.
	Shard      string
	ShardNodes []string
	RelayNodes int
}

// NodeBuffer is one node's (or the whole relay's, Node "") ring buffer.
type NodeBuffer struct {
	Node               string
	NumFlows, MaxFlows uint64
}

// Full reports whether the buffer is at capacity (older flows overwritten).
func (b NodeBuffer) Full() bool { return b.MaxFlows > 0 && b.NumFlows >= b.MaxFlows }

// Gap returns the total and the longest reconnect gap.
func (r *Report) Gap() (total, longest time.Duration) {
	for _, g := range r.Gaps {
		total += g
		longest = max(longest, g)
	}
	return total, longest
}

// SourceName is the relay's URL (collectors.LiveReport).
func (r *Report) SourceName() string { return r.Source }

// CutShortReason says why the window ended early ("" when it did not).
func (r *Report) CutShortReason() string { return r.CutShort }

// SummaryLines are the window's lines in the run summary: how it ended,
// flows, resent flows dropped, lost events, reconnect gaps, full buffers
// and truncation.
func (r *Report) SummaryLines() []string {
	ended := r.Ended
	if strings.TrimSpace(ended) == "" {
		ended = "-"
	}
	out := []string{
		fmt.Sprintf("  live:      %s: %s; %s", r.Source, r.Window, ended),
		fmt.Sprintf("             %d flows, %d resent flows dropped, %d events lost at the relay, %d reconnects", r.Flows, r.Resent, r.LostEvents, r.Reconnects),
	}
	if total, longest := r.Gap(); len(r.Gaps) > 0 {
		out = append(out, fmt.Sprintf("             reconnect gaps: %s in total, longest %s (flows of those moments come again from the buffer when it still holds them)", total.Round(time.Millisecond), longest.Round(time.Millisecond)))
	}
	for _, b := range r.Buffer {
		if b.Full() {
			node := "of the relay"
			if b.Node != "" {
				node = "of node " + b.Node
			}
			out = append(out, fmt.Sprintf("             buffer %s: %d/%d flows (full)", node, b.NumFlows, b.MaxFlows))
		}
	}
	if r.Shard != "" {
		out = append(out, r.shardLine())
	}
	for _, t := range r.Truncated {
		out = append(out, "  truncated: "+t)
	}
	return out
}

// Source is a live GetFlows source.
type Source struct {
	name, addr string
	useTLS     bool
	opts       Options
	report     Report
	cursor     *Cursor
	rnd        *rand.Rand
	// floor is where the window's first stream started (its since, or
	// the moment a followed window opened; zero: everything buffered)
	floor time.Time
}

// New returns the live source for a hubble:// or hubble+tls:// URL.
func New(url string, opts Options) (*Source, error) {
	addr, useTLS, name, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if !useTLS && opts.TLS.Set() {
		return nil, fmt.Errorf("--from %s: TLS options given for a plaintext relay: use %s%s", url, SchemeTLS, addr)
	}
	if _, _, err := filters(opts); err != nil {
		return nil, err
	}
	if err := opts.Shard.check(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Duration > 0 {
		opts.Follow = true
	}
	seed := opts.Backoff.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &Source{name: name, addr: addr, useTLS: useTLS, opts: opts, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	s.cursor = opts.Resume.Clone()
	if s.cursor == nil {
		s.cursor = NewCursor()
	}
	s.report = Report{Source: name, Window: s.describeWindow(), Oldest: map[string]time.Time{}}
	return s, nil
}

// Name returns the canonical URL (hubble://HOST:PORT).
func (s *Source) Name() string { return s.name }

// Report returns what the window went through (after Run).
func (s *Source) Report() *Report { return &s.report }

// Cursor returns how far the source has counted (after Run, or from emit).
func (s *Source) Cursor() *Cursor { return s.cursor }

// NewCursor returns a copy of the cursor the window resumes from, for the
// live loop to advance with what the learner counted.
func (s *Source) NewCursor() collectors.Cursor {
	if c := s.opts.Resume.Clone(); c != nil {
		return c
	}
	return NewCursor()
}

func (s *Source) describeWindow() string {
	o := s.opts
	var parts []string
	switch {
	case o.Duration > 0:
		parts = append(parts, "live for "+o.Duration.String())
	case o.Follow:
		parts = append(parts, "live until interrupted")
	}
	if !o.Since.IsZero() {
		parts = append(parts, "since "+o.Since.UTC().Format(time.RFC3339))
	}
	if !o.Until.IsZero() {
		parts = append(parts, "until "+o.Until.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		parts = append(parts, "everything the relay buffers")
	}
	if o.Shard.Set() {
		parts = append(parts, "shard "+o.Shard.String()+" of the relay's nodes")
	}
	if !o.Resume.Empty() {
		parts = append(parts, "resumed after "+o.Resume.Last().UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, ", ")
}

// filters builds the server-side FlowFilters.
func filters(o Options) (white, black []*flowpb.FlowFilter, err error) {
	var verdicts []flowpb.Verdict
	for _, v := range o.Verdicts {
		n, ok := flowpb.Verdict_value[strings.ToUpper(strings.TrimSpace(v))]
		if !ok || n == 0 {
			return nil, nil, fmt.Errorf("--verdict %q: want one of FORWARDED, DROPPED, AUDIT, REDIRECTED, TRACED, ERROR, TRANSLATED", v)
		}
		verdicts = append(verdicts, flowpb.Verdict(n))
	}
	pods := func(flag string, nss []string) ([]string, error) {
		var out []string
		for _, ns := range nss {
			ns = strings.TrimSpace(ns)
			if ns == "" || strings.ContainsAny(ns, "/*?[ ") {
				return nil, fmt.Errorf("--%s %q: want a namespace name (no globs)", flag, ns)
			}
			out = append(out, ns+"/")
		}
		return out, nil
	}
	inc, err := pods("namespace", o.Namespaces)
	if err != nil {
		return nil, nil, err
	}
	exc, err := pods("not-namespace", o.NotNamespaces)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(inc) > 0:
		white = []*flowpb.FlowFilter{{SourcePod: inc, Verdict: verdicts}, {DestinationPod: inc, Verdict: verdicts}}
	case len(verdicts) > 0:
		white = []*flowpb.FlowFilter{{Verdict: verdicts}}
	}
	if len(exc) > 0 {
		black = []*flowpb.FlowFilter{{SourcePod: exc, DestinationPod: exc}}
	}
	return white, black, nil
}

// request builds the GetFlows request for the next connection, for a
// sharded window with the shard's node patterns. widen asks from the
// window's start (floor) rather than from the cursor: for the nodes a
// sharded window took since its last stream, whose flows the cursor never
// covered (the replay drops what the others send again).
func (s *Source) request(startedAt time.Time, patterns []string, widen bool) *observerpb.GetFlowsRequest {
	white, black, _ := filters(s.opts)
	if s.opts.Shard.Set() {
		white = withNodes(white, patterns)
	}
	req := &observerpb.GetFlowsRequest{Follow: s.opts.Follow, Whitelist: white, Blacklist: black,
		// only what the conversion reads: a server older than the field
		// ignores it and sends whole flows, which convert the same
		FieldMask: &fieldmaskpb.FieldMask{Paths: hubble.ConvertedFields()}}
	since := s.opts.Since
	if c := s.cursor.Since(); widen {
		since = s.floor
	} else if !c.IsZero() {
		since = later(since, c)
	} else if !startedAt.IsZero() && s.opts.Follow {
		// reconnecting a live window before any flow: ask for the gap
		since = later(since, startedAt)
	}
	if !since.IsZero() {
		req.Since = timestamppb.New(since)
	}
	if !s.opts.Until.IsZero() && !s.opts.Follow {
		req.Until = timestamppb.New(s.opts.Until)
	}
	if since.IsZero() && !s.opts.Follow {
		req.Number = math.MaxUint64 // everything buffered (hubble observe --all)
	}
	return req
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// errEmit marks an error from emit: returned as is, never retried.
type errEmit struct{ err error }

func (e errEmit) Error() string { return e.err.Error() }
func (e errEmit) Unwrap() error { return e.err }

// untilGrace is how long a followed window waits past --until for flows
// still on their way through the relay.
const untilGrace = 5 * time.Second

// errUntil ends a followed window at the first flow after Until.
var errUntil = errors.New("until reached")

// dial opens the gRPC client.
func (s *Source) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if s.useTLS {
		cfg, err := s.opts.TLS.Config()
		if err != nil {
			return nil, err
		}
		if s.opts.TLS.AllowInsecure && s.opts.Logger != nil {
			s.opts.Logger.Error("WARNING: --tls-allow-insecure: the relay's certificate is NOT verified; anyone on the path can impersonate it and feed flows into your policies", "relay", s.name)
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
		// a flow stream is many small messages: a large read buffer spares
		// syscalls, and large flow-control windows let the relay queue
		// messages and send them many to a DATA frame rather than one
		// (each frame under 1 KiB is a fresh allocation in gRPC's reader)
		grpc.WithReadBufferSize(256 << 10),
		grpc.WithInitialWindowSize(4 << 20),
		grpc.WithInitialConnWindowSize(16 << 20),
		grpc.WithKeepaliveParams(s.keepalive()),
	}, s.opts.DialOptions...)
	conn, err := grpc.NewClient(s.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return conn, nil
}

func (s *Source) keepalive() keepalive.ClientParameters {
	if s.opts.Keepalive.Time <= 0 {
		return keepalive.ClientParameters{Time: DefaultKeepaliveTime, Timeout: DefaultKeepaliveTimeout}
	}
	return s.opts.Keepalive
}

func (s *Source) idleTimeout() time.Duration {
	if s.opts.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return max(s.opts.IdleTimeout, 0)
}

func (s *Source) probeTimeout() time.Duration {
	if s.opts.ProbeTimeout > 0 {
		return s.opts.ProbeTimeout
	}
	return min(s.idleTimeout(), DefaultProbeTimeout)
}

// unreachable wraps the error of a relay never reached, with the hint
// that matches its cause (see hint).
func (s *Source) unreachable(ctx context.Context, err error) error {
	msg := escape.Terminal(status.Convert(err).Message())
	return fmt.Errorf("%s: cannot reach Hubble Relay at %s: %s; %s", s.name, s.addr, msg, s.hint(ctx, err, msg))
}

// retryable reports whether a stream error is worth a reconnect.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.ResourceExhausted, codes.Aborted, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// Run streams the window's flows to emit. A deliberate end — ctx done
// (Ctrl-C, SIGTERM), Duration elapsed, Until passed, the window complete —
// returns nil: what was received is kept and learned. A window that ends
// before its end after flows were received returns an error wrapping
// ErrCutShort (the report's CutShort says why): what was received is kept
// too, and the caller must say the window is partial.
func (s *Source) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	conn, err := s.dial()
	if err != nil {
		return err
	}
	defer func() { conn.Close() }()
	client := observerpb.NewObserverClient(conn)
	// the window's end is our own timer, not a gRPC deadline: a deadline
	// travels to the server, which may end the stream (DEADLINE_EXCEEDED)
	// a moment before the client's context says it is over
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.opts.Duration > 0 {
		t := time.AfterFunc(s.opts.Duration, cancel)
		defer t.Stop()
	}
	if s.opts.Follow && !s.opts.Until.IsZero() {
		// a followed window ends at the first flow after --until, or once
		// the clock is past it (and a grace for flows in flight) if none comes
		t := time.AfterFunc(time.Until(s.opts.Until)+untilGrace, cancel)
		defer t.Stop()
	}
	if err := s.probe(runCtx, client); err != nil {
		if runCtx.Err() != nil {
			s.report.Ended = s.endReason(ctx)
			return nil
		}
		return err
	}
	var nodes, patterns []string
	opened, waited := s.opts.Now(), false
	if s.opts.Shard.Set() {
		l, w, err := s.waitShard(runCtx, client)
		if err != nil {
			return err
		}
		nodes, patterns, waited = l.nodes, l.patterns, w
		switch {
		case runCtx.Err() != nil:
			s.report.Ended = s.endReason(ctx)
			return nil
		case len(nodes) == 0:
			// not followed (waitShard waits for nodes otherwise): an empty
			// shard is an empty window, not a failure
			s.report.Ended = fmt.Sprintf("window complete: shard %s has none of the relay's %d nodes", s.opts.Shard, s.report.RelayNodes)
			return nil
		}
	}
	var startedAt, disconnectAt time.Time
	replay := NewReplay(s.opts.Resume)
	failures := 0
	widen := false
	for {
		req := s.request(startedAt, patterns, widen)
		if startedAt.IsZero() {
			startedAt = s.opts.Now()
			if waited && req.GetSince() == nil {
				// the shard's first node joined while the window was
				// open: its flows since then are the window's
				req.Since = timestamppb.New(opened)
			}
			if req.GetSince() != nil {
				s.floor = req.GetSince().AsTime()
			} else if s.opts.Follow {
				s.floor = startedAt
			}
		}
		widen = false
		before := s.report.Events - s.report.Resent
		sctx, scancel := context.WithCancelCause(runCtx)
		stopRelist := s.relist(sctx, client, nodes, scancel)
		err := s.stream(sctx, client, req, st, emit, replay, &disconnectAt)
		changed := stopRelist()
		scancel(nil)
		var ee errEmit
		var stall *StallError
		switch {
		case errors.As(err, &ee):
			return ee.err
		case changed != nil && runCtx.Err() == nil:
			// the shard's nodes changed: the same window goes on with the
			// new filter, from the cursor (and from the window's start for
			// the nodes it took)
			widen = added(nodes, changed.nodes)
			nodes, patterns = changed.nodes, changed.patterns
			s.noteShard(changed)
			replay = NewReplay(s.cursor)
			continue
		case runCtx.Err() != nil || errors.Is(err, errUntil):
			s.report.Ended = s.endReason(ctx)
			if errors.Is(err, errUntil) {
				s.report.Ended = "a flow after --until arrived"
			}
			s.checkTruncation()
			return nil
		case err == nil && !s.opts.Follow:
			s.report.Ended = "window complete"
			s.checkTruncation()
			return nil
		case err == nil:
			err = errors.New("the relay ended the stream")
		case errors.As(err, &stall):
			s.report.Stalls++
			// a stalled connection is not reused: the next attempt dials
			// afresh (a black-holed transport would stall it again)
			conn.Close()
			if conn, err = s.dial(); err != nil {
				return err
			}
			client = observerpb.NewObserverClient(conn)
			err = stall
		case !retryable(err):
			return s.cutShort("receive flows: "+causeText(err), err)
		}
		// progress is a new event: events resent after a reconnect (and
		// dropped) do not count, or a relay that stalls after resending
		// the same flows would be retried for ever
		if s.report.Events-s.report.Resent > before {
			failures = 0
		}
		failures++
		if s.opts.MaxReconnects >= 0 && failures > s.opts.MaxReconnects {
			return s.cutShort(fmt.Sprintf("gave up after %d reconnects in a row without a new flow (--max-reconnects %d): %s",
				failures-1, s.opts.MaxReconnects, causeText(err)), err)
		}
		if disconnectAt.IsZero() {
			disconnectAt = s.opts.Now() // a gap runs from the first failure to the next event
		}
		delay := s.opts.Backoff.Delay(failures, s.rnd)
		if s.opts.Logger != nil {
			s.opts.Logger.Warn("relay stream broke; reconnecting", "relay", s.name, "cause", causeText(err), "attempt", failures, "in", delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-runCtx.Done():
			t.Stop()
			s.report.Ended = s.endReason(ctx)
			return nil
		case <-t.C:
		}
		s.report.Reconnects++
		collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Reconnected(s.name) })
		replay = NewReplay(s.cursor)
		if s.opts.Shard.Set() {
			// the nodes again: some may have joined while the stream was
			// down (a relay that cannot say keeps the shard it had; the
			// stream's own error tells what is wrong with it)
			if l, err := s.shardNodes(runCtx, client); err == nil && len(l.nodes) > 0 && !slices.Equal(l.nodes, nodes) {
				widen = added(nodes, l.nodes)
				nodes, patterns = l.nodes, l.patterns
				s.noteShard(l)
			}
		}
	}
}

// causeText is the message of a stream error (a gRPC status's message).
func causeText(err error) string {
	var stall *StallError
	if errors.As(err, &stall) {
		return stall.Error()
	}
	return escape.Terminal(status.Convert(err).Message()) // the server's words
}

// cutShort ends a window before its end. With nothing received it is a
// plain failure (nothing to keep); otherwise the report says why, and the
// error wraps ErrCutShort.
func (s *Source) cutShort(reason string, cause error) error {
	hint := Hint
	var stall *StallError
	if errors.As(cause, &stall) {
		hint = "Hubble Relay accepted the stream and then sent nothing: it may be overloaded or stuck (kubectl -n kube-system logs deploy/hubble-relay); raise --idle-timeout if it is only slow"
	}
	if s.report.Events == 0 {
		return fmt.Errorf("%s: %s; %s", s.name, reason, hint)
	}
	s.report.CutShort = reason
	s.report.Ended = "window cut short: " + reason
	s.checkTruncation()
	return fmt.Errorf("%s: %w: %s; %s", s.name, ErrCutShort, reason, hint)
}

func (s *Source) endReason(ctx context.Context) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	if s.opts.Duration > 0 {
		return "--duration elapsed"
	}
	return "window complete"
}

// probe asks for the relay's status: the first contact, so that an
// unreachable relay fails fast with a clear message; the buffer state
// tells whether a since/until window is still covered.
func (s *Source) probe(ctx context.Context, client observerpb.ObserverClient) error {
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := client.ServerStatus(pctx, &observerpb.ServerStatusRequest{})
	switch status.Code(err) {
	case codes.OK:
		s.report.Buffer = []NodeBuffer{{NumFlows: st.GetNumFlows(), MaxFlows: st.GetMaxFlows()}}
	case codes.Unimplemented:
		return nil
	default:
		return s.unreachable(ctx, err)
	}
	nodes, err := client.GetNodes(pctx, &observerpb.GetNodesRequest{})
	if err == nil && len(nodes.GetNodes()) > 0 {
		s.report.Buffer = s.report.Buffer[:0]
		for _, n := range nodes.GetNodes() {
			s.report.Buffer = append(s.report.Buffer, NodeBuffer{Node: n.GetName(), NumFlows: n.GetNumFlows(), MaxFlows: n.GetMaxFlows()})
		}
		sort.Slice(s.report.Buffer, func(i, j int) bool { return s.report.Buffer[i].Node < s.report.Buffer[j].Node })
	}
	return nil
}

// stream runs one GetFlows stream. A stream silent for the idle timeout
// is cancelled and returns a *StallError.
func (s *Source) stream(ctx context.Context, client observerpb.ObserverClient, req *observerpb.GetFlowsRequest,
	st *collectors.Stats, emit collectors.Emit, replay *Replay, disconnectAt *time.Time) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// odd while the stream is opened or a message awaited, even otherwise
	// (the receiver waiting for the learner to catch up, too): only
	// awaiting the relay counts as silence (a slow consumer or a
	// checkpoint is not the relay's stall)
	var recvd atomic.Uint64
	defer s.watch(sctx, client, &recvd, cancel)()
	stalled := func(err error) error {
		var stall *StallError
		if errors.As(context.Cause(sctx), &stall) {
			return stall
		}
		return err
	}
	recvd.Add(1)
	stream, err := client.GetFlows(sctx, req, callOptions()...)
	recvd.Add(1)
	if err != nil {
		return stalled(err)
	}
	collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Connected(s.name, true) })
	defer collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Connected(s.name, false) })
	// messages are received on their own goroutine (handoff.go), which
	// ends once the stream does or this function returns
	h := newHandoff()
	received := make(chan struct{})
	go func() {
		defer close(received)
		receive(stream, h, &recvd, sctx.Done(), s.opts.Now)
	}()
	defer func() { cancel(nil); <-received }()
	dec := newDecoder()
	var rec record.Record
	for {
		msg, endedAt, err := h.recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if disconnectAt.IsZero() {
				*disconnectAt = endedAt // the gap starts when the stream broke
			}
			return stalled(err)
		}
		s.report.Events++
		if !disconnectAt.IsZero() {
			s.report.Gaps = append(s.report.Gaps, s.opts.Now().Sub(*disconnectAt))
			*disconnectAt = time.Time{}
		}
		skip, lost, ok, err := dec.convert(msg, &rec)
		if err != nil {
			return status.Errorf(codes.Internal, "decode a GetFlows response: %v", err)
		}
		if !ok {
			st.Skip(skip, 1)
			st.LostEvents += lost
			s.report.LostEvents += lost
			collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) {
				m.Skipped(s.name, skip, 1)
				if lost > 0 {
					m.Lost(s.name, lost)
				}
			})
			continue
		}
		rec.Source = s.name
		if replay.Seen(&rec) {
			s.report.Resent++
			continue
		}
		if !s.opts.Until.IsZero() && s.opts.Follow && rec.Time.After(s.opts.Until) {
			return errUntil
		}
		dropped, cerr := dec.check(&rec)
		if cerr != nil {
			// counted once: the cursor passes it, a resent copy is dropped
			s.cursor.Advance(&rec)
			st.Skip(record.SkipInvalidIdentity, 1)
			collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Skipped(s.name, record.SkipInvalidIdentity, 1) })
			s.report.Invalid++
			if s.report.Invalid == 1 && s.opts.Logger != nil {
				s.opts.Logger.Warn("skipping flows with an invalid identity", "relay", s.name, "first", cerr.Error())
			}
			continue
		}
		if dropped > 0 {
			st.Skip(record.SkipInvalidDropped, uint64(dropped))
			collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Skipped(s.name, record.SkipInvalidDropped, uint64(dropped)) })
		}
		if o, seen := s.report.Oldest[rec.Node]; !rec.Time.IsZero() && (!seen || rec.Time.Before(o)) {
			s.report.Oldest[rec.Node] = rec.Time
		}
		st.FlowEvents++
		s.report.Flows++
		s.cursor.Advance(&rec)
		if err := emit(&rec); err != nil {
			return errEmit{err}
		}
	}
}

// watch cancels the stream with a *StallError when it receives nothing
// for the idle timeout (see Options.IdleTimeout); recvd is odd while the
// stream waits for a message and changes with each one. The returned stop
// ends the watch.
func (s *Source) watch(ctx context.Context, client observerpb.ObserverClient, recvd *atomic.Uint64, stall context.CancelCauseFunc) (stop func()) {
	idle := s.idleTimeout()
	return collectors.WatchStall(ctx, idle, recvd, func(ctx context.Context) error {
		if !s.opts.Follow {
			return &StallError{Idle: idle}
		}
		// quiet or stalled? a relay that answers is only quiet
		pctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
		defer cancel()
		_, err := client.ServerStatus(pctx, &observerpb.ServerStatusRequest{})
		if err == nil || status.Code(err) == codes.Unimplemented {
			return nil
		}
		return &StallError{Idle: idle, Probe: err}
	}, stall)
}

// checkTruncation compares the window asked for with what the buffers
// held: a node whose buffer is full and whose oldest flow is later than
// --since lost the start of the window.
func (s *Source) checkTruncation() {
	if s.opts.Follow && s.opts.Since.IsZero() {
		return // a live window starts now: nothing to have been overwritten
	}
	full := map[string]NodeBuffer{}
	var relayFull *NodeBuffer
	for _, b := range s.report.Buffer {
		if !b.Full() {
			continue
		}
		if b.Node == "" {
			relayFull = &b
		} else {
			full[b.Node] = b
		}
	}
	since := s.opts.Since
	if !s.opts.Resume.Empty() {
		since = later(since, s.opts.Resume.Since())
	}
	var msgs []string
	nodes := make([]string, 0, len(s.report.Oldest))
	for n := range s.report.Oldest {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		oldest := s.report.Oldest[n]
		b, isFull := full[n]
		if relayFull != nil {
			b, isFull = *relayFull, true
		}
		switch {
		case since.IsZero() && isFull:
			msgs = append(msgs, fmt.Sprintf("node %s: ring buffer full (%d/%d flows): only its flows since %s were still held", nodeName(n), b.NumFlows, b.MaxFlows, oldest.UTC().Format(time.RFC3339)))
		case !since.IsZero() && oldest.After(since) && isFull:
			msgs = append(msgs, fmt.Sprintf("node %s: ring buffer full (%d/%d flows) and its oldest flow is %s, after --since %s: its flows in between are gone",
				nodeName(n), b.NumFlows, b.MaxFlows, oldest.UTC().Format(time.RFC3339), since.UTC().Format(time.RFC3339)))
		}
	}
	if len(msgs) > 0 {
		msgs = append(msgs, "to cover a long window, learn live (--duration or --follow, with --graph checkpoints) or raise the nodes' hubble-event-buffer-capacity")
	}
	s.report.Truncated = msgs
}

func nodeName(n string) string {
	if n == "" {
		return "(unnamed)"
	}
	return n
}
