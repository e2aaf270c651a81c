package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
)

// TestVerifyTreeWithGuardrails: a tree written with --guardrails carries
// cluster-scoped AdminNetworkPolicies under _cluster/; verify must judge the
// namespaced policies and not choke on them.
func TestVerifyTreeWithGuardrails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tree")
	run := func(args ...string) (string, error) {
		stdout, stderr, _, err := clitest.Run(t, "", args...)
		return stdout + stderr, err
	}
	if msg, err := run("generate", "--from", sample, "--out", out, "--guardrails"); err != nil {
		t.Fatalf("generate --guardrails: %v\n%s", err, msg)
	}
	if entries, err := os.ReadDir(filepath.Join(out, "_cluster")); err != nil || len(entries) == 0 {
		t.Fatalf("no _cluster/ objects written (%v)", err)
	}
	if msg, err := run("verify", "--policies", out, "--from", "../../../testdata/flows/*.json*"); err != nil {
		t.Fatalf("verify of a tree with guardrails: %v\n%s", err, msg)
	}
}
