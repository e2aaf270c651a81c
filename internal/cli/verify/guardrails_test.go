package verify_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyTreeWithGuardrails: a tree written with --guardrails carries
// cluster-scoped AdminNetworkPolicies under _cluster/; verify must judge the
// namespaced policies and not choke on them.
func TestVerifyTreeWithGuardrails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tree")
	must(t, "generate", "--from", sample, "--out", out, "--guardrails")
	if entries, err := os.ReadDir(filepath.Join(out, "_cluster")); err != nil || len(entries) == 0 {
		t.Fatalf("no _cluster/ objects written (%v)", err)
	}
	if stdout, stderr, _, err := run(t, "verify", "--policies", out, "--from", sample); err != nil {
		t.Fatalf("verify of a tree with guardrails: %v\n%s%s", err, stdout, stderr)
	}
}
