package tlsfiles_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/tlsfiles"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// leaf is the first certificate of a PEM file.
func leaf(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertPool(t *testing.T) {
	pki := relaytest.NewCerts(t)
	missing := filepath.Join(pki.Dir, "missing.pem")
	cases := []struct {
		name    string
		files   []string
		trusted []string // client certificates the pool must verify
		wantErr string
	}{
		{name: "one CA", files: []string{pki.CA}, trusted: []string{pki.ClientCert}},
		{name: "two CAs", files: []string{pki.CA, pki.OtherCA}, trusted: []string{pki.ClientCert, pki.OtherClientCert}},
		{name: "unreadable", files: []string{pki.CA, missing}, wantErr: "--ca-flag " + missing + ": open " + missing + ": no such file or directory"},
		{name: "no certificate", files: []string{pki.ClientKey}, wantErr: "--ca-flag " + pki.ClientKey + ": no PEM certificate in it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool, err := tlsfiles.CertPool("--ca-flag", c.files...)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range c.trusted {
				opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
				if _, err := leaf(t, f).Verify(opts); err != nil {
					t.Errorf("%s does not verify against the pool: %v", filepath.Base(f), err)
				}
			}
		})
	}
}

func TestKeyPair(t *testing.T) {
	pki := relaytest.NewCerts(t)
	cases := []struct {
		name       string
		cert, key  string
		wantPrefix string
	}{
		{name: "matching", cert: pki.ServerCert, key: pki.ServerKey},
		{name: "key of another certificate", cert: pki.ServerCert, key: pki.ClientKey,
			wantPrefix: "--cert-flag " + pki.ServerCert + " / --key-flag " + pki.ClientKey + ": tls: private key does not match public key"},
		{name: "a CA for a key", cert: pki.ServerCert, key: pki.CA,
			wantPrefix: "--cert-flag " + pki.ServerCert + " / --key-flag " + pki.CA + ": tls: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pair, err := tlsfiles.KeyPair("--cert-flag", c.cert, "--key-flag", c.key)
			if c.wantPrefix != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.wantPrefix) {
					t.Fatalf("err = %v, want it to start %q", err, c.wantPrefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pair.Leaf == nil || !pair.Leaf.Equal(leaf(t, c.cert)) {
				t.Errorf("the pair's certificate is not %s", filepath.Base(c.cert))
			}
		})
	}
}
