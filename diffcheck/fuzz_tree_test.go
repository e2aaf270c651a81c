package diffcheck_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/synth"
)

// FuzzReadTree: a policy file is what a pull request can change. Whatever
// a file of the tree holds, ReadTree reads it or refuses it with an error
// that is short and inert on a terminal (no control or format character:
// the file is quoted at most as a short escaped snippet), never panics;
// a tree it accepts compiles for its flavor's engine and replays the
// sample window without panicking.
func FuzzReadTree(f *testing.F) {
	for _, glob := range []string{
		"../pipeline/testdata/golden/k8s/shop/*.yaml",
		"../pipeline/testdata/golden/cilium/shop/*.yaml",
		"../output/calico/testdata/golden/default/shop/*.yaml",
		"../output/calico/testdata/golden/default/_cluster/*.yaml",
		"../testdata/hostile/*.yaml",
	} {
		ms, _ := filepath.Glob(glob)
		for _, p := range ms {
			if filepath.Base(p) == "kustomization.yaml" {
				continue
			}
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	g := learn(f, time.Time{})
	opts, err := diffcheck.NewOptions(synth.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "shop"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "shop", "policy.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		tree, err := diffcheck.ReadTree(dir)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), dir)
			if len(msg) > 1024 {
				t.Fatalf("error of %d bytes for a %d-byte file: %.200q", len(msg), len(data), msg)
			}
			for _, r := range msg {
				if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
					t.Fatalf("%U in the error: %q", r, msg)
				}
			}
			return
		}
		c, err := diffcheck.NewChecker(tree, opts)
		if err != nil {
			return
		}
		c.Verify(g)
	})
}
