package hubblerelay

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
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
		pool := x509.NewCertPool()
		for _, p := range o.CAFiles {
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("--tls-ca-cert-files %s: %w", p, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca-cert-files %s: no PEM certificate in it", p)
			}
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-cert-file %s / --tls-client-key-file %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case o.CertFile != "":
		return nil, errors.New("--tls-client-cert-file: needs --tls-client-key-file too")
	case o.KeyFile != "":
		return nil, errors.New("--tls-client-key-file: needs --tls-client-cert-file too")
	}
	return cfg, nil
}
