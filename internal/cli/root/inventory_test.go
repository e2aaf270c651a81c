package root_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/internal/testsupport"
)

const sampleInventory = "../../../" + scenario.InventoryFile

// TestGenerateWithInventory: the sample's inventory adds silent workloads
// (shop: a Deployment and a weekly CronJob whose run the window did not
// cover) and disproves payments/api's selector (a canary carries all its
// labels); the policies are those of the flows alone, only the reports
// and readiness change.
func TestGenerateWithInventory(t *testing.T) {
	dir := t.TempDir()
	plain, with := filepath.Join(dir, "plain"), filepath.Join(dir, "with")
	must(t, "generate", "--from", sample, "--out", plain)
	_, stderr, err := run(t, "", "generate", "--from", sample, "--out", with, "--inventory", sampleInventory)
	if err != nil {
		t.Fatalf("generate --inventory: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		"  inventory: 6 namespaces, 18 workloads, 33 pods (snapshot of " + sampleInventory + ")",
		"! namespace shop has silent workloads: 2 workloads of the inventory never observed in the window, first CronJob cleanup",
		"! namespace payments is blocked: 1 selector the inventory does not prove exact, first api",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	a, b := testsupport.ReadTree(t, plain), testsupport.ReadTree(t, with)
	for name, body := range a {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		if name == ".flowfence/settings.json" {
			// the settings say an inventory was read
			if !strings.Contains(body, `"inventory": false`) || !strings.Contains(b[name], `"inventory": true`) {
				t.Errorf("settings.json should record the inventory:\n%s\n%s", body, b[name])
			}
			continue
		}
		if b[name] != body && !onlyNamedPorts(body, b[name]) {
			t.Errorf("%s differs with the inventory beyond named ports:\n%s\n%s", name, body, b[name])
		}
	}
	// the container ports every pod of the workload names alike are
	// written by name, and the names relied on are recorded
	if !strings.Contains(b["shop/cart-ingress.yaml"], "- port: http\n") || !strings.Contains(b[".flowfence/ports.json"], `"pod:shop/cart"`) {
		t.Errorf("shop/cart's port is not named, or not recorded:\n%s\n%s", b["shop/cart-ingress.yaml"], b[".flowfence/ports.json"])
	}
	for file, wants := range map[string][]string{
		"ROLLOUT.md": {
			"| shop | 1 | silent workloads | 2 workloads of the inventory never observed",
			"| payments | 2 | blocked | 1 selector the inventory does not prove exact, first api {app.kubernetes.io/name=payments-api}: it also selects the pods of Deployment payments-api-canary, never observed",
			"## Inventory\n\nRead 6 namespaces, 18 workloads, 33 pods",
			"| shop | cleanup | CronJob | 0 | 30 4 \\* \\* 0 | the window covered no scheduled run: next 2026-11-22 04:30Z, last run 2026-11-15 04:30Z |",
			"| shop | recommender | Deployment | 1 |",
			"## Existing policies overlap the tree", "- shop: cart-allow-frontend\n",
		},
		"shop/FLOWS.md": {"## Never observed", "Never observed: each will be\nisolated by default-deny", "| recommender | Deployment | 1 | \\- | \\- |",
			// the existing policy that dropped shop-staging/frontend's 4 attempts (3 SYNs each)
			"## Existing policies", "| cart-allow-frontend | ingress | cart | 0 | 12 | \\- |"},
		"payments/FLOWS.md": {"## Selectors the inventory does not prove", "| api | app.kubernetes.io/name=payments-api | also selects the pods of Deployment payments-api-canary, never observed |"},
	} {
		for _, want := range wants {
			if !strings.Contains(b[file], want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}
	for _, ns := range []string{"data", "monitoring", "shop-staging"} {
		if strings.Contains(b[ns+"/FLOWS.md"], "Never observed") {
			t.Errorf("%s lists silent workloads (the host-network DaemonSet is never isolated)", ns)
		}
	}
	if strings.Contains(a["ROLLOUT.md"], "nventory") {
		t.Error("ROLLOUT.md without an inventory mentions one")
	}
}

func TestInventoryBadArguments(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--inventory", "kube", "--kubeconfig", "/nonexistent/kubeconfig"}, "--inventory kube: kubeconfig: stat /nonexistent/kubeconfig: no such file or directory"},
		{[]string{"--inventory", "kube", "--inventory", "inv.json"}, "--inventory kube reads the live cluster: it cannot be combined with inventory files"},
		{[]string{"--inventory", "/nonexistent.json"}, "--inventory /nonexistent.json"},
		{[]string{"--inventory", "-", "--from", "-"}, "only one of them can read standard input"},
		{[]string{"--deny-scope", "cluster"}, `--deny-scope "cluster": one of namespace (a default-deny per application namespace), observed`},
		{[]string{"--deny-scope", "observed", "--guardrails", "--baseline-deny"}, "--deny-scope observed and guardrails.baseline-deny (--baseline-deny)"},
	} {
		args := append([]string{"generate", "--from", sample, "--out", out}, tc.args...)
		if _, _, err := run(t, "", args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestGenerateDenyScopeObserved: with --deny-scope observed and the
// inventory, the tree has no namespace-wide policy, shop's silent
// workloads are listed as left alone and hold shop back, and ROLLOUT.md
// says what the scope leaves open.
func TestGenerateDenyScopeObserved(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, stderr, err := run(t, "", "generate", "--from", sample, "--out", out, "--inventory", sampleInventory, "--deny-scope", "observed")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	if want := "! namespace shop has silent workloads: 2 workloads of the inventory never observed in the window, first CronJob cleanup: not isolated (deny scope observed)"; !strings.Contains(stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, stderr)
	}
	tree := testsupport.ReadTree(t, out)
	for name := range tree {
		if strings.HasSuffix(name, "/00-default-deny.yaml") || strings.HasSuffix(name, "/01-allow-dns.yaml") {
			t.Errorf("%s written in observed scope", name)
		}
	}
	for file, wants := range map[string][]string{
		"ROLLOUT.md":               {"## Deny scope: observed", "pods no policy selects can reach them. `--guardrails` adds a cluster-wide guard."},
		"shop/FLOWS.md":            {"left alone (deny scope observed: not isolated), but no observed workload's policy admits them."},
		"shop/report-ingress.yaml": {"this policy isolates it (deny scope observed)", "policyTypes:\n  - Ingress\n"},
	} {
		for _, want := range wants {
			if !strings.Contains(tree[file], want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}
}

// onlyNamedPorts reports whether with differs from plain only by port
// numbers written as container port names ("- port: 8080" → "- port:
// http").
func onlyNamedPorts(plain, with string) bool {
	a, b := strings.Split(plain, "\n"), strings.Split(with, "\n")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		pa, oka := strings.CutPrefix(strings.TrimSpace(a[i]), "- port: ")
		pb, okb := strings.CutPrefix(strings.TrimSpace(b[i]), "- port: ")
		if !oka || !okb || strings.Trim(pa, `"`) == "" || pb == "" || pb[0] >= '0' && pb[0] <= '9' {
			return false
		}
	}
	return true
}
