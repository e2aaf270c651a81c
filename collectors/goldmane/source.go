package goldmane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/tlsdiag"
	"github.com/flowfence/flowfence/internal/tlsfiles"
	"github.com/flowfence/flowfence/record"
)

// Scheme prefixes a Goldmane --from source.
const Scheme = "goldmane://"

// Defaults of a Goldmane connection.
const (
	// DefaultServerName is the name in Goldmane's serving certificate (the
	// goldmane Service in calico-system).
	DefaultServerName = "goldmane.calico-system.svc"
	// DefaultPort is Goldmane's gRPC port.
	DefaultPort = "7443"
	// DefaultPageSize is how many flows one List call asks for.
	DefaultPageSize = 1000
)

// Options configure a Goldmane source.
type Options struct {
	// CA is the PEM bundle that signed Goldmane's serving certificate
	// (required: Goldmane's certificate is issued by the tigera-operator CA).
	CA string
	// Cert and Key are the client certificate and key Goldmane requires
	// (mutual TLS); both or neither.
	Cert, Key string
	// ServerName is the name verified in Goldmane's certificate (default
	// goldmane.calico-system.svc: reach Goldmane through a port-forward and
	// still verify the real name).
	ServerName string
	// Since/Until select the flows whose start time lies in [Since, Until)
	// (zero: the oldest Goldmane keeps / now).
	Since, Until time.Time
	// Follow, when set, streams new flows (Stream) for this long instead of
	// listing the stored window (List); negative: until the context ends
	// (--follow).
	Follow time.Duration
	// Resume is the cursor of an earlier run (from the graph file): flows
	// are asked from its start and those already counted dropped (doc.go).
	Resume *Cursor
	// PageSize is the List page size (0 = DefaultPageSize).
	PageSize int64
	// Dial overrides how the connection is made (tests).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// IdleTimeout is how long Goldmane may send nothing (0:
	// DefaultIdleTimeout; negative: no limit): a List page not answered
	// in that time is a stall. A followed Stream is quiet whenever the
	// cluster is, so after that long without a flow Goldmane is asked for
	// one List page instead; a Goldmane that does not answer it within
	// ProbeTimeout has stalled.
	IdleTimeout time.Duration
	// ProbeTimeout bounds that List call (0: min(IdleTimeout, 15s)).
	ProbeTimeout time.Duration
	// Keepalive are the gRPC keepalive pings (zero Time: 5 minutes, the
	// shortest a default gRPC server accepts; 20 s to answer).
	Keepalive keepalive.ClientParameters
	// Monitor, when set, hears when the source is connected (its first List
	// page or its Stream answered) and when it is not any more.
	Monitor collectors.Monitor
}

// DefaultIdleTimeout is how long Goldmane may stay silent before a List
// page or a quiet Stream is checked as a stall.
const DefaultIdleTimeout = 2 * time.Minute

// ErrStalled marks the error of a Goldmane that accepted the connection
// and then sent nothing for the idle timeout.
var ErrStalled = errors.New("Goldmane stalled")

// stallHint is said with ErrStalled.
const stallHint = "Goldmane accepted the connection and then sent nothing: it may be overloaded or stuck (kubectl logs -n calico-system deploy/goldmane); raise --idle-timeout if it is only slow"

func (o Options) idle() time.Duration {
	if o.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return max(o.IdleTimeout, 0)
}

func (o Options) probe() time.Duration {
	if o.ProbeTimeout > 0 {
		return o.ProbeTimeout
	}
	return min(o.idle(), 15*time.Second)
}

// Source reads flows from a Goldmane server.
type Source struct {
	url, addr string
	opts      Options
	creds     credentials.TransportCredentials
	report    Report
	replay    *replay
}

// Report is what a goldmane:// window went through, for the run summary
// (collectors.LiveReport).
type Report struct {
	Source, Window, Ended string
	// Flows counts the flows emitted; Resent those dropped as already
	// counted by the run resumed.
	Flows, Resent uint64
}

// SourceName is the source's URL.
func (r *Report) SourceName() string { return r.Source }

// CutShortReason is always "": a Goldmane window that fails fails the run.
func (r *Report) CutShortReason() string { return "" }

// SummaryLines are the window's lines in the run summary.
func (r *Report) SummaryLines() []string {
	ended := r.Ended
	if ended == "" {
		ended = "-"
	}
	return []string{
		fmt.Sprintf("  live:      %s: %s; %s", r.Source, r.Window, ended),
		fmt.Sprintf("             %d flows, %d resent flows dropped", r.Flows, r.Resent),
	}
}

