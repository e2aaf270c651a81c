package verify_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output"
)

const sampleInventory = "../../../testdata/inventory/sample.json"

// renumbered writes the sample inventory with shop/cart's container port
// "http" moved from 8080 to 8081 (a release that changed it), and returns
// its path.
func renumbered(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(sampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, it := range list["items"].([]any) {
		o := it.(map[string]any)
		meta := o["metadata"].(map[string]any)
		labels, _ := meta["labels"].(map[string]any)
		if o["kind"] != "Pod" || meta["namespace"] != "shop" || labels["app"] != "cart" {
			continue
		}
		for _, c := range o["spec"].(map[string]any)["containers"].([]any) {
			for _, p := range c.(map[string]any)["ports"].([]any) {
				if cp := p.(map[string]any); cp["name"] == "http" {
					cp["containerPort"] = 8081
					changed++
				}
			}
		}
	}
	if changed == 0 {
		t.Fatal("no shop/cart pod names a port http in the sample inventory")
	}
	out, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "renumbered.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyNamedPorts: generate --inventory writes named container ports
// (shop/cart's ingress admits port http) and records the table it relied
// on in the tree; verify of that tree passes with the recorded table and
// with the inventory, fails with the reason when the inventory shows the
// port renumbered, and fails saying why when the tree lost its table; a
// hostile table is refused naming the file.
func TestVerifyNamedPorts(t *testing.T) {
	renum := renumbered(t)
	for _, c := range []struct {
		format string
		named  string // how shop/cart-ingress.yaml names the port
	}{{"k8s", "port: http"}, {"cilium", "port: http"}, {"calico", "- http"}} {
		t.Run(c.format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "policies")
			must(t, "generate", "--quiet", "--format", c.format, "--from", sample, "--inventory", sampleInventory, "--out", dir)
			cart, err := os.ReadFile(filepath.Join(dir, "shop", "cart-ingress.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(cart), c.named) {
				t.Fatalf("shop/cart-ingress.yaml does not name the port (%q):\n%s", c.named, cart)
			}
			table, err := os.ReadFile(filepath.Join(dir, output.PortsFile))
			if err != nil {
				t.Fatalf("the tree has no recorded port table: %v", err)
			}
			if !strings.Contains(string(table), `"pod:shop/cart"`) {
				t.Errorf("%s does not record shop/cart's ports:\n%s", output.PortsFile, table)
			}
			for _, v := range []struct {
				name   string
				edit   func(t *testing.T)
				args   []string
				code   int
				stdout []string
				stderr string
			}{
				{name: "the recorded table", code: 0, stdout: []string{"denied:          0", "PASS"}},
				{name: "the inventory", args: []string{"--inventory", sampleInventory}, code: 0, stdout: []string{"denied:          0", "PASS"}},
				{name: "a renumbered container port", args: []string{"--inventory", renum}, code: 3, stdout: []string{
					"shop/frontend -> shop/cart TCP/8080",
					`named port: the tree names port TCP/8080 "http" of shop/cart, which the inventory resolves to TCP/8081: the container port changed`,
				}},
				{name: "a hostile table", edit: func(t *testing.T) {
					if err := os.WriteFile(filepath.Join(dir, output.PortsFile), []byte(`{"version":1,"workloads":{"pod:shop/cart":[{"name":"HTTP\u001b[31m","protocol":"TCP","port":8080}]}}`), 0o644); err != nil {
						t.Fatal(err)
					}
				}, code: 1, stderr: "ports.json: workload pod:shop/cart: port name"},
				{name: "no table", edit: func(t *testing.T) {
					if err := os.Remove(filepath.Join(dir, output.PortsFile)); err != nil {
						t.Fatal(err)
					}
				}, code: 3, stdout: []string{"shop/frontend -> shop/cart TCP/8080"}},
			} {
				t.Run(v.name, func(t *testing.T) {
					if v.edit != nil {
						v.edit(t)
					}
					stdout, stderr, code, err := run(t, append([]string{"verify", "--policies", dir, "--from", sample}, v.args...)...)
					if code != v.code {
						t.Fatalf("exit %d (%v), want %d\n%s\n%s", code, err, v.code, stdout, stderr)
					}
					want := v.stdout
					if v.name == "no table" && c.format == "k8s" {
						// the NetworkPolicy engine flags a name the pod does
						// not declare (DirectionResult.UnknownNamedPort)
						want = append(want, "no named-port table resolves it (give --inventory)")
					}
					for _, s := range want {
						if !strings.Contains(stdout, s) {
							t.Errorf("stdout lacks %q:\n%s", s, stdout)
						}
					}
					if v.stderr != "" && (err == nil || !strings.Contains(err.Error(), v.stderr)) {
						t.Errorf("error %v, want it to contain %q", err, v.stderr)
					}
					if strings.Contains(stdout+stderr, "\x1b") {
						t.Error("a terminal escape from the table reached the output")
					}
				})
			}
		})
	}
}
