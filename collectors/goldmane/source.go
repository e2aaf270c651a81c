package goldmane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
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

// IsURL reports whether a --from argument names a Goldmane server.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

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
	// listing the stored window (List).
	Follow time.Duration
	// PageSize is the List page size (0 = DefaultPageSize).
	PageSize int64
	// Dial overrides how the connection is made (tests).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Source reads flows from a Goldmane server.
type Source struct {
	url, addr string
	opts      Options
	creds     credentials.TransportCredentials
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
	return &Source{url: url, addr: addr, opts: opts, creds: creds}, nil
}

func clientTLS(o Options) (credentials.TransportCredentials, error) {
	if o.CA == "" {
		return nil, errors.New("--goldmane-ca: required (Goldmane's certificate is signed by the tigera-operator CA: kubectl get configmap -n calico-system goldmane-ca-bundle or tigera-ca-bundle)")
	}
	pem, err := os.ReadFile(o.CA)
	if err != nil {
		return nil, fmt.Errorf("--goldmane-ca %s: %w", o.CA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--goldmane-ca %s: no PEM certificate in it", o.CA)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	switch {
	case o.Cert != "" && o.Key != "":
		pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("--goldmane-cert %s / --goldmane-key %s: %w", o.Cert, o.Key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case o.Cert != "" || o.Key != "":
		return nil, errors.New("--goldmane-cert and --goldmane-key: give both (Goldmane requires a client certificate)")
	}
	return credentials.NewTLS(cfg), nil
}

// Name returns the source URL.
func (s *Source) Name() string { return s.url }

// Run lists the window's flows (or, with Follow, streams new flows for that
// long) and emits them.
func (s *Source) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	dopts := []grpc.DialOption{grpc.WithTransportCredentials(s.creds)}
	if s.opts.Dial != nil {
		dopts = append(dopts, grpc.WithContextDialer(s.opts.Dial))
	}
	conn, err := grpc.NewClient("passthrough:///"+s.addr, dopts...)
	if err != nil {
		return fmt.Errorf("%s: %w", s.url, err)
	}
	defer conn.Close()
	client := goldmanepb.NewFlowsClient(conn)
	if s.opts.Follow > 0 {
		return s.stream(ctx, client, st, emit)
	}
	return s.list(ctx, client, st, emit)
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Source) list(ctx context.Context, c goldmanepb.FlowsClient, st *collectors.Stats, emit collectors.Emit) error {
	req := &goldmanepb.FlowListRequest{StartTimeGte: unix(s.opts.Since), StartTimeLt: unix(s.opts.Until), PageSize: s.opts.PageSize}
	if !s.opts.Until.IsZero() && s.opts.Until.Unix() <= req.StartTimeGte {
		return fmt.Errorf("%s: --until %s is not after --since", s.url, s.opts.Until.UTC().Format(time.RFC3339))
	}
	var rec record.Record
	for page := int64(0); ; page++ {
		req.Page = page
		res, err := c.List(ctx, req)
		if err != nil {
			return s.rpcError("List", err)
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

func (s *Source) stream(ctx context.Context, c goldmanepb.FlowsClient, st *collectors.Stats, emit collectors.Emit) error {
	// the follow ends by cancelling, not by a deadline: a deadline travels
	// to the server, which may end the stream first (RST_STREAM) and make a
	// normal end look like a failure
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timer := time.AfterFunc(s.opts.Follow, cancel)
	defer timer.Stop()
	stream, err := c.Stream(ctx, &goldmanepb.FlowStreamRequest{StartTimeGte: unix(s.opts.Since), AggregationInterval: 15})
	if err != nil {
		return s.rpcError("Stream", err)
	}
	var rec record.Record
	for {
		fr, err := stream.Recv()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil && parent.Err() == nil:
			return nil // --goldmane-follow elapsed: the normal end of a follow
		default:
			return s.rpcError("Stream", err)
		}
		if err := s.emitFlow(fr.GetFlow(), &rec, st, emit); err != nil {
			return err
		}
	}
}

func (s *Source) emitFlow(f *goldmanepb.Flow, rec *record.Record, st *collectors.Stats, emit collectors.Emit) error {
	st.Lines++
	if f == nil {
		st.Skip(SkipNoKey, 1)
		return nil
	}
	skip, ok := ConvertFlow(f, rec)
	if !ok {
		st.Skip(skip, 1)
		return nil
	}
	rec.Source = s.url
	st.FlowEvents++
	return emit(rec)
}

// rpcError explains the failures a user can fix: TLS trust, the client
// certificate, reachability.
func (s *Source) rpcError(call string, err error) error {
	msg := status.Convert(err).Message()
	hint := ""
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority") || strings.Contains(msg, "failed to verify certificate"):
		hint = " (Goldmane's certificate is not signed by --goldmane-ca, or --goldmane-server-name does not match it)"
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate authority"):
		hint = " (Goldmane rejected the client certificate: give --goldmane-cert and --goldmane-key signed by the CA Goldmane trusts)"
	case status.Code(err) == codes.Unavailable && s.opts.Cert == "":
		hint = " (Goldmane requires a client certificate and none was given: --goldmane-cert and --goldmane-key)"
	case status.Code(err) == codes.Unavailable && (strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout")):
		hint = " (is Goldmane reachable? kubectl port-forward -n calico-system svc/goldmane 7443:7443)"
	case status.Code(err) == codes.Unavailable:
		hint = " (the TLS connection was closed: Goldmane rejects a client certificate it does not trust — check that --goldmane-cert and --goldmane-key are signed by the CA Goldmane trusts)"
	}
	return fmt.Errorf("%s: Goldmane %s: %s%s", s.url, call, msg, hint)
}
