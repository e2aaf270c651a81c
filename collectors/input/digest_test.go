package input_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors/input"
)

// TestDigestIsTheStoredFiles: once read to its end, a file's digest is the
// SHA-256 of its bytes as stored (compressed for gzip), as sha256sum says;
// before that it is not whole.
func TestDigestIsTheStoredFiles(t *testing.T) {
	plain := []byte("{\"a\":1}\n{\"a\":2}\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	for name, stored := range map[string][]byte{"flows.json": plain, "flows.json.gz": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, stored, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := input.Open(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, whole := f.Digest(); whole {
				t.Error("whole before the file was read")
			}
			lines := input.NewLines(f)
			n := 0
			for _, ok := lines.Next(); ok; _, ok = lines.Next() {
				n++
			}
			if n != 2 {
				t.Fatalf("read %d lines, want 2", n)
			}
			sum, whole := f.Digest()
			if !whole || sum != sha256.Sum256(stored) {
				t.Errorf("digest %x (whole %v), want %x", sum, whole, sha256.Sum256(stored))
			}
		})
	}
}
