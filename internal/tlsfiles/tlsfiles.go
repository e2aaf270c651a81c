// Package tlsfiles reads the PEM files a TLS flag names (CA bundles, a
// certificate and its key) for every TLS configuration flowfence builds
// (hubble://, goldmane://, nats:// and the replay relay), with one wording
// of the errors: the flag, then the file, then what is wrong.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// CertPool returns a pool of the certificates in files, PEM bundles that
// flag names; a file that cannot be read or holds no PEM certificate is an
// error naming flag and the file.
func CertPool(flag string, files ...string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, p := range files {
		pem, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, p, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s: no PEM certificate in it", flag, p)
		}
	}
	return pool, nil
}

// KeyPair loads the certificate certFile (flag certFlag) and its key
// keyFile (flag keyFlag); an error names both flags and files.
func KeyPair(certFlag, certFile, keyFlag, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %s / %s %s: %w", certFlag, certFile, keyFlag, keyFile, err)
	}
	return pair, nil
}
