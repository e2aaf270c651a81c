//go:build unix

package atomicfile_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/internal/atomicfile"
)

// deadPID is above any pid_max (2^22): no process has it.
const deadPID = "1073741824"

// withUmask runs f with the process umask set to mask (tests of a package
// run one at a time unless they call t.Parallel, which these do not).
func withUmask(t *testing.T, mask int, f func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestModesFollowUmask: what a user's umask allows is what files and
// directories get, never the 0600/0700 of a temporary file.
func TestModesFollowUmask(t *testing.T) {
	for _, c := range []struct {
		umask         int
		file, dirMode fs.FileMode
	}{
		{0o022, 0o644, 0o755},
		{0o077, 0o600, 0o700},
		{0o002, 0o664, 0o775},
	} {
		t.Run(fmt.Sprintf("umask %03o", c.umask), func(t *testing.T) {
			base := t.TempDir()
			withUmask(t, c.umask, func() {
				graph := filepath.Join(base, "state", "graph.json")
				for _, v := range []string{"one", "two"} { // create, then replace
					if err := atomicfile.WriteFile(graph, []byte(v)); err != nil {
						t.Fatal(err)
					}
				}
				if got := mode(t, graph); got != c.file {
					t.Errorf("graph file mode %v, want %v", got, c.file)
				}
				if got := mode(t, filepath.Dir(graph)); got != c.dirMode {
					t.Errorf("created directory mode %v, want %v", got, c.dirMode)
				}
				out := filepath.Join(base, "out")
				for range 2 {
					err := atomicfile.ReplaceDir(out, ".marker", func(tmp string) error {
						if err := atomicfile.WriteNew(filepath.Join(tmp, ".marker"), nil); err != nil {
							return err
						}
						if err := os.MkdirAll(filepath.Join(tmp, "shop"), atomicfile.DirMode); err != nil {
							return err
						}
						return atomicfile.WriteNew(filepath.Join(tmp, "shop", "p.yaml"), []byte("x"))
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				for p, want := range map[string]fs.FileMode{out: c.dirMode, filepath.Join(out, "shop"): c.dirMode, filepath.Join(out, "shop", "p.yaml"): c.file} {
					if got := mode(t, p); got != want {
						t.Errorf("%s mode %v, want %v", p, got, want)
					}
				}
			})
		})
	}
}

// TestLeftoversOfAKilledRun: the next write removes what a killed run left
// under its own names, and keeps everything else in the directory.
func TestLeftoversOfAKilledRun(t *testing.T) {
	dir := t.TempDir()
	mkfile := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	live := ".graph.json.tmp-" + itoa(os.Getppid()) + "-00112233aabbccdd"
	// what a killed run leaves
	mkfile(".graph.json.tmp-"+deadPID+"-0123456789abcdef", `{"half":`)
	mkfile(".out.tmp-"+deadPID+"-0123456789abcdef/.marker", "")
	mkfile(".out.tmp-"+deadPID+"-0123456789abcdef/shop/p.yaml", "half")
	mkfile(".out.tmp-"+deadPID+"-fedcba9876543210.old/.marker", "")
	mkfile(".out.tmp-"+deadPID+"-fedcba9876543210.old/shop/p.yaml", "previous")
	if err := os.Mkdir(filepath.Join(dir, ".out.tmp-"+deadPID+"-aaaaaaaaaaaaaaaa"), 0o755); err != nil {
		t.Fatal(err) // killed before the marker was written
	}
	// the user's, or a live writer's: kept
	kept := []string{
		"notes.txt",
		".graph.json.tmp-notes",
		".graph.json.tmp-" + deadPID + "-0123456789abcdef.bak",
		".graph.json.tmp-" + deadPID + "-0123456789ABCDEF",
		".other.json.tmp-" + deadPID + "-0123456789abcdef",
		live,
		".out.tmp-" + deadPID + "-1111111111111111", // no marker: not a tree of ours
		".out.tmp-" + deadPID + "-2222222222222222", // holds a link
		".out.tmp-" + deadPID + "-3333333333333333", // a file where a tree would be
	}
	for _, k := range kept[:6] {
		mkfile(k, "mine")
	}
	mkfile(kept[6]+"/thesis.tex", "mine")
	mkfile(kept[7]+"/.marker", "")
	if err := os.Symlink("/etc", filepath.Join(dir, kept[7], "etc")); err != nil {
		t.Fatal(err)
	}
	mkfile(kept[8], "mine")

	if err := atomicfile.WriteFile(filepath.Join(dir, "graph.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.ReplaceDir(filepath.Join(dir, "out"), ".marker", func(tmp string) error {
		return atomicfile.WriteNew(filepath.Join(tmp, ".marker"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append([]string{"graph.json", "out"}, kept...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("directory holds\n  %q\nwant\n  %q", got, want)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

// TestOpenRegularRefusesAtOnce: a graph path that names a FIFO or a
// directory is an error at once, not a run waiting for a writer.
func TestOpenRegularRefusesAtOnce(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "graph.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	for p, want := range map[string]string{fifo: "a FIFO, not a regular file", dir: "a directory, not a regular file"} {
		done := make(chan error, 1)
		go func() {
			f, err := atomicfile.OpenRegular(p)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenRegular(%s) = %v, want %q", filepath.Base(p), err, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("OpenRegular(%s) did not return within 2s", filepath.Base(p))
		}
	}
}
