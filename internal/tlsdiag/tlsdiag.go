// Package tlsdiag tells why a gRPC client could not talk to a server over
// TLS (or over plaintext), from a handshake of its own: gRPC flattens the
// typed errors of crypto/tls and crypto/x509 into text, and the right hint
// depends on which one it was (a plaintext server, an unknown CA, an
// expired certificate, a client certificate the server rejects…). The
// sources word the hint with their own flags.
package tlsdiag

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// Cause is what went wrong.
type Cause int

// Causes.
const (
	Unknown Cause = iota
	// PlaintextServer: a TLS client met a server that does not speak TLS.
	PlaintextServer
	// TLSServer: a plaintext client met a server that speaks TLS.
	TLSServer
	// UnknownAuthority: the server's certificate is not signed by a CA the
	// client trusts.
	UnknownAuthority
	// Expired / NotYetValid: the server's certificate is outside its
	// validity (Cert says when).
	Expired
	NotYetValid
	// HostnameMismatch: the server's certificate is not for the name the
	// client verifies (Cert lists its names).
	HostnameMismatch
	// ClientCertRequired: the server asks for a client certificate and
	// none was given.
	ClientCertRequired
	// ClientCertRejected: the server did not accept the client certificate
	// (signed by a CA it does not trust, or otherwise bad: Alert says).
	ClientCertRejected
	// ClosedDuringHandshake: the server closed the connection during the
	// TLS handshake (it may not speak TLS, or refuse this client).
	ClosedDuringHandshake
)

// Result is a diagnosis.
type Result struct {
	Cause Cause
	// Cert is the server's certificate when one was presented.
	Cert *x509.Certificate
	// Alert is the TLS alert the server sent, if any ("bad certificate").
	Alert string
	// Untrusted (ClientCertRejected): the client certificate is not signed
	// by any CA the server named as acceptable, so it was not even sent.
	Untrusted bool
	// Err is the handshake's error.
	Err error
}

// Dialer opens the TCP connection (tests, proxies); nil means net.Dialer.
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// Probe connects to addr and does what the failed client did: a TLS
// handshake with cfg (then a short read, where TLS 1.3 servers report a
// rejected client certificate), or, with cfg nil, a check whether the
// server speaks TLS after all. It never verifies less than cfg asks.
func Probe(ctx context.Context, addr string, cfg *tls.Config, dial Dialer) Result {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	raw, err := dial(ctx, addr)
	if err != nil {
		return Result{Err: err}
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	if cfg == nil {
		// a plaintext client failed: does the server answer a TLS hello?
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, ServerName: host(addr)}) //nolint:gosec // only asks whether the server speaks TLS; nothing is sent over it
		if err := c.HandshakeContext(ctx); err == nil {
			return Result{Cause: TLSServer, Cert: leaf(c.ConnectionState().PeerCertificates)}
		} else if alert := remoteAlert(err); alert != "" {
			return Result{Cause: TLSServer, Alert: alert, Err: err} // it answered in TLS
		}
		return Result{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host(addr)
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2"}
	}
	// whether the server asked for a client certificate, and whether ours
	// is signed by a CA it names (Go sends none when it is not)
	var asked, mismatch bool
	hasCert := len(cfg.Certificates) > 0 || cfg.GetClientCertificate != nil
	certs, get := cfg.Certificates, cfg.GetClientCertificate
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		if get != nil {
			return get(cri)
		}
		for i := range certs {
			if cri.SupportsCertificate(&certs[i]) == nil {
				return &certs[i], nil
			}
		}
		mismatch = len(certs) > 0
		return &tls.Certificate{}, nil
	}
	var served *x509.Certificate
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		served = leaf(cs.PeerCertificates)
		if verify != nil {
			return verify(cs)
		}
		return nil
	}
	c := tls.Client(raw, cfg)
	err = c.HandshakeContext(ctx)
	if err == nil {
		// TLS 1.3: the server judges our certificate after the handshake
		// and says so on the first read; a server that accepted sends its
		// HTTP/2 settings
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var b [1]byte
		_, err = c.Read(b[:])
		if err == nil || isTimeout(err) {
			return Result{Cert: leaf(c.ConnectionState().PeerCertificates)}
		}
	}
	r := classify(err, served)
	if asked && (r.Cause == Unknown || r.Cause == ClosedDuringHandshake) && (r.Alert != "" || isClosed(err)) {
		// the server asked for our certificate and then refused the
		// connection: that certificate (or its absence) is why
		r.Cause = ClientCertRequired
		if hasCert {
			r.Cause = ClientCertRejected
			r.Untrusted = mismatch
		}
	}
	return r
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func classify(err error, served *x509.Certificate) Result {
	r := Result{Err: err, Cert: served}
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0 {
		r.Cert = ve.UnverifiedCertificates[0]
	}
	switch {
	case errors.As(err, &rh):
		r.Cause = PlaintextServer
	case errors.As(err, &ua):
		r.Cause = UnknownAuthority
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		r.Cause = Expired
		if r.Cert == nil {
			r.Cert = ci.Cert
		}
		if r.Cert != nil && time.Now().Before(r.Cert.NotBefore) {
			r.Cause = NotYetValid
		}
	case errors.As(err, &hn):
		r.Cause = HostnameMismatch
		if r.Cert == nil {
			r.Cert = hn.Certificate
		}
	default:
		// an alert is judged with whether the server asked for our
		// certificate (Probe); a close without one may be anything
		if r.Alert = remoteAlert(err); r.Alert == "" && isClosed(err) {
			r.Cause = ClosedDuringHandshake
		}
	}
	if r.Cert == nil && (r.Cause == UnknownAuthority || r.Cause == Expired || r.Cause == NotYetValid || r.Cause == HostnameMismatch) {
		r.Cert = &x509.Certificate{} // the causes that name it always have one; never nil
	}
	return r
}

// remoteAlert returns the text of the TLS alert the peer sent ("bad
// certificate"), or "".
func remoteAlert(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return strings.TrimPrefix(op.Err.Error(), "tls: ")
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func leaf(certs []*x509.Certificate) *x509.Certificate {
	if len(certs) == 0 {
		return nil
	}
	return certs[0]
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// Names lists what a certificate is for (DNS names, IPs, else its CN).
func Names(c *x509.Certificate) string {
	if c == nil {
		return "?"
	}
	var out []string
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		out = append(out, c.Subject.CommonName)
	}
	return strings.Join(out, ", ")
}