// NewSource prepares a source for a goldmane://HOST[:PORT] URL, loading the
// TLS material; it does not connect yet.
func NewSource(url string, opts Options) (*Source, error) {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, Scheme), "/")
	if addr == "" || strings.ContainsAny(addr, "/?#") {
		return nil, fmt.Errorf("--from %s: want goldmane://HOST[:PORT]", url)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
	}
	if opts.ServerName == "" {
		opts.ServerName = DefaultServerName
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	creds, err := clientTLS(opts)
	if err != nil {
		return nil, fmt.Errorf("--from %s: %w", url, err)
	}
	s := &Source{url: url, addr: addr, opts: opts, creds: creds, replay: newReplay(opts.Resume)}
	s.report = Report{Source: url, Window: s.describeWindow()}
	return s, nil
}

// since is the start of the flows to ask for: --since, or the resumed
// cursor's start when later.
func (s *Source) since() time.Time {
	if c := s.opts.Resume.Since(); c.After(s.opts.Since) {
		return c
	}
	return s.opts.Since
}

func (s *Source) describeWindow() string {
	o := s.opts
	var parts []string
	switch {
	case o.Follow < 0:
		parts = append(parts, "live until interrupted")
	case o.Follow > 0:
		parts = append(parts, "live for "+o.Follow.String())
	default:
		parts = append(parts, "the stored window")
	}
	if !o.Since.IsZero() {
		parts = append(parts, "since "+o.Since.UTC().Format(time.RFC3339))
	}
	if !o.Until.IsZero() {
		parts = append(parts, "until "+o.Until.UTC().Format(time.RFC3339))
	}
	if !o.Resume.Empty() {
		parts = append(parts, "resumed after "+o.Resume.Since().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// Report returns what the window went through (after Run).
func (s *Source) Report() collectors.LiveReport { return &s.report }

// NewCursor returns a copy of the cursor the window resumes from, for the
// live loop to advance with what the learner counted.
func (s *Source) NewCursor() collectors.Cursor {
	c := NewCursor()
	if r := s.opts.Resume; r != nil {
		c.Start, c.Keys = r.Start, slices.Clone(r.Keys)
	}
	return c
}

func clientTLS(o Options) (credentials.TransportCredentials, error) {
	cfg, err := clientTLSConfig(o)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

func clientTLSConfig(o Options) (*tls.Config, error) {
	if o.CA == "" {
		return nil, errors.New("--goldmane-ca: required (Goldmane's certificate is signed by the tigera-operator CA: kubectl get configmap -n calico-system goldmane-ca-bundle or tigera-ca-bundle)")
	}
	pool, err := tlsfiles.CertPool("--goldmane-ca", o.CA)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	switch {
	case o.Cert != "" && o.Key != "":
		pair, err := tlsfiles.KeyPair("--goldmane-cert", o.Cert, "--goldmane-key", o.Key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	case o.Cert != "" || o.Key != "":
		return nil, errors.New("--goldmane-cert and --goldmane-key: give both (Goldmane requires a client certificate)")
	}
	return cfg, nil
}

// Name returns the source URL.
func (s *Source) Name() string { return s.url }

// Run lists the window's flows (or, with Follow, streams new flows for that
// long) and emits them.
func (s *Source) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	ka := s.opts.Keepalive
	if ka.Time <= 0 {
		ka = keepalive.ClientParameters{Time: 5 * time.Minute, Timeout: 20 * time.Second}
	}
	dopts := []grpc.DialOption{grpc.WithTransportCredentials(s.creds), grpc.WithKeepaliveParams(ka)}
	if s.opts.Dial != nil {
		dopts = append(dopts, grpc.WithContextDialer(s.opts.Dial))
	}
	conn, err := grpc.NewClient("passthrough:///"+s.addr, dopts...)
	if err != nil {
		return fmt.Errorf("%s: %w", s.url, err)
	}
	defer conn.Close()
	defer collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Connected(s.url, false) })
	client := goldmanepb.NewFlowsClient(conn)
	if s.opts.Follow != 0 {
		err = s.stream(ctx, client, st, emit)
	} else {
		err = s.list(ctx, client, st, emit)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// a deliberate end (Ctrl-C, SIGTERM): what was counted is kept
		s.report.Ended = "interrupted"
		return nil
	case err != nil:
		return err
	case s.opts.Follow != 0:
		s.report.Ended = "follow ended"
	default:
		s.report.Ended = "window complete"
	}
	return nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Source) list(ctx context.Context, c goldmanepb.FlowsClient, st *collectors.Stats, emit collectors.Emit) error {
	req := &goldmanepb.FlowListRequest{StartTimeGte: unix(s.since()), StartTimeLt: unix(s.opts.Until), PageSize: s.opts.PageSize}
	if !s.opts.Until.IsZero() && s.opts.Until.Unix() <= req.StartTimeGte {
		return fmt.Errorf("%s: --until %s is not after --since", s.url, s.opts.Until.UTC().Format(time.RFC3339))
	}
	var rec record.Record
	for page := int64(0); ; page++ {
		req.Page = page
		res, err := s.listPage(ctx, c, req)
		if err != nil {
			return s.rpcError(ctx, "List", err)
		}
		if page == 0 {
			collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Connected(s.url, true) })
		}
		for _, fr := range res.GetFlows() {
			if err := s.emitFlow(fr.GetFlow(), &rec, st, emit); err != nil {
				return err
			}
		}
		if page+1 >= res.GetMeta().GetTotalPages() || len(res.GetFlows()) == 0 {
			return nil
		}
	}
}

