package hubblerelay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/tlsdiag"
	"github.com/flowfence/flowfence/internal/tlsfiles"
)

// TLSOptions are the client TLS settings, named as the Hubble CLI names
// its flags.
type TLSOptions struct {
	// CAFiles are the CAs the relay's certificate must chain to
	// (--tls-ca-cert-files); none means the system roots.
	CAFiles []string
	// CertFile and KeyFile are the client certificate for mTLS
	// (--tls-client-cert-file, --tls-client-key-file).
	CertFile, KeyFile string
	// ServerName is the name the relay's certificate must carry
	// (--tls-server-name), e.g. *.hubble-relay.cilium.io behind a
	// port-forward to localhost.
	ServerName string
	// AllowInsecure skips the verification of the relay's certificate
	// (--tls-allow-insecure). Loud: a warning every run.
	AllowInsecure bool
}

// Set reports whether any TLS option is given.
func (o TLSOptions) Set() bool {
	return len(o.CAFiles) > 0 || o.CertFile != "" || o.KeyFile != "" || o.ServerName != "" || o.AllowInsecure
}

// Config builds the client TLS configuration; certificates are verified
// unless AllowInsecure.
func (o TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName, InsecureSkipVerify: o.AllowInsecure} //nolint:gosec // explicit, loud opt-in
	if len(o.CAFiles) > 0 {
		pool, err := tlsfiles.CertPool("--tls-ca-cert-files", o.CAFiles...)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tlsfiles.KeyPair("--tls-client-cert-file", o.CertFile, "--tls-client-key-file", o.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	case o.CertFile != "":
		return nil, errors.New("--tls-client-cert-file: needs --tls-client-key-file too")
	case o.KeyFile != "":
		return nil, errors.New("--tls-client-key-file: needs --tls-client-cert-file too")
	}
	return cfg, nil
}

// hint explains a failed first contact: a refused connection or an
// unknown host is the usual port-forward problem; anything else is
// diagnosed with a TLS (or plaintext) handshake of our own, whose typed
// errors say whether the relay speaks TLS, which certificate check failed,
// or why it refused our client certificate.
func (s *Source) hint(ctx context.Context, err error, msg string) string {
	if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
		return Hint
	}
	for _, plain := range []string{"connection refused", "no such host", "i/o timeout", "network is unreachable", "no route to host"} {
		if strings.Contains(msg, plain) {
			return Hint // not reached at all: no handshake to diagnose
		}
	}
	var cfg *tls.Config
	if s.useTLS {
		c, cerr := s.opts.TLS.Config()
		if cerr != nil {
			return Hint
		}
		cfg = c
	}
	r := tlsdiag.Probe(ctx, s.addr, cfg, nil)
	when := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch r.Cause {
	case tlsdiag.PlaintextServer:
		return "the relay does not speak TLS at " + s.addr + ": use " + Scheme + s.addr + " (or the relay's TLS port)"
	case tlsdiag.TLSServer:
		return "the relay at " + s.addr + " speaks TLS: use " + SchemeTLS + s.addr + " with --tls-ca-cert-files (the CA that signed its certificate)"
	case tlsdiag.UnknownAuthority:
		return fmt.Sprintf("the relay's certificate (issued by %s) is not signed by a CA in --tls-ca-cert-files (or the system roots, without it): give the CA that signed it",
			escape.Snippet(r.Cert.Issuer.CommonName, 80))
	case tlsdiag.Expired:
		return "the relay's certificate expired on " + when(r.Cert.NotAfter) + ": renew it (Cilium renews the certificates it generates: hubble.tls.auto)"
	case tlsdiag.NotYetValid:
		return "the relay's certificate is not valid before " + when(r.Cert.NotBefore) + ": check the clocks of this machine and of whoever issued it"
	case tlsdiag.HostnameMismatch:
		return fmt.Sprintf("the relay's certificate is for %s, not the name verified: set --tls-server-name to one of them (behind a port-forward, the relay's own name)",
			escape.Snippet(tlsdiag.Names(r.Cert), 200))
	case tlsdiag.ClientCertRequired:
		return "the relay requires a client certificate (mTLS): give --tls-client-cert-file and --tls-client-key-file"
	case tlsdiag.ClientCertRejected:
		why := "the relay sent: " + orClosed(r.Alert)
		if r.Untrusted {
			why = "it is not signed by any CA the relay named as trusted, so it was not even sent"
		}
		return "the relay rejected our client certificate (" + why + "): it must be signed by a CA the relay trusts for clients; check --tls-client-cert-file and --tls-client-key-file"
	case tlsdiag.ClosedDuringHandshake:
		return "the relay closed the connection during the TLS handshake: it may not speak TLS here (try " + Scheme + s.addr + ") or may refuse this client"
	}
	return Hint
}

func orClosed(alert string) string {
	if alert == "" {
		return "the connection closed"
	}
	return escape.Terminal(alert)
}
