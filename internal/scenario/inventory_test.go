package scenario

import (
	"bytes"
	"os"
	"testing"
)

// TestInventoryFilesUpToDate: the inventory files under testdata/inventory
// (the kubectl dump, and the CiliumEndpoints beside it) are what the
// generator writes, and generating twice gives the same bytes.
func TestInventoryFilesUpToDate(t *testing.T) {
	for _, c := range []struct {
		file   string
		render func() ([]byte, error)
		what   string // in the not-deterministic message
		regen  string // the command that rewrites the file
	}{
		{InventoryFile, Inventory, "the inventory",
			"go run ./internal/scenario/gen -out testdata/flows -inventory " + InventoryFile},
		{CiliumEndpointsFile, CiliumEndpoints, "the CiliumEndpoints",
			"go run ./internal/scenario/gen -out testdata/flows -inventory " + InventoryFile + " -ciliumendpoints " + CiliumEndpointsFile},
	} {
		t.Run(c.file, func(t *testing.T) {
			fresh, err := c.render()
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.render()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh, again) {
				t.Fatalf("two renders of %s differ: the generator is not deterministic", c.what)
			}
			golden, err := os.ReadFile("../../" + c.file)
			if err != nil || !bytes.Equal(golden, fresh) {
				t.Errorf("%s is stale (%v) (run: %s)", c.file, err, c.regen)
			}
		})
	}
}
