package scenario

import (
	"bytes"
	"os"
	"testing"
)

// TestInventoryUpToDate: testdata/inventory/sample.json is what the
// generator writes, and generating twice gives the same bytes.
func TestInventoryUpToDate(t *testing.T) {
	upToDate(t, InventoryFile, Inventory, "the inventory",
		"go run ./internal/scenario/gen -out testdata/flows -inventory "+InventoryFile)
}

// TestCiliumEndpointsUpToDate: testdata/inventory/sample-ciliumendpoints.json
// is what the generator writes, and generating twice gives the same bytes.
func TestCiliumEndpointsUpToDate(t *testing.T) {
	upToDate(t, CiliumEndpointsFile, CiliumEndpoints, "the CiliumEndpoints",
		"go run ./internal/scenario/gen -out testdata/flows -inventory "+InventoryFile+" -ciliumendpoints "+CiliumEndpointsFile)
}

// upToDate checks that render gives the same bytes twice and that file
// (relative to the repository) holds them; what names the document in the
// not-deterministic message, regen the command that rewrites the file.
func upToDate(t *testing.T, file string, render func() ([]byte, error), what, regen string) {
	t.Helper()
	fresh, err := render()
	if err != nil {
		t.Fatal(err)
	}
	again, err := render()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, again) {
		t.Fatalf("two renders of %s differ: the generator is not deterministic", what)
	}
	golden, err := os.ReadFile("../../" + file)
	if err != nil || !bytes.Equal(golden, fresh) {
		t.Errorf("%s is stale (%v) (run: %s)", file, err, regen)
	}
}