// listPage is one List call, bounded by the idle timeout: a page that
// does not come is a stall (ErrStalled).
func (s *Source) listPage(ctx context.Context, c goldmanepb.FlowsClient, req *goldmanepb.FlowListRequest) (*goldmanepb.FlowListResult, error) {
	idle := s.opts.idle()
	if idle <= 0 {
		return c.List(ctx, req)
	}
	// our own timer, not a deadline: a deadline travels to the server,
	// which may end the call a moment before the client's context says why
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(idle, func() { cancel(ErrStalled) })
	defer t.Stop()
	res, err := c.List(lctx, req)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(lctx), ErrStalled) {
		return nil, fmt.Errorf("%w: no List page for %s (--idle-timeout)", ErrStalled, idle)
	}
	return res, err
}

// watch cancels a followed stream with ErrStalled when it is silent for
// the idle timeout and Goldmane does not answer a one-flow List either
// (recvd is odd while the stream waits for a flow and changes with each
// one). The returned stop ends the watch.
func (s *Source) watch(ctx context.Context, c goldmanepb.FlowsClient, recvd *atomic.Uint64, stall context.CancelCauseFunc) (stop func()) {
	idle := s.opts.idle()
	return collectors.WatchStall(ctx, idle, recvd, func(ctx context.Context) error {
		pctx, cancel := context.WithTimeout(ctx, s.opts.probe())
		defer cancel()
		if _, err := c.List(pctx, &goldmanepb.FlowListRequest{PageSize: 1}); err != nil {
			return fmt.Errorf("%w: no flow for %s (--idle-timeout) and no answer to List: %s", ErrStalled, idle, escape.Terminal(status.Convert(err).Message()))
		}
		return nil
	}, stall)
}

func (s *Source) stream(ctx context.Context, c goldmanepb.FlowsClient, st *collectors.Stats, emit collectors.Emit) error {
	// the follow ends by cancelling, not by a deadline: a deadline travels
	// to the server, which may end the stream first (RST_STREAM) and make a
	// normal end look like a failure
	parent := ctx
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if s.opts.Follow > 0 {
		timer := time.AfterFunc(s.opts.Follow, func() { cancel(nil) })
		defer timer.Stop()
	}
	var recvd atomic.Uint64
	defer s.watch(ctx, c, &recvd, cancel)()
	stream, err := c.Stream(ctx, &goldmanepb.FlowStreamRequest{StartTimeGte: unix(s.since()), AggregationInterval: 15})
	if err != nil {
		return s.rpcError(parent, "Stream", err)
	}
	collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Connected(s.url, true) })
	var rec record.Record
	for {
		recvd.Add(1) // odd: waiting (only waiting counts as silence)
		fr, err := stream.Recv()
		recvd.Add(1)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(context.Cause(ctx), ErrStalled):
			return fmt.Errorf("%s: Goldmane Stream: %w; %s", s.url, context.Cause(ctx), stallHint)
		case ctx.Err() != nil && parent.Err() == nil:
			return nil // --goldmane-follow elapsed: the normal end of a follow
		default:
			return s.rpcError(parent, "Stream", err)
		}
		if err := s.emitFlow(fr.GetFlow(), &rec, st, emit); err != nil {
			return err
		}
	}
}

