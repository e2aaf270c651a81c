package nats

import (
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestTLS: a cluster that requires TLS with client certificates: each
// failure says what is wrong (the CA, the client certificate); the right
// CA and certificate publish and aggregate.
func TestTLS(t *testing.T) {
	certs := relaytest.NewCerts(t)
	c := newCluster(t, func(o *server.Options) {
		o.TLSConfig, o.TLS, o.TLSVerify = certs.ServerTLS(true), true, true
	})
	dir := t.TempDir()
	url := c.url(0)
	g := filepath.Join(dir, "g.json")
	checkRefusals(t, url, g, []refusal{
		{"no CA", nil, "not signed by a trusted CA (--nats-ca)"},
		{"other CA", []string{"--nats-ca", certs.OtherCA}, "not signed by a trusted CA (--nats-ca)"},
		{"no client certificate", []string{"--nats-ca", certs.CA}, "wants a client certificate it trusts"},
		{"client certificate of another CA", []string{"--nats-ca", certs.CA, "--nats-cert", certs.OtherClientCert, "--nats-key", certs.OtherClientKey}, "wants a client certificate it trusts"},
		{"cert without key", []string{"--nats-ca", certs.CA, "--nats-cert", certs.ClientCert}, "give both"},
	}, nil)
	ok := []string{"--nats-ca", certs.CA, "--nats-cert", certs.ClientCert, "--nats-key", certs.ClientKey}
	run(t, append([]string{"learn", "--quiet", "--from", flows[0], "--graph", g, "--publish", url, "--cluster", "c1"}, ok...)...)
	fleet := filepath.Join(dir, "fleet.json")
	run(t, append([]string{"learn", "--quiet", "--from", url + "?cluster=c1", "--graph", fleet}, ok...)...)
	sameGraph(t, "fleet over mTLS", readGraph(t, fleet), readGraph(t, g))
}
