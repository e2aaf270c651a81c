//go:build unix

package output_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/flowfence/flowfence/output"
)

// TestWriteModesFollowUmask: a generated tree and a graph are as readable
// as the user's umask says (0644/0755 under 022, 0600/0700 under 077).
func TestWriteModesFollowUmask(t *testing.T) {
	for _, c := range []struct {
		umask         int
		file, dirMode fs.FileMode
	}{{0o022, 0o644, 0o755}, {0o077, 0o600, 0o700}} {
		t.Run(fmt.Sprintf("umask %03o", c.umask), func(t *testing.T) {
			base := t.TempDir()
			old := syscall.Umask(c.umask)
			defer syscall.Umask(old)
			out := filepath.Join(base, "out")
			graph := filepath.Join(base, "graph.json")
			if err := output.WriteTree(out, output.Tree{"shop/a.yaml": []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if err := output.WriteFileAtomic(graph, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			for p, want := range map[string]fs.FileMode{
				out: c.dirMode, filepath.Join(out, "shop"): c.dirMode,
				filepath.Join(out, "shop", "a.yaml"): c.file, filepath.Join(out, output.Marker): c.file,
				graph: c.file,
			} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := st.Mode().Perm(); got != want {
					t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
				}
			}
		})
	}
}
