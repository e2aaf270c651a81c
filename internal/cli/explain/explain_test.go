package explain_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
)

const sample = clitest.Sample

// TestExplainCommand runs learn and generate on the sample, then explain
// on the tree with the graph: text and JSON, a flow and a rule, and the
// errors a user meets first (no graph, a malformed argument, no
// --policies).
func TestExplainCommand(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join(dir, "graph.json")
	tree := filepath.Join(dir, "policies")
	if _, stderr, _, err := clitest.Run(t, "", "learn", "--quiet", "--from", sample, "--graph", graph); err != nil {
		t.Fatalf("learn: %v\n%s", err, stderr)
	}
	if _, stderr, _, err := clitest.Run(t, "", "generate", "--quiet", "--from", graph, "--out", tree, "--format", "cilium"); err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	cases := []struct {
		name string
		args []string
		// want in stdout (or, with fail, in the error)
		want []string
		fail bool
	}{
		{"admitted", []string{"shop/frontend -> shop/cart:8080/TCP"},
			[]string{"flow shop/frontend -> shop/cart TCP/8080: ALLOWED", "cilium policies, cilium semantics", "admitted by  shop/cart-ingress ingress rule 0", "(shop/cart-ingress.yaml)"}, false},
		{"denied", []string{"shop/cart -> data/redis:6380/TCP"},
			[]string{"DENIED", "nearest rule data/redis-ingress", "port differs: the rule admits TCP/6379; the flow has TCP/6380"}, false},
		{"rule as two words", []string{"data/postgres-ingress#ingress", "0"},
			[]string{"policy data/postgres-ingress (data/postgres-ingress.yaml), ingress rule 0", "payments/api -> data/postgres TCP/5432: 61 flows"}, false},
		{"json", []string{"-o", "json", "data/backup-egress#egress"},
			[]string{`"flowfenceExplain": 1`, `"kind": "rule"`, `"dnsNames": [`, `"backups.s3.example.com"`}, false},
		{"malformed flow", []string{"shop/frontend -> shop/cart"}, []string{`FLOW "shop/frontend -> shop/cart"`, "no :PORT"}, true},
		{"malformed rule", []string{"shop/cart-ingress#up"}, []string{`RULE "shop/cart-ingress#up"`}, true},
		{"bad output", []string{"-o", "yaml", "shop/cart-ingress"}, []string{`-o "yaml"`}, true},
		{"cni of another CNI", []string{"--cni", "calico", "shop/cart-ingress"}, []string{"--cni calico: the cilium flavor is enforced by Cilium"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"explain", "--policies", tree, "--graph", graph}, c.args...)
			out, _, code, err := clitest.Run(t, "", args...)
			if c.fail {
				if err == nil || code != 1 {
					t.Fatalf("exit %d, err %v; want an error", code, err)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if c.name == "json" {
				var doc map[string]any
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("not JSON: %v", err)
				}
			}
		})
	}
	// no --graph: the tree's own .flowfence/graph.json, else a clear error
	// (generate wrote it; a tree without it is one from an older generate)
	if err := os.Remove(filepath.Join(tree, ".flowfence", "graph.json")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := clitest.Run(t, "", "explain", "--policies", tree, "shop/cart-ingress")
	if err == nil || !strings.Contains(err.Error(), "pass --graph FILE") {
		t.Errorf("without --graph and without the tree's graph: %v", err)
	}
	if _, _, _, err := clitest.Run(t, "", "explain", "shop/cart-ingress"); err == nil || !strings.Contains(err.Error(), "--policies: required") {
		t.Errorf("without --policies: %v", err)
	}
	// the graph where generate --out keeps it (a tree from an older
	// generate has the marker file .flowfence instead)
	marker := filepath.Join(tree, ".flowfence")
	if st, err := os.Stat(marker); err == nil && !st.IsDir() {
		if err := os.Remove(marker); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(marker, "graph.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _, err := clitest.Run(t, "", "explain", "--policies", tree, "shop/cart-ingress")
	if err != nil || !strings.Contains(out, "shop/frontend -> shop/cart TCP/8080") {
		t.Errorf("with DIR/.flowfence/graph.json: %v\n%s", err, out)
	}
}
