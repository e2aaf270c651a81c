package scenario

import (
	"bytes"
	"os"
	"testing"
)

// TestCiliumEndpointsUpToDate: testdata/inventory/sample-ciliumendpoints.json
// is what the generator writes, and generating twice gives the same bytes.
func TestCiliumEndpointsUpToDate(t *testing.T) {
	fresh, err := CiliumEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	again, err := CiliumEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, again) {
		t.Fatal("two renders of the CiliumEndpoints differ: the generator is not deterministic")
	}
	golden, err := os.ReadFile("../../" + CiliumEndpointsFile)
	if err != nil || !bytes.Equal(golden, fresh) {
		t.Errorf("%s is stale (%v) (run: go run ./internal/scenario/gen -out testdata/flows -inventory %s -ciliumendpoints %s)", CiliumEndpointsFile, err, InventoryFile, CiliumEndpointsFile)
	}
}
