//go:build unix

package diffcheck

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadSwappedAfterListing: an entry listed as a regular file and
// replaced before it is opened (a link out, a FIFO, a device) is refused
// at open or by fstat, at once, without a byte of it read.
func TestReadSwappedAfterListing(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("db-password=hunter2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skip(err)
	}
	for name, target := range map[string]string{
		"zero.yaml":   "/dev/zero",
		"secret.yaml": outside,
		"pipe.yaml":   "pipe", // inside the tree, to a FIFO
		"null.yaml":   "/dev/null",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	r := &treeReader{dir: dir, root: root, opts: ReadOptions{}.withDefaults()}
	for _, rel := range []string{"zero.yaml", "secret.yaml", "pipe.yaml", "null.yaml", "pipe"} {
		t.Run(rel, func(t *testing.T) {
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				data, err := r.read(rel)
				done <- result{data, err}
			}()
			select {
			case res := <-done:
				if res.err == nil {
					t.Fatalf("read %d bytes, want an error", len(res.data))
				}
				if strings.Contains(res.err.Error(), "hunter2") {
					t.Errorf("error repeats the file: %v", res.err)
				}
				t.Log(res.err)
			case <-time.After(2 * time.Second):
				t.Fatal("read did not return within 2s")
			}
		})
	}
}
