package hubblerelay_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestErrorHintsMatchTheCause: each way a TLS set-up goes wrong, against
// the real relay over loopback, gets the hint for that cause (and not
// another's).
func TestErrorHintsMatchTheCause(t *testing.T) {
	rec, certs, plain, tlsRelay, mtlsRelay := tlsRelays(t)
	mtls12 := certs.ServerTLS(true)
	mtls12.MaxVersion = tls.VersionTLS12
	mtls12Relay := relaytest.Start(t, rec, relay.Options{}, mtls12)
	expiredRelay := relaytest.Start(t, rec, relay.Options{}, certs.ExpiredServerTLS())
	ca := []string{certs.CA}
	other := hubblerelay.TLSOptions{CAFiles: ca, CertFile: certs.OtherClientCert, KeyFile: certs.OtherClientKey}
	tests := []struct {
		name      string
		url       string
		tls       hubblerelay.TLSOptions
		want, not []string
	}{
		{name: "TLS client, plaintext relay", url: "hubble+tls://" + plain.Addr, tls: hubblerelay.TLSOptions{CAFiles: ca},
			want: []string{"does not speak TLS at " + plain.Addr, "use hubble://" + plain.Addr}, not: []string{"certificate"}},
		{name: "plaintext client, TLS relay", url: "hubble://" + tlsRelay.Addr,
			want: []string{"speaks TLS: use hubble+tls://" + tlsRelay.Addr, "--tls-ca-cert-files"}},
		{name: "relay certificate from an unknown CA", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: []string{certs.OtherCA}},
			want: []string{`issued by "flowfence test CA"`, "not signed by a CA in --tls-ca-cert-files"}, not: []string{"expired", "client certificate"}},
		{name: "expired relay certificate", url: "hubble+tls://" + expiredRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: ca},
			want: []string{"the relay's certificate expired on " + certs.ExpiredAt.UTC().Format(time.RFC3339), "renew it"}, not: []string{"--tls-ca-cert-files"}},
		{name: "name not in the relay certificate", url: "hubble+tls://" + tlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: ca, ServerName: "other.example"},
			want: []string{`is for "` + relaytest.ServerName + `, localhost, 127.0.0.1`, "--tls-server-name"}},
		{name: "mTLS relay, no client certificate", url: "hubble+tls://" + mtlsRelay.Addr, tls: hubblerelay.TLSOptions{CAFiles: ca},
			want: []string{"requires a client certificate (mTLS)", "--tls-client-cert-file"}, not: []string{"rejected"}},
		{name: "mTLS relay, client certificate from a CA it does not trust (TLS 1.3)", url: "hubble+tls://" + mtlsRelay.Addr, tls: other,
			want: []string{"rejected our client certificate", "signed by a CA the relay trusts"}, not: []string{"requires a client certificate", "--tls-ca-cert-files"}},
		{name: "mTLS relay, client certificate from a CA it does not trust (TLS 1.2)", url: "hubble+tls://" + mtls12Relay.Addr, tls: other,
			want: []string{"rejected our client certificate", "signed by a CA the relay trusts"}, not: []string{"requires a client certificate", "--tls-ca-cert-files"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, _, err := run(t, ctx, tc.url, hubblerelay.Options{TLS: tc.tls, MaxReconnects: 0}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			hint := msg[strings.LastIndex(msg, "; ")+2:]
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(hint, w) {
					t.Errorf("hint says %q, the hint of another cause:\n%s", w, hint)
				}
			}
		})
	}
}
