package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/flowfence/flowfence/internal/tlsfiles"
)

// TLSFiles name the serving certificate, its key, and the CAs client
// certificates must chain to (mTLS; none = no client certificate asked).
type TLSFiles struct {
	CertFile, KeyFile string
	ClientCAFiles     []string
}

// Enabled reports whether any TLS file is named.
func (f TLSFiles) Enabled() bool {
	return f.CertFile != "" || f.KeyFile != "" || len(f.ClientCAFiles) > 0
}

// ServerTLS builds the serving TLS configuration.
func ServerTLS(f TLSFiles) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("--tls-cert-file and --tls-key-file: both are needed to serve TLS")
	}
	cert, err := tlsfiles.KeyPair("--tls-cert-file", f.CertFile, "--tls-key-file", f.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if len(f.ClientCAFiles) > 0 {
		pool, err := tlsfiles.CertPool("--tls-client-ca-files", f.ClientCAFiles...)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// CertWarnings returns a warning for a served certificate that is expired
// or not yet valid at now, naming the file and the date: every client
// will refuse it (cfg from ServerTLS(f)).
func CertWarnings(f TLSFiles, cfg *tls.Config, now time.Time) []string {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	leaf := cfg.Certificates[0].Leaf
	if leaf == nil {
		c, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		if err != nil {
			return nil
		}
		leaf = c
	}
	switch {
	case now.After(leaf.NotAfter):
		return []string{fmt.Sprintf("--tls-cert-file %s expired on %s (NotAfter): clients will refuse it; renew it", f.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))}
	case now.Before(leaf.NotBefore):
		return []string{fmt.Sprintf("--tls-cert-file %s is not valid before %s (NotBefore): clients will refuse it until then", f.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339))}
	}
	return nil
}

// Serve serves s on lis until ctx is done, then stops: open follow streams
// get a second to end on their own before the connections close.
func Serve(ctx context.Context, lis net.Listener, s *Server, tlsCfg *tls.Config) error {
	var creds credentials.TransportCredentials
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	g := NewGRPCServer(s, creds)
	done := make(chan error, 1)
	go func() { done <- g.Serve(lis) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		g.Stop()
	}
	<-done
	return nil
}

// TLSConfig is the serving TLS configuration (crypto/tls.Config).
type TLSConfig = tls.Config
