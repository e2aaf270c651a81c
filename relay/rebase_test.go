package relay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestRebased: --rebase moves the recording so that its newest flow is
// now (fast: the buffer holds the recent past) or its oldest is now
// (realtime), whole seconds, never into the future; the spacing of the
// flows stays.
func TestRebased(t *testing.T) {
	rec := relaytest.Sample(t)
	first, last := rec.Span()
	now := time.Date(2027, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		name     string
		startNow bool
	}{{"fast: ends now", false}, {"realtime: starts now", true}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rec.Rebased(now, tc.startNow)
			if err != nil {
				t.Fatal(err)
			}
			gf, gl := got.Span()
			anchor := gl
			if tc.startNow {
				anchor = gf
			}
			if anchor.After(now) || now.Sub(anchor) >= time.Second {
				t.Errorf("anchor flow at %s, want within the second before %s", anchor, now)
			}
			if gl.Sub(gf) != last.Sub(first) || gf.Sub(first)%time.Second != 0 {
				t.Errorf("span %s .. %s from %s .. %s: want the same span moved by whole seconds", gf, gl, first, last)
			}
			if got.Len() != rec.Len() {
				t.Errorf("%d events, want %d", got.Len(), rec.Len())
			}
		})
	}
}

// TestCertWarnings: `flowfence relay` warns at start when the certificate
// it serves is expired (naming the file and its NotAfter), and not for a
// valid one.
func TestCertWarnings(t *testing.T) {
	certs := relaytest.NewCerts(t)
	for _, tc := range []struct {
		name      string
		cert, key string
		now       time.Time
		want      string
	}{
		{name: "expired", cert: certs.ExpiredServerCert, key: certs.ExpiredServerKey, now: time.Now(),
			want: "--tls-cert-file " + certs.ExpiredServerCert + " expired on " + certs.ExpiredAt.UTC().Format(time.RFC3339) + " (NotAfter)"},
		{name: "not yet valid", cert: certs.ServerCert, key: certs.ServerKey, now: time.Now().Add(-72 * time.Hour),
			want: "--tls-cert-file " + certs.ServerCert + " is not valid before"},
		{name: "valid", cert: certs.ServerCert, key: certs.ServerKey, now: time.Now()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := relay.TLSFiles{CertFile: tc.cert, KeyFile: tc.key}
			cfg, err := relay.ServerTLS(files)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(relay.CertWarnings(files, cfg, tc.now), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
