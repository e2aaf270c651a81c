package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReplaceDirWithoutExchange: where two names cannot be exchanged in one
// step, the tree is still replaced whole and nothing is left beside it.
func TestReplaceDirWithoutExchange(t *testing.T) {
	noExchange := func(a, b string) error { return errors.New("no atomic exchange") }
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	for _, files := range [][]string{{"a.yaml", "stale.md"}, {"a.yaml"}} {
		err := replaceDir(out, ".marker", func(tmp string) error {
			if err := WriteNew(filepath.Join(tmp, ".marker"), nil); err != nil {
				return err
			}
			for _, f := range files {
				if err := WriteNew(filepath.Join(tmp, f), []byte(f)); err != nil {
					return err
				}
			}
			return nil
		}, noExchange)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "stale.md")); !os.IsNotExist(err) {
		t.Error("a file of the previous tree survived")
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("left beside the tree: %v", entries)
	}
	// a failed build leaves the tree as it was
	err := replaceDir(out, ".marker", func(tmp string) error { return errors.New("render failed") }, noExchange)
	if err == nil {
		t.Fatal("no error from a failed build")
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a.yaml")); string(b) != "a.yaml" {
		t.Errorf("a.yaml = %q after a failed build", b)
	}
	entries, _ = os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("left beside the tree after a failed build: %v", entries)
	}
}
