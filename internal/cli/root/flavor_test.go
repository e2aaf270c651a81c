package root_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/testsupport"
)

// TestGenerateCiliumAndGuardrails runs the binary's generate for the cilium
// flavor (flags, environment and config file) and the k8s guardrails, and
// checks the flag errors a user gets for options of another flavor.
func TestGenerateCiliumAndGuardrails(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flowfence.yaml")
	if err := os.WriteFile(cfg, []byte("cilium:\n  fqdn: true\n  fqdn-patterns: ['*.stripe.com']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		files   map[string]string // file → a string it must contain
		absent  []string
		wantErr string
	}{
		{
			name:   "cilium flavor",
			args:   []string{"--format", "cilium"},
			files:  map[string]string{"_cluster/01-metadata-guard.yaml": "kind: CiliumClusterwideNetworkPolicy", "shop/00-default-deny.yaml": "kind: CiliumNetworkPolicy", "ROLLOUT.md": "## Cilium"},
			absent: []string{"toFQDNs", "rules:"},
		},
		{
			name:  "--fqdn",
			args:  []string{"--format", "cilium", "--fqdn"},
			files: map[string]string{"payments/worker-egress.yaml": "matchName: api.stripe.com", "payments/01-allow-dns.yaml": "matchPattern: '*'"},
		},
		{
			name:  "fqdn from the config file",
			args:  []string{"--format", "cilium", "--config", cfg},
			files: map[string]string{"payments/worker-egress.yaml": "matchPattern: '*.stripe.com'"},
		},
		{
			name:  "guardrails from the environment",
			env:   map[string]string{"FLOWFENCE_GUARDRAILS_ENABLED": "true", "FLOWFENCE_GUARDRAILS_BASELINE_DENY": "true"},
			files: map[string]string{"_cluster/01-metadata-guard.yaml": "kind: AdminNetworkPolicy", "_cluster/02-baseline-default-deny.yaml": "kind: BaselineAdminNetworkPolicy", "shop/00-default-deny.yaml": "kind: NetworkPolicy"},
		},
		{name: "--fqdn needs cilium", args: []string{"--fqdn"}, wantErr: "--fqdn"},
		{name: "--baseline-deny is not for cilium", args: []string{"--format", "cilium", "--baseline-deny"}, wantErr: "not enforced by Cilium"},
		{name: "bad pattern", args: []string{"--format", "cilium", "--fqdn", "--fqdn-pattern", "a b"}, wantErr: "cilium.fqdn-patterns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "policies")
			_, stderr, err := run(t, "", append([]string{"generate", "--quiet", "--from", sample, "--out", out}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("generate: %v\n%s", err, stderr)
			}
			tree := testsupport.ReadTree(t, out)
			for f, want := range tt.files {
				if !strings.Contains(tree[f], want) {
					t.Errorf("%s lacks %q", f, want)
				}
			}
			for f, body := range tree {
				for _, a := range tt.absent {
					if strings.HasSuffix(f, ".yaml") && strings.Contains(body, a) {
						t.Errorf("%s contains %q", f, a)
					}
				}
			}
		})
	}
}
