package scenario

import (
	"bytes"
	"os"
	"testing"
)

// TestInventoryUpToDate: testdata/inventory/sample.json is what the
// generator writes, and generating twice gives the same bytes.
func TestInventoryUpToDate(t *testing.T) {
	fresh, err := Inventory()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, again) {
		t.Fatal("two renders of the inventory differ: the generator is not deterministic")
	}
	golden, err := os.ReadFile("../../" + InventoryFile)
	if err != nil || !bytes.Equal(golden, fresh) {
		t.Errorf("%s is stale (%v) (run: go run ./internal/scenario/gen -out testdata/flows -inventory %s)", InventoryFile, err, InventoryFile)
	}
}
