package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// generatedFlavor writes the tree generate writes for the sample in a
// flavor (cilium, calico).
func generatedFlavor(t *testing.T, format string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--out", dir, "--format", format)
	return dir
}

// TestVerifyAndDiffEveryFlavor is the periodic job of a Cilium or Calico
// user: verify and diff of the tree generate wrote, against the same
// flows, pass (ICMP counted as admitted: both flavors express it); a tree
// missing a rule fails with exit 3 naming the flow and the policies; a
// --cni naming another CNI than the tree's is an error.
func TestVerifyAndDiffEveryFlavor(t *testing.T) {
	for _, c := range []struct {
		format, cni string
		ingress     string // how the mutated tree's denial reads
	}{
		{"cilium", "cilium", "ingress: DENIED: isolated by shop/default-deny (shop/00-default-deny.yaml), no rule admits it"},
		{"calico", "calico", "ingress: DENIED: isolated by shop/default-deny (shop/00-default-deny.yaml), no rule admits it"},
	} {
		t.Run(c.format, func(t *testing.T) {
			dir := generatedFlavor(t, c.format)
			for _, args := range [][]string{
				{"verify", "--policies", dir, "--from", sample},
				{"verify", "--policies", dir, "--from", sample, "--cni", c.cni},
			} {
				stdout, stderr, code, err := run(t, args...)
				if code != 0 {
					t.Fatalf("%v: exit %d (%v)\n%s\n%s", args, code, err, stdout, stderr)
				}
				for _, want := range []string{"43 observed request edges", "denied:          0", "inexpressible:   0", "guarded:         1", "PASS"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("%v: stdout lacks %q:\n%s", args, want, stdout)
					}
				}
			}
			stdout, stderr, code, err := run(t, "diff", "--policies", dir, "--from", sample)
			if code != 0 {
				t.Fatalf("diff: exit %d (%v)\n%s\n%s", code, err, stdout, stderr)
			}
			other := map[string]string{"cilium": "calico", "calico": "cilium"}[c.format]
			_, _, code, err = run(t, "verify", "--policies", dir, "--from", sample, "--cni", other)
			if code != 1 || err == nil || !strings.Contains(err.Error(), "--cni "+other) {
				t.Errorf("--cni %s on a %s tree: exit %d, %v", other, c.format, code, err)
			}

			if err := os.Remove(filepath.Join(dir, "shop", "cart-ingress.yaml")); err != nil {
				t.Fatal(err)
			}
			stdout, _, code, _ = run(t, "verify", "--policies", dir, "--from", sample)
			if code != 3 {
				t.Fatalf("verify without shop/cart-ingress: exit %d\n%s", code, stdout)
			}
			for _, want := range []string{"denied:          1", "shop/frontend -> shop/cart TCP/8080", c.ingress, "FAIL: 1 observed request edges would be denied"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("mutated verify: stdout lacks %q:\n%s", want, stdout)
				}
			}
			stdout, _, code, _ = run(t, "diff", "--policies", dir, "--from", sample)
			if code != 3 || !strings.Contains(stdout, "shop/frontend -> shop/cart TCP/8080") {
				t.Errorf("mutated diff: exit %d\n%s", code, stdout)
			}
		})
	}
}
