package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHeavyImports keeps the product light (as go-containerregistry does):
// the binary must not link cilium's pkg/, client-go, k8s.io/kubernetes or
// the test-only oracle modules.
func TestNoHeavyImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/flowfence/flowfence/cmd/flowfence").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/cilium/cilium/pkg/", "k8s.io/client-go", "k8s.io/kubernetes", "github.com/mattfenwick/cyclonus", "sigs.k8s.io/kube-network-policies", "github.com/projectcalico/"}
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
