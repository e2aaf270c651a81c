package diffcheck_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/testsupport"
)

// TestReadTreeMemoryBounded: the tree reader holds one file at a time. A
// file over the per-file cap is refused after reading at most the cap
// (plus a byte), and a tree over the tree cap is refused once the cap is
// read; in both the heap stays near one file, never the tree. The peaks
// are logged (go test -v -run ReadTreeMemory ./diffcheck).
func TestReadTreeMemoryBounded(t *testing.T) {
	const fileCap = 4 << 20
	// a valid NetworkPolicy padded with a comment to just under the cap
	policy := func(i int) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p%d\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n", i)
		pad := fileCap - b.Len() - 64
		b.WriteString("# ")
		b.WriteString(strings.Repeat("x", pad))
		b.WriteString("\n")
		return b.Bytes()
	}
	t.Run("file over the cap", func(t *testing.T) {
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "shop"))
		big := append(policy(0), bytes.Repeat([]byte("# more\n"), fileCap/7)...)
		mustWrite(t, filepath.Join(dir, "shop", "big.yaml"), big)
		var err error
		peak := testsupport.PeakHeap(func() { _, err = diffcheck.ReadTreeWith(dir, diffcheck.ReadOptions{MaxFileBytes: fileCap}) })
		if err == nil || !strings.Contains(err.Error(), "big.yaml") {
			t.Fatalf("a %d-byte file with a cap of %d: err %v", len(big), fileCap, err)
		}
		t.Logf("file of %d MiB, cap %d MiB: refused, peak heap %.1f MiB", len(big)>>20, fileCap>>20, float64(peak)/(1<<20))
		if peak > 4*fileCap {
			t.Errorf("peak heap %d bytes for a file capped at %d", peak, fileCap)
		}
	})
	t.Run("tree over the cap", func(t *testing.T) {
		const files = 12
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "shop"))
		for i := range files {
			mustWrite(t, filepath.Join(dir, "shop", fmt.Sprintf("p%02d.yaml", i)), policy(i))
		}
		treeCap := int64(files/2) * fileCap
		var err error
		peak := testsupport.PeakHeap(func() {
			_, err = diffcheck.ReadTreeWith(dir, diffcheck.ReadOptions{MaxFileBytes: fileCap, MaxTreeBytes: treeCap})
		})
		if err == nil {
			t.Fatalf("a tree of %d files of %d bytes with a tree cap of %d was read", files, fileCap, treeCap)
		}
		// what decoding one such file costs, and a whole tree within caps
		one := t.TempDir()
		mustMkdir(t, filepath.Join(one, "shop"))
		mustWrite(t, filepath.Join(one, "shop", "p.yaml"), policy(0))
		peakOne := testsupport.PeakHeap(func() {
			if _, err := diffcheck.ReadTreeWith(one, diffcheck.ReadOptions{MaxFileBytes: fileCap}); err != nil {
				t.Fatal(err)
			}
		})
		peakAll := testsupport.PeakHeap(func() {
			if _, err := diffcheck.ReadTreeWith(dir, diffcheck.ReadOptions{MaxFileBytes: fileCap, MaxTreeBytes: files * fileCap}); err != nil {
				t.Fatalf("within the caps: %v", err)
			}
		})
		t.Logf("%d files of %d MiB: one file peaks at %.1f MiB of heap, the %d MiB tree at %.1f MiB, refused at a %d MiB cap at %.1f MiB",
			files, fileCap>>20, mib(peakOne), files*fileCap>>20, mib(peakAll), treeCap>>20, mib(peak))
		// the heap follows one file's decoding, not the tree: a tree of
		// 12 files peaks well under 12 files' worth
		if peakAll > 3*peakOne+fileCap || peak > 3*peakOne+fileCap {
			t.Errorf("peak heap %d (tree) / %d (refused tree) bytes against %d for one file: the reader holds more than one file", peakAll, peak, peakOne)
		}
	})
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
