//go:build unix

package diffcheck_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
)

const hostileDir = "../testdata/hostile"

const denyAll = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"

// secretLines are the content of a file outside the tree that a link
// points to: no line of it may appear in what the user sees.
var secretLines = []string{"root:x:0:0:root:/root:/bin/bash", "db-password=hunter2-TOPSECRET"}

// TestReadTreeHostile: a --policies tree holding what a policy tree never
// does is refused quickly, within bounded memory, with an error that names
// the file relative to the tree and repeats nothing of what it points to.
func TestReadTreeHostile(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte(strings.Join(secretLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	escapeYAML, err := os.ReadFile(filepath.Join(hostileDir, "escape.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	unknownKeyYAML, err := os.ReadFile(filepath.Join(hostileDir, "unknown-key.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }
	for _, c := range []struct {
		name string
		// make adds the hostile entry to a tree that holds shop/a.yaml
		make    func(dir string) error
		opts    diffcheck.ReadOptions
		wantErr []string
		// absent must not appear in the error
		absent []string
	}{
		{
			name:    "link to /dev/zero",
			make:    func(dir string) error { return os.Symlink("/dev/zero", filepath.Join(dir, "shop", "zero.yaml")) },
			wantErr: []string{"shop/zero.yaml", "a symbolic link"},
		},
		{
			name:    "link to /etc/passwd",
			make:    func(dir string) error { return os.Symlink("/etc/passwd", filepath.Join(dir, "shop", "passwd.yaml")) },
			wantErr: []string{"shop/passwd.yaml", "a symbolic link"},
			absent:  []string{"root:", "nologin", "/bin/"},
		},
		{
			name:    "link to a file outside the tree",
			make:    func(dir string) error { return os.Symlink(outside, filepath.Join(dir, "shop", "z.yaml")) },
			wantErr: []string{"shop/z.yaml", "a symbolic link"},
			absent:  secretLines,
		},
		{
			name:    "link to a file inside the tree",
			make:    func(dir string) error { return os.Symlink("a.yaml", filepath.Join(dir, "shop", "b.yaml")) },
			wantErr: []string{"shop/b.yaml", "a symbolic link"},
		},
		{
			name:    "link to a directory outside the tree, any name",
			make:    func(dir string) error { return os.Symlink(filepath.Dir(outside), filepath.Join(dir, "billing")) },
			wantErr: []string{"billing", "a symbolic link"},
			absent:  secretLines,
		},
		{
			name:    "FIFO",
			make:    func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "shop", "pipe.yaml"), 0o644) },
			wantErr: []string{"shop/pipe.yaml", "a FIFO"},
		},
		{
			name: "socket",
			make: func(dir string) error {
				l, err := net.Listen("unix", filepath.Join(dir, "shop", "s.yaml"))
				if err != nil {
					return err
				}
				l.(*net.UnixListener).SetUnlinkOnClose(false)
				return l.Close()
			},
			wantErr: []string{"shop/s.yaml", "a socket"},
		},
		{
			name: "9 MiB file",
			make: func(dir string) error {
				// sparse: 9 MiB of nothing on disk
				return os.Truncate(filepath.Join(dir, "shop", "a.yaml"), 9<<20)
			},
			wantErr: []string{"shop/a.yaml", "larger than 8 MiB"},
		},
		{
			name: "tree over the total cap",
			make: func(dir string) error {
				for i := range 3 {
					if err := write(filepath.Join(dir, "shop", fmt.Sprintf("p%d.yaml", i)), []byte(fmt.Sprintf(denyAll, fmt.Sprintf("p%d", i)))); err != nil {
						return err
					}
				}
				return nil
			},
			opts:    diffcheck.ReadOptions{MaxTreeBytes: 3 * int64(len(denyAll))},
			wantErr: []string{"shop/p2.yaml", "reach 447 bytes"},
		},
		{
			name: "file over a small per-file cap",
			make: func(dir string) error {
				return write(filepath.Join(dir, "shop", "b.yaml"), []byte("# "+strings.Repeat("x", 2000)+"\n"+fmt.Sprintf(denyAll, "b")))
			},
			opts:    diffcheck.ReadOptions{MaxFileBytes: 1 << 10},
			wantErr: []string{"shop/b.yaml", "larger than 1 KiB"},
		},
		{
			name:    "YAML value with terminal escapes",
			make:    func(dir string) error { return write(filepath.Join(dir, "shop", "e.yaml"), escapeYAML) },
			wantErr: []string{"shop/e.yaml", "document 1", `\x1b]0;pwned\a\x1b[2J\u202eIngress`, "…"},
			absent:  []string{"TAIL-SECRET"},
		},
		{
			name:    "unknown key with terminal escapes",
			make:    func(dir string) error { return write(filepath.Join(dir, "shop", "e.yaml"), unknownKeyYAML) },
			wantErr: []string{"shop/e.yaml", "document 1", `\x1b[31mnot-a-field`},
			absent:  []string{"TAIL-SECRET"},
		},
		{
			name: "bad YAML line holding a raw escape",
			make: func(dir string) error {
				return write(filepath.Join(dir, "shop", "e.yaml"), []byte(fmt.Sprintf(denyAll, "e")+"  \x1b]0;pwned\x07: [\n"))
			},
			wantErr: []string{"shop/e.yaml", "document 1"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "shop"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := write(filepath.Join(dir, "shop", "a.yaml"), []byte(fmt.Sprintf(denyAll, "a"))); err != nil {
				t.Fatal(err)
			}
			if err := c.make(dir); err != nil {
				t.Skipf("cannot build the case here: %v", err)
			}
			type result struct {
				tree *diffcheck.Tree
				err  error
			}
			done := make(chan result, 1)
			go func() {
				tree, err := diffcheck.ReadTreeWith(dir, c.opts)
				done <- result{tree, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(2 * time.Second):
				// a FIFO nobody writes to: the reader is stuck in open or read
				t.Fatal("ReadTree did not return within 2s")
			}
			if r.err == nil {
				t.Fatalf("no error, want one naming %q (read %d policies)", c.wantErr, len(r.tree.Policies))
			}
			msg := r.err.Error()
			t.Log(msg)
			for _, w := range c.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(msg, a) {
					t.Errorf("error %q repeats %q", msg, a)
				}
			}
			if strings.ContainsAny(msg, "\x1b\x07\u202e") {
				t.Errorf("error %q holds a raw control or bidi character", msg)
			}
			if rest := strings.TrimPrefix(msg, dir); len(rest) > 400 {
				t.Errorf("error is %d bytes long: %q", len(rest), msg)
			}
		})
	}
}

// TestReadTreeLinks: the links a user does expect to work do.
func TestReadTreeLinks(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "checkout", "policies")
	if err := os.MkdirAll(filepath.Join(real, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "shop", "a.yaml"), []byte(fmt.Sprintf(denyAll, "a")), 0o644); err != nil {
		t.Fatal(err)
	}
	// an editor's lock link is hidden and never read
	if err := os.Symlink("user@host.1234", filepath.Join(real, "shop", ".#a.yaml")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "policies")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	tree, err := diffcheck.ReadTree(link)
	if err != nil {
		t.Fatalf("--policies naming a link to a directory: %v", err)
	}
	if len(tree.Policies) != 1 || tree.Files["shop/a"] != "shop/a.yaml" {
		t.Errorf("read %d policies, files %v; want shop/a from shop/a.yaml", len(tree.Policies), tree.Files)
	}
}
