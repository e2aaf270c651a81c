// Package relaytest runs replay relays on loopback for tests, as httptest
// runs HTTP servers: start, kill, restart on the same port, cut every
// connection, and certificates (CA, server, client) made on the spot.
package relaytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/relay"
)

// SampleGlob returns the glob of the repository's sample flows
// (testdata/flows), found from this source file.
func SampleGlob() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "flows", "*.json*")
}

// Sample loads the repository's sample flows.
func Sample(t testing.TB) *relay.Recording {
	t.Helper()
	rec, err := relay.Load(context.Background(), []string{SampleGlob()}, collectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// Relay is a replay relay serving on loopback.
type Relay struct {
	t      testing.TB
	Addr   string
	Server *relay.Server
	rec    *relay.Recording
	opts   relay.Options
	tls    *tls.Config
	mu     sync.Mutex
	grpc   *grpc.Server
	done   chan struct{}
}

// Start serves rec on 127.0.0.1 (a free port) until the test ends.
func Start(t testing.TB, rec *relay.Recording, opts relay.Options, tlsCfg *tls.Config) *Relay {
	t.Helper()
	r := &Relay{t: t, rec: rec, opts: opts, tls: tlsCfg}
	r.start("127.0.0.1:0")
	t.Cleanup(r.Kill)
	return r
}

func (r *Relay) start(addr string) {
	r.t.Helper()
	var lis net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port of a killed relay may linger a moment
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("listen %s: %v", addr, err)
	}
	r.Addr = lis.Addr().String()
	var creds credentials.TransportCredentials
	if r.tls != nil {
		creds = credentials.NewTLS(r.tls)
	}
	r.Server = relay.New(r.rec, r.opts)
	g := relay.NewGRPCServer(r.Server, creds)
	done := make(chan struct{})
	go func() { _ = g.Serve(lis); close(done) }()
	r.mu.Lock()
	r.grpc, r.done = g, done
	r.mu.Unlock()
}

// Kill stops the relay at once: open streams break, the port closes.
func (r *Relay) Kill() {
	r.mu.Lock()
	g, done := r.grpc, r.done
	r.grpc = nil
	r.mu.Unlock()
	if g != nil {
		g.Stop()
		<-done
	}
}

// Restart starts a new relay (fresh server state) on the same address.
func (r *Relay) Restart() {
	r.t.Helper()
	r.Kill()
	r.start(r.Addr)
}

// RestartWith restarts the relay on the same address with new options
// (say, realtime before and fast after).
func (r *Relay) RestartWith(opts relay.Options) {
	r.t.Helper()
	r.Kill()
	r.opts = opts
	r.start(r.Addr)
}

// Proxy forwards TCP connections to a backend and can cut them all, like
// a network failure between a client and a relay, or freeze them, like a
// peer that vanished without closing (a black hole).
type Proxy struct {
	Addr    string
	backend string
	lis     net.Listener
	mu      sync.Mutex
	conns   []*proxied
	cuts    int
}

// proxied is one forwarded connection (client side a, backend side b).
type proxied struct {
	a, b   net.Conn
	frozen atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *proxied) close() {
	c.once.Do(func() { close(c.closed); c.a.Close(); c.b.Close() })
}

// StartProxy forwards 127.0.0.1:free → backend until the test ends.
func StartProxy(t testing.TB, backend string) *Proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: lis.Addr().String(), backend: backend, lis: lis}
	go p.accept()
	t.Cleanup(func() { lis.Close(); p.Cut() })
	return p
}

func (p *Proxy) accept() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{a: c, b: b, closed: make(chan struct{})}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		go pc.pipe(b, c)
		go pc.pipe(c, b)
	}
}

// pipe copies src to dst; while the connection is frozen what it reads
// is held back, until the connection is cut.
func (c *proxied) pipe(dst, src net.Conn) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if c.frozen.Load() {
				<-c.closed
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut closes every open connection (new ones are accepted).
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.close()
	}
	p.conns = nil
	p.cuts++
}

