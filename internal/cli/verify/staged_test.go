package verify_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output/diffreport"
)

// TestVerifyStagedCalicoTree is the user about to promote a tree written
// by generate --format calico --staged: verify and diff judge the staged
// policies as the policies they become, and say so (a line of the text
// report, "staged" in -o json); the staged tree missing a rule fails with
// exit 3 naming the flow (a staged tree read as enforcing nothing would
// pass); explain says it too.
func TestVerifyStagedCalicoTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--out", dir, "--format", "calico", "--staged")
	const line = "staged policies evaluated as promoted (what the tree enforces once they are): 27 set, 0 delete"
	stdout, stderr, code, err := run(t, "verify", "--policies", dir, "--from", sample)
	if code != 0 {
		t.Fatalf("verify: exit %d (%v)\n%s\n%s", code, err, stdout, stderr)
	}
	for _, want := range []string{line, "43 observed request edges", "denied:          0", "inexpressible:   0", "guarded:         1", "uncovered:       0", "PASS"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify: stdout lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, code, _ = run(t, "verify", "--policies", dir, "--from", sample, "-o", "json")
	var doc diffreport.VerifyDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != 0 {
		t.Fatalf("verify -o json: exit %d, %v\n%s", code, err, stdout)
	}
	if doc.Staged == nil || doc.Staged.EvaluatedAs != "promoted" || len(doc.Staged.Set) != 27 ||
		!strings.Contains(strings.Join(doc.Staged.Set, ","), "NetworkPolicy shop/cart-ingress") {
		t.Errorf("verify -o json: staged %+v", doc.Staged)
	}
	stdout, _, code, _ = run(t, "diff", "--policies", dir, "--from", sample)
	if code != 0 || !strings.Contains(stdout, line) || !strings.Contains(stdout, "NOTHING NEW") {
		t.Errorf("diff: exit %d\n%s", code, stdout)
	}
	stdout, _, code, _ = run(t, "explain", "--policies", dir, "shop/frontend -> shop/cart:8080/TCP")
	if code != 0 || !strings.Contains(stdout, "tree         calico policies (staged policies evaluated as promoted), calico semantics") ||
		!strings.Contains(stdout, "ALLOWED") {
		t.Errorf("explain: exit %d\n%s", code, stdout)
	}

	if err := os.Remove(filepath.Join(dir, "shop", "cart-ingress.yaml")); err != nil {
		t.Fatal(err)
	}
	stdout, _, code, _ = run(t, "verify", "--policies", dir, "--from", sample)
	if code != 3 {
		t.Fatalf("staged tree without shop/cart-ingress: exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"denied:          1", "shop/frontend -> shop/cart TCP/8080",
		"ingress: DENIED: isolated by shop/default-deny (shop/00-default-deny.yaml), no rule admits it", "FAIL: 1 observed request edges would be denied"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("mutated verify: stdout lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, code, _ = run(t, "diff", "--policies", dir, "--from", sample)
	if code != 3 || !strings.Contains(stdout, "UNDOCUMENTED shop/frontend -> shop/cart TCP/8080") || strings.Contains(stdout, "no policy") {
		t.Errorf("mutated diff: exit %d\n%s", code, stdout)
	}
}

// TestVerifyStagedDelete: a staged Delete of the enforced policy admitting
// a flow fails verify; an unknown stagedAction is an error naming the file
// and the document.
func TestVerifyStagedDelete(t *testing.T) {
	dir := generatedFlavor(t, "calico")
	del := "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: cart-ingress, namespace: shop}\nspec: {stagedAction: Delete}\n"
	path := filepath.Join(dir, "shop", "zz-staged.yaml")
	if err := os.WriteFile(path, []byte(del), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, code, _ := run(t, "verify", "--policies", dir, "--from", sample)
	if code != 3 || !strings.Contains(stdout, "shop/frontend -> shop/cart TCP/8080") ||
		!strings.Contains(stdout, "0 set, 1 delete") || !strings.Contains(stdout, "deleted by a staged Delete: NetworkPolicy shop/cart-ingress") {
		t.Errorf("staged Delete of shop/cart-ingress: exit %d\n%s", code, stdout)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(del, "Delete", "Learn", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, code, err := run(t, "verify", "--policies", dir, "--from", sample)
	if code != 1 || err == nil || !strings.Contains(err.Error(), "shop/zz-staged.yaml: document 1: StagedNetworkPolicy shop/cart-ingress: spec.stagedAction \"Learn\"") {
		t.Errorf("stagedAction Learn: exit %d, %v", code, err)
	}
}
