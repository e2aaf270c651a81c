package output_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/output"
)

func TestWriteTreeReplacesItsOwnTreeWhole(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if err := output.WriteTree(out, output.Tree{"a/x.yaml": []byte("1"), "stale.md": []byte("old")}); err != nil {
		t.Fatal(err)
	}
	if err := output.WriteTree(out, output.Tree{"a/x.yaml": []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a/x.yaml")); string(b) != "2" {
		t.Errorf("a/x.yaml = %q, want 2", b)
	}
	if _, err := os.Stat(filepath.Join(out, "stale.md")); !os.IsNotExist(err) {
		t.Error("a file of the previous tree survived: the tree must be replaced whole")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}

func TestWriteTreeFailureKeepsPreviousTree(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if err := output.WriteTree(out, output.Tree{"ns/p.yaml": []byte("good")}); err != nil {
		t.Fatal(err)
	}
	err := output.WriteTree(out, output.Tree{"ns/p.yaml": []byte("new"), "../escape.yaml": []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("err = %v, want the escaping path refused", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "ns/p.yaml")); string(b) != "good" {
		t.Errorf("previous tree changed: %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temporary directories left behind after a failure: %v", entries)
	}
}

func TestWriteTreeRefusesForeignDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main"), 0o644)
	if err := output.WriteTree(dir, output.Tree{"x": []byte("1")}); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if err := output.WriteTree(file, output.Tree{"x": []byte("1")}); err == nil {
		t.Fatal("wrote over a regular file")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(empty, 0o755)
	if err := output.WriteTree(empty, output.Tree{"x": []byte("1")}); err != nil {
		t.Fatalf("an empty directory may be used: %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "g.json")
	for _, v := range []string{"one", "two"} {
		if err := output.WriteFileAtomic(p, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != v {
			t.Fatalf("content %q, want %q", b, v)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestWriteTreeAfterAKilledRun: a killed generate leaves its temporary
// tree beside --out; the next one removes it and keeps the user's files.
func TestWriteTreeAfterAKilledRun(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "policies")
	if err := output.WriteTree(out, output.Tree{"shop/a.yaml": []byte("1")}); err != nil {
		t.Fatal(err)
	}
	// a run killed while building its tree (pid 2^30: no such process)
	left := filepath.Join(parent, ".policies.tmp-1073741824-0123456789abcdef")
	os.MkdirAll(filepath.Join(left, "shop"), 0o755)
	os.MkdirAll(filepath.Join(left, output.StateDir), 0o755)
	os.WriteFile(filepath.Join(left, output.Marker), nil, 0o644)
	os.WriteFile(filepath.Join(left, "shop", "a.yaml"), []byte("half"), 0o644)
	// an hour old too: where processes cannot be asked, age decides
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(left, old, old)
	os.WriteFile(filepath.Join(parent, "README.md"), []byte("the user's"), 0o644)
	os.WriteFile(filepath.Join(parent, ".policies.tmp-mine"), []byte("the user's"), 0o644)
	if err := output.WriteTree(out, output.Tree{"shop/a.yaml": []byte("2")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{".policies.tmp-mine", "README.md", "policies"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("beside the tree: %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "shop", "a.yaml")); string(b) != "2" {
		t.Errorf("shop/a.yaml = %q, want 2", b)
	}
}

// TestWriteTreeReplacesLegacyMarker: a tree written before the state
// directory (a regular .flowfence file at its root) is still replaced, and
// the new tree has the state directory with its marker; a tree path inside
// the state directory (the graph, the settings) lands there.
func TestWriteTreeReplacesLegacyMarker(t *testing.T) {
	out := filepath.Join(t.TempDir(), "policies")
	os.MkdirAll(filepath.Join(out, "shop"), 0o755)
	os.WriteFile(filepath.Join(out, ".flowfence"), []byte("legacy marker"), 0o644)
	os.WriteFile(filepath.Join(out, "shop", "old.yaml"), []byte("old"), 0o644)
	if err := output.WriteTree(out, output.Tree{"shop/a.yaml": []byte("1"), output.GraphFile: []byte("{}\n")}); err != nil {
		t.Fatalf("legacy tree not replaced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "shop", "old.yaml")); err == nil {
		t.Error("the old tree's file survived the replace")
	}
	for _, p := range []string{output.Marker, output.GraphFile} {
		if st, err := os.Lstat(filepath.Join(out, filepath.FromSlash(p))); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := output.WriteTree(out, output.Tree{output.StateDir: []byte("x")}); err == nil {
		t.Error("a tree path naming the state directory itself was written")
	}
}
