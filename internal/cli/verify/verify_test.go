package verify_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
	"github.com/flowfence/flowfence/output/diffreport"
)

const sample = clitest.Sample

// run executes the real root command with args, like the binary would, and
// returns the process exit code the error maps to.
func run(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	return clitest.Run(t, "", args...)
}

// must runs a step the test builds on, stopping the test when it fails
// (clitest.Must).
func must(t *testing.T, args ...string) {
	t.Helper()
	clitest.Must(t, args...)
}

// generated writes the tree generate writes for the sample.
func generated(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--out", dir)
	return dir
}

func TestVerifyExitCodes(t *testing.T) {
	for _, c := range []struct {
		name     string
		edit     func(t *testing.T, dir string)
		args     []string
		code     int
		stdout   []string // substrings
		noStdout []string
	}{
		{
			name:   "the generated tree passes",
			code:   0,
			stdout: []string{"43 observed request edges", "denied:          0", "host:            3", "inexpressible:   1", "guarded:         1", "denied attempts: 1", "PASS"},
		},
		{
			name: "a deleted policy file fails with the flow and the policies involved",
			edit: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "shop", "cart-ingress.yaml")); err != nil {
					t.Fatal(err)
				}
			},
			code: 3,
			stdout: []string{
				"denied:          1",
				"shop/frontend -> shop/cart TCP/8080  (68 flows,",
				"ingress: DENIED: isolated by shop/default-deny (shop/00-default-deny.yaml), no rule admits it",
				"egress : admitted by shop/frontend-egress (shop/frontend-egress.yaml)",
				"FAIL: 1 observed request edges would be denied",
			},
			noStdout: []string{"PASS"},
		},
		{
			name: "a changed port fails with exactly the flows to that port",
			edit: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "data", "redis-ingress.yaml")
				b, _ := os.ReadFile(p)
				if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte("port: 6379"), []byte("port: 6380")), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			code: 3,
			stdout: []string{"denied:          1", "shop/cart -> data/redis TCP/6379", "data/redis-ingress (data/redis-ingress.yaml)",
				"Inexpressible (not a failure):\n  shop/frontend -> data/redis ICMPv4"}, // ICMP stays inexpressible, not denied
		},
		{
			name:   "--cni cilium: node and API-server ipBlocks do not match",
			args:   []string{"--cni", "cilium"},
			code:   3,
			stdout: []string{"denied:          5", "CNI cilium", "monitoring/prometheus -> kube-apiserver 10.0.0.1 TCP/6443"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := generated(t)
			if c.edit != nil {
				c.edit(t, dir)
			}
			stdout, stderr, code, err := run(t, append([]string{"verify", "--policies", dir, "--from", sample}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit code %d (err %v), want %d\n%s%s", code, err, c.code, stdout, stderr)
			}
			if c.code == 3 && (err == nil || !strings.Contains(err.Error(), "would be denied")) {
				t.Errorf("exit-3 error should say why for stderr: %v", err)
			}
			for _, w := range c.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.noStdout {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestVerifyJSON(t *testing.T) {
	dir := generated(t)
	if err := os.Remove(filepath.Join(dir, "shop", "cart-ingress.yaml")); err != nil {
		t.Fatal(err)
	}
	stdout, _, code, _ := run(t, "verify", "--policies", dir, "--from", sample, "-o", "json")
	if code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	var doc diffreport.VerifyDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	if doc.Passed || len(doc.Denied) != 1 || doc.Denied[0].Src != "pod:shop/frontend" || doc.Denied[0].Dst != "pod:shop/cart" ||
		doc.Denied[0].Ingress == nil || strings.Join(doc.Denied[0].Ingress.Policies, ",") != "shop/default-deny" ||
		doc.Files["shop/default-deny"] != "shop/00-default-deny.yaml" {
		t.Errorf("JSON: %s", stdout)
	}
}

func TestVerifyBadInput(t *testing.T) {
	dir := generated(t)
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.MkdirAll(filepath.Join(bad, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "shop", "x.yaml"), []byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector: {}\n  ingres: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"verify", "--policies", bad, "--from", sample}, []string{filepath.Join(bad, "shop", "x.yaml"), "document 1", "ingres"}},
		{[]string{"verify", "--from", sample}, []string{"--policies"}},
		{[]string{"verify", "--policies", filepath.Join(bad, "nope"), "--from", sample}, []string{"--policies", "nope"}},
		{[]string{"verify", "--policies", dir}, []string{"--from"}},
		{[]string{"verify", "--policies", dir, "--from", sample, "--cni", "flannel"}, []string{"--cni"}},
		{[]string{"verify", "--policies", dir, "--from", sample, "-o", "xml"}, []string{"-o", "xml"}},
	} {
		_, _, code, err := run(t, c.args...)
		if code != 1 || err == nil {
			t.Errorf("%v: exit %d (err %v), want 1", c.args, code, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: err %q does not name %q", c.args, err, w)
			}
		}
	}
}