// Freeze stops every open connection dead: nothing passes either way and
// nothing closes, as when the peer's host vanished (new connections pass).
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.frozen.Store(true)
	}
}

// Certs are PEM files of a test PKI in Dir.
type Certs struct {
	Dir                   string
	CA, OtherCA           string // CA certificates
	ServerCert, ServerKey string // for 127.0.0.1, ::1, localhost and the server name
	ClientCert, ClientKey string // a client certificate signed by CA
	// ExpiredServerCert/Key: the server certificate's names, signed by CA,
	// expired an hour ago (NotAfter ExpiredAt).
	ExpiredServerCert, ExpiredServerKey string
	ExpiredAt                           time.Time
	// OtherClientCert/Key: a client certificate signed by OtherCA, which
	// the servers here do not trust for clients.
	OtherClientCert, OtherClientKey string
	ServerName                      string
	serverPair, clientPair          tls.Certificate
	expiredPair                     tls.Certificate
	caPool                          *x509.CertPool
}

// ServerName is the DNS name in the test server certificate besides
// localhost.
const ServerName = "relay.flowfence.test"

// NewCerts makes a CA, a server and a client certificate in a temp dir.
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	return NewCertsFor(t, ServerName)
}

// NewCertsFor is NewCerts with serverName, not ServerName, in the server
// certificate (a source that dials its server by a fixed default name).
func NewCertsFor(t testing.TB, serverName string) *Certs {
	t.Helper()
	dir := t.TempDir()
	c := &Certs{Dir: dir, ServerName: serverName}
	caKey, caCert, caDER := newCA(t, "flowfence test CA")
	otherKey, otherCert, otherDER := newCA(t, "some other CA")
	c.CA = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	c.OtherCA = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherDER)
	c.caPool = x509.NewCertPool()
	c.caPool.AddCert(caCert)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: serverName},
		DNSNames: []string{serverName, "localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	c.ServerCert, c.ServerKey, c.serverPair = issue(t, dir, "server", srv, caCert, caKey)
	cli := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "flowfence"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	c.ClientCert, c.ClientKey, c.clientPair = issue(t, dir, "client", cli, caCert, caKey)
	expired := *srv
	expired.SerialNumber = big.NewInt(4)
	expired.NotBefore, expired.NotAfter = time.Now().Add(-48*time.Hour).Truncate(time.Second), time.Now().Add(-time.Hour).Truncate(time.Second)
	c.ExpiredAt = expired.NotAfter
	c.ExpiredServerCert, c.ExpiredServerKey, c.expiredPair = issue(t, dir, "server-expired", &expired, caCert, caKey)
	other := *cli
	other.SerialNumber = big.NewInt(5)
	c.OtherClientCert, c.OtherClientKey, _ = issue(t, dir, "client-other", &other, otherCert, otherKey)
	return c
}

// ExpiredServerTLS serves the expired server certificate.
func (c *Certs) ExpiredServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.expiredPair}, MinVersion: tls.VersionTLS12}
}

// ServerTLS serves the server certificate; with mTLS it requires client
// certificates signed by the CA.
func (c *Certs) ServerTLS(mTLS bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{c.serverPair}, MinVersion: tls.VersionTLS12}
	if mTLS {
		cfg.ClientCAs, cfg.ClientAuth = c.caPool, tls.RequireAndVerifyClientCert
	}
	return cfg
}

func newCA(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	key, der := keyAndCert(t, tmpl, nil, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

// keyAndCert makes a P-256 key and the DER certificate of tmpl for it,
// signed by ca's key caKey, or self-signed when ca is nil.
func keyAndCert(t testing.TB, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if ca == nil {
		ca, caKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func issue(t testing.TB, dir, name string, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key, der := keyAndCert(t, tmpl, ca, caKey)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writePEM(t, dir, name+".pem", "CERTIFICATE", der)
	keyFile = writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
