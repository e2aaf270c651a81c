package root_test

import (
	"strings"
	"testing"
)

// TestNATSSecretsNeverPrinted: config view shows the NATS password and
// token as REDACTED, whether they came from flags or the environment; the
// user name and file paths are shown.
func TestNATSSecretsNeverPrinted(t *testing.T) {
	t.Setenv("FLOWFENCE_NATS_TOKEN", "env-T0ken-secret")
	out, _, err := run(t, "", "config", "view", "--nats-user", "ops", "--nats-password", "flag-Pa55-secret", "--nats-creds", "/etc/nats/ff.creds")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"flag-Pa55-secret", "env-T0ken-secret"} {
		if strings.Contains(out, secret) {
			t.Fatalf("config view prints a secret:\n%s", out)
		}
	}
	for _, want := range []string{"password: REDACTED", "token: REDACTED", "user: ops", "creds: /etc/nats/ff.creds"} {
		if !strings.Contains(out, want) {
			t.Errorf("config view lacks %q:\n%s", want, out)
		}
	}
}

// TestPublishFlags: --publish without --cluster, a bad cluster name and
// --replace with --publish are refused before anything is read.
func TestPublishFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--publish", "nats://127.0.0.1:1"}, "needs --cluster"},
		{[]string{"--publish", "nats://127.0.0.1:1", "--cluster", "Prod EU"}, "--cluster"},
		{[]string{"--publish", "nats://127.0.0.1:1", "--cluster", "c1", "--replace"}, "--replace with --publish"},
		{[]string{"--publish", "nats://127.0.0.1:1", "--cluster", "c1", "--nats-replicas", "7"}, "--nats-replicas 7"},
	} {
		args := append([]string{"learn", "--from", "../../../testdata/flows/node-a.jsonl", "--graph", t.TempDir() + "/g.json"}, c.args...)
		_, _, err := run(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}