func (s *Source) emitFlow(f *goldmanepb.Flow, rec *record.Record, st *collectors.Stats, emit collectors.Emit) error {
	st.Lines++
	if f == nil {
		s.skip(st, SkipNoKey, 1)
		return nil
	}
	skip, ok := ConvertFlow(f, rec)
	if !ok {
		s.skip(st, skip, 1)
		return nil
	}
	rec.Source = s.url
	if s.replay.seen(rec) {
		s.report.Resent++
		return nil
	}
	dropped, err := check(rec)
	if err != nil {
		s.skip(st, record.SkipInvalidIdentity, 1)
		return nil
	}
	if dropped > 0 {
		s.skip(st, record.SkipInvalidDropped, uint64(dropped))
	}
	st.FlowEvents++
	s.report.Flows++
	return emit(rec)
}

// skip counts n items read and not learned, in the run's statistics and
// for the monitor.
func (s *Source) skip(st *collectors.Stats, reason string, n uint64) {
	st.Skip(reason, n)
	collectors.Notify(s.opts.Monitor, func(m collectors.Monitor) { m.Skipped(s.url, reason, n) })
}

// check applies the identity rules (record.Check) to a Goldmane record:
// its pod names are Calico's aggregation prefixes ("frontend-6b7d9c4f5-*"),
// checked as the names they stand for.
func check(rec *record.Record) (dropped int, err error) {
	sp, dp := rec.Src.Pod, rec.Dst.Pod
	rec.Src.Pod, rec.Dst.Pod = podPrefix(sp), podPrefix(dp)
	dropped, err = rec.Check()
	rec.Src.Pod, rec.Dst.Pod = sp, dp
	return dropped, err
}

func podPrefix(p string) string { return strings.TrimSuffix(strings.TrimSuffix(p, "*"), "-") }

// rpcError explains the failures a user can fix: a stall, TLS trust, the
// client certificate, reachability. The TLS causes are diagnosed with a
// handshake of our own (internal/tlsdiag), whose typed errors gRPC's
// message no longer carries.
func (s *Source) rpcError(ctx context.Context, call string, err error) error {
	if errors.Is(err, ErrStalled) {
		return fmt.Errorf("%s: Goldmane %s: %w; %s", s.url, call, err, stallHint)
	}
	msg := escape.Terminal(status.Convert(err).Message())
	hint := ""
	if status.Code(err) == codes.Unavailable && ctx.Err() == nil && !strings.Contains(msg, "connection refused") && !strings.Contains(msg, "no such host") && !strings.Contains(msg, "i/o timeout") {
		hint = s.tlsHint(ctx)
	}
	if hint == "" {
		switch {
		case status.Code(err) == codes.Unavailable && (strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout")):
			hint = "is Goldmane reachable? kubectl port-forward -n calico-system svc/goldmane 7443:7443"
		case status.Code(err) == codes.Unavailable:
			hint = "the connection was closed: check --goldmane-ca, --goldmane-cert and --goldmane-key"
		}
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	return fmt.Errorf("%s: Goldmane %s: %s%s", s.url, call, msg, hint)
}

// tlsHint diagnoses the TLS set-up with a handshake of its own ("" when
// it finds nothing wrong).
func (s *Source) tlsHint(ctx context.Context) string {
	cfg, err := clientTLSConfig(s.opts)
	if err != nil {
		return ""
	}
	r := tlsdiag.Probe(ctx, s.addr, cfg, s.opts.Dial)
	when := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch r.Cause {
	case tlsdiag.PlaintextServer:
		return "the server at " + s.addr + " does not speak TLS: Goldmane always does; is this Goldmane's port?"
	case tlsdiag.UnknownAuthority:
		return fmt.Sprintf("Goldmane's certificate (issued by %s) is not signed by --goldmane-ca: give the tigera-operator CA (kubectl get configmap -n calico-system goldmane-ca-bundle)", escape.Snippet(r.Cert.Issuer.CommonName, 80))
	case tlsdiag.Expired:
		return "Goldmane's certificate expired on " + when(r.Cert.NotAfter) + ": the tigera-operator renews it; check the operator"
	case tlsdiag.NotYetValid:
		return "Goldmane's certificate is not valid before " + when(r.Cert.NotBefore) + ": check the clocks"
	case tlsdiag.HostnameMismatch:
		return fmt.Sprintf("Goldmane's certificate is for %s: set --goldmane-server-name to one of them", escape.Snippet(tlsdiag.Names(r.Cert), 200))
	case tlsdiag.ClientCertRequired:
		return "Goldmane requires a client certificate and none was given: --goldmane-cert and --goldmane-key"
	case tlsdiag.ClientCertRejected:
		return "Goldmane rejected the client certificate: give --goldmane-cert and --goldmane-key signed by the CA Goldmane trusts"
	case tlsdiag.ClosedDuringHandshake:
		return "Goldmane closed the connection during the TLS handshake: check --goldmane-cert and --goldmane-key"
	}
	return ""
}
