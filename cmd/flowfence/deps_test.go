package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHeavyImports keeps the product light (as go-containerregistry does):
// the binary must not link cilium's pkg/, k8s.io/kubernetes or the
// test-only oracle modules (client-go: only through inventory/kube, see
// TestClientGoOnlyInInventoryKube).
func TestNoHeavyImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/flowfence/flowfence/cmd/flowfence").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/cilium/cilium/pkg/", "k8s.io/kubernetes", "github.com/mattfenwick/cyclonus", "sigs.k8s.io/kube-network-policies", "github.com/projectcalico/", "github.com/nats-io/nats-server"}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("the binary imports %s (forbidden prefix %s)", d, f)
			}
		}
	}
	if len(deps) < 50 {
		t.Fatalf("only %d deps listed: go list did not see the real binary", len(deps))
	}
}

// TestLayering keeps the packages' direction: a package below pipeline
// (the stages and the verbs' libraries) never imports it, so pipeline stays
// the one place that wires them.
func TestLayering(t *testing.T) {
	cases := []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/flowfence/flowfence/diffcheck", []string{"github.com/flowfence/flowfence/pipeline"}},
		{"github.com/flowfence/flowfence/explain", []string{"github.com/flowfence/flowfence/pipeline"}},
		{"github.com/flowfence/flowfence/fleet", []string{"github.com/flowfence/flowfence/pipeline", "github.com/flowfence/flowfence/synth", "github.com/flowfence/flowfence/output"}},
		{"github.com/flowfence/flowfence/synth/replay", []string{"github.com/flowfence/flowfence/pipeline", "github.com/flowfence/flowfence/diffcheck"}},
		{"github.com/flowfence/flowfence/synth", []string{"github.com/flowfence/flowfence/pipeline", "github.com/flowfence/flowfence/output"}},
	}
	for _, c := range cases {
		t.Run(c.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", c.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, d := range strings.Fields(string(out)) {
				for _, f := range c.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s imports %s", c.pkg, d)
					}
				}
			}
		})
	}
}

// TestInventoryModelIsPlain: synth reads the cluster inventory as plain
// data, whatever produced it (a kubectl dump now, the live API later):
// neither the inventory model nor synth imports a Kubernetes API package.
func TestInventoryModelIsPlain(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/flowfence/flowfence/inventory", "github.com/flowfence/flowfence/synth").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/") {
			t.Errorf("inventory or synth imports %s", d)
		}
	}
}

// TestClientGoOnlyInInventoryKube: the live inventory source is the one
// package of the module that imports client-go (the generate verb wires it
// in); the stages below it — collectors, learner, synth, output, pipeline
// — link none of it, directly or not.
func TestClientGoOnlyInInventoryKube(t *testing.T) {
	const module = "github.com/flowfence/flowfence/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"cmd/flowfence").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	importers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "k8s.io/client-go/") {
				if f[0] != module+"inventory/kube" {
					t.Errorf("%s imports %s: client-go belongs to inventory/kube", f[0], imp)
				}
				importers++
			}
		}
	}
	if importers == 0 {
		t.Fatal("inventory/kube imports no client-go package: the test does not see the live source")
	}
	stages := []string{module + "collectors/...", module + "learner/...", module + "synth/...", module + "output/...", module + "pipeline/...", module + "inventory", module + "inventory/dump", module + "inventory/convert"}
	out, err = exec.Command("go", append([]string{"list", "-deps"}, stages...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "k8s.io/client-go") {
			t.Errorf("a stage links %s: %v must stay free of client-go", d, stages)
		}
	}
}
