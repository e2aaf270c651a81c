// Package kubeapi runs a real Kubernetes API server for tests: Debian's
// etcd (etcd-server) and kube-apiserver built from k8s.io/kubernetes (this
// nested module's tool, cached in bin/kubeapi/ of the repository), both on
// loopback, with token authentication (--token-auth-file), RBAC
// authorization, self-signed serving certificates and service-account
// keys generated for the run. No controller runs (no controller-manager,
// no scheduler, no kubelet): objects stay as they are created, so a test
// creates Pods and ReplicaSets itself, with their ownerReferences.
//
// Start skips the test, saying why, when etcd is not installed (`make
// test-kubeapi` installs it as root); it builds kube-apiserver when the
// cached binary is missing. Server gives REST configs and kubeconfigs for
// the admin (system:masters) and for the users the test declares, whose
// rights the test grants with RBAC objects.
package kubeapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// BinaryEnv overrides where the kube-apiserver binary is (default:
// bin/kubeapi/kube-apiserver at the repository root, built when missing).
const BinaryEnv = "FLOWFENCE_KUBE_APISERVER"

// AdminUser is the user of the admin token (group system:masters).
const AdminUser = "kubeapi-admin"

// User is a token user of the server: RBAC grants it nothing until the
// test binds a role to Name or to one of its Groups.
type User struct {
	Name, Token string
	Groups      []string
}

// Options configure Start.
type Options struct {
	// Users besides the admin.
	Users []User
	// ReadyTimeout bounds the wait for /readyz (0: 3 minutes: the server
	// is ready in about 20 s on an idle machine).
	ReadyTimeout time.Duration
}

// Server is a running API server.
type Server struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// CA is the PEM certificate that signed the serving certificate.
	CA []byte
	// AdminToken authenticates as AdminUser.
	AdminToken string
	// Dir holds the server's files (certificates, tokens, etcd data,
	// logs: etcd.log, kube-apiserver.log).
	Dir string
}

// RepoRoot is the flowfence repository root: the directory above this
// nested module (tests/kubeapi).
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the tests/kubeapi module")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(mod), "..", "..")), nil
}

// Binary returns the kube-apiserver binary, building it into the
// repository's bin/kubeapi/ when it is missing (several minutes with a
// cold build cache; `make test-kubeapi` builds it ahead).
func Binary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin", "kubeapi", "kube-apiserver")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, "k8s.io/kubernetes/cmd/kube-apiserver")
	cmd.Dir = filepath.Join(root, "tests", "kubeapi")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kube-apiserver: %v\n%s", err, out)
	}
	return bin, nil
}

// Start starts etcd and kube-apiserver and waits until the server is
// ready; both stop when the test ends. It skips the test when etcd is
// missing.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd is not installed: `make test-kubeapi` installs Debian's etcd-server (as root), or apt-get install etcd-server")
	}
	apiserver, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	s := &Server{Dir: t.TempDir(), AdminToken: randomToken()}
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	s.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	start(t, s.Dir, "etcd", etcd,
		"--name", "kubeapi", "--data-dir", filepath.Join(s.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "kubeapi="+peerURL, "--log-level", "warn")
	files, err := s.writeFiles(opts.Users)
	if err != nil {
		t.Fatal(err)
	}
	exited := start(t, s.Dir, "kube-apiserver", apiserver,
		"--etcd-servers", etcdURL,
		// no Endpoints for the kubernetes Service: its loopback address
		// is refused there, and nothing here needs them
		"--endpoint-reconciler-type", "none",
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(ports[2]),
		"--tls-cert-file", files.cert, "--tls-private-key-file", files.key,
		"--token-auth-file", files.tokens, "--anonymous-auth=false",
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", files.saPub, "--service-account-signing-key-file", files.saKey,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--cert-dir", filepath.Join(s.Dir, "certs"))
	if err := s.waitReady(opts.ReadyTimeout, exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "kube-apiserver.log"))
		t.Fatalf("%v\nkube-apiserver.log (tail):\n%s", err, tail(log, 4000))
	}
	return s
}

// start runs a server process, logging to DIR/NAME.log, stopped (SIGTERM,
// then killed) when the test ends; the channel is closed when it exits.
func start(t testing.TB, dir, name, bin string, args ...string) <-chan struct{} {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = log.Close()
	})
	return done
}

type serverFiles struct{ cert, key, tokens, saKey, saPub string }

// writeFiles writes the CA-signed serving certificate, the token file and
// the service-account key pair.
func (s *Server) writeFiles(users []User) (serverFiles, error) {
	f := serverFiles{
		cert: filepath.Join(s.Dir, "serving.crt"), key: filepath.Join(s.Dir, "serving.key"),
		tokens: filepath.Join(s.Dir, "tokens.csv"), saKey: filepath.Join(s.Dir, "sa.key"), saPub: filepath.Join(s.Dir, "sa.pub"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeapi test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	s.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), s.CA...)
	if err := os.WriteFile(f.cert, certPEM, 0o600); err != nil {
		return f, err
	}
	if err := writeKey(f.key, key); err != nil {
		return f, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	if err := writeKey(f.saKey, saKey); err != nil {
		return f, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return f, err
	}
	if err := os.WriteFile(f.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return f, err
	}
	var tokens bytes.Buffer
	fmt.Fprintf(&tokens, "%s,%s,%s,\"system:masters\"\n", s.AdminToken, AdminUser, AdminUser)
	for _, u := range users {
		if u.Token == "" || strings.ContainsAny(u.Token+u.Name+strings.Join(u.Groups, ""), ",\"\n") {
			return f, fmt.Errorf("user %q: a token is required, and no name, token or group may hold a comma, quote or newline", u.Name)
		}
		fmt.Fprintf(&tokens, "%s,%s,%s,\"%s\"\n", u.Token, u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	return f, os.WriteFile(f.tokens, tokens.Bytes(), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// waitReady polls /readyz as the admin until it answers 200, or the
// process exits.
func (s *Server) waitReady(timeout time.Duration, exited <-chan struct{}) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("kube-apiserver exited before it was ready")
		default:
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		resp, err := c.Do(req)
		if err == nil {
			body := make([]byte, 2048)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body[:n])
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s: %s", timeout, last)
}

// Config is a REST config authenticating with token.
func (s *Server) Config(token string) *rest.Config {
	return &rest.Config{Host: s.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: s.CA}, QPS: 100, Burst: 200}
}

// AdminConfig is the admin's REST config.
func (s *Server) AdminConfig() *rest.Config { return s.Config(s.AdminToken) }

// WriteKubeconfig writes a kubeconfig at path whose current context
// (named context) authenticates with token.
func (s *Server) WriteKubeconfig(path, context, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubeapi"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.CA}
	cfg.AuthInfos[context] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: "kubeapi", AuthInfo: context}
	cfg.CurrentContext = context
	return clientcmd.WriteToFile(*cfg, path)
}

// Kubectl runs kubectl as the admin (a kubeconfig in Dir) and returns its
// standard output; an error carries its standard error.
func (s *Server) Kubectl(ctx context.Context, args ...string) (string, error) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return "", errors.New("kubectl is not installed: `make test-kubeapi` installs it")
	}
	kc := filepath.Join(s.Dir, "admin.kubeconfig")
	if _, err := os.Stat(kc); err != nil {
		if err := s.WriteKubeconfig(kc, "admin", s.AdminToken); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kc}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// RandomToken returns a fresh bearer token for a User.
func RandomToken() string { return randomToken() }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
