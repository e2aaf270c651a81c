// Package golden compares what a test renders with the golden files
// committed beside it. Every package keeps its goldens under
// testdata/golden/<case>/ and rewrites them all with one flag:
//
//	make golden   (go test -run Golden -update in each such package)
//
// Only tests import it.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Update is the -update flag: rewrite the golden files instead of failing
// on a difference.
var Update = flag.Bool("update", false, "rewrite the golden files under the package's testdata/golden")

// Dir returns the directory of one golden case of the package under test,
// testdata/golden/<name>, as an absolute path (tests that change directory
// resolve it first).
func Dir(t testing.TB, name string) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Compare checks that dir holds exactly the files of tree (paths with
// slashes, relative to dir) with the same bytes. With -update it first
// replaces dir with tree.
func Compare(t testing.TB, dir string, tree map[string][]byte) {
	t.Helper()
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if *Update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			write(t, filepath.Join(dir, filepath.FromSlash(p)), tree[p])
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatalf("golden tree %s missing (make golden, or go test -run Golden -update in this package): %v", dir, err)
	}
	slices.Sort(files)
	if !slices.Equal(files, paths) {
		t.Fatalf("file list differs from golden %s:\n got  %v\n want %v", dir, paths, files)
	}
	for _, p := range files {
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(tree[p]) {
			t.Errorf("%s differs from golden %s (make golden, or go test -run Golden -update in this package, then review the diff):\n%s", p, dir, FirstDiff(string(want), string(tree[p])))
		}
	}
}

// CompareFile checks one golden file, path, against got; with -update it
// writes got there first.
func CompareFile(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		write(t, path, got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (make golden, or go test -run Golden -update in this package): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden (make golden, or go test -run Golden -update in this package, then review the diff):\n%s", path, FirstDiff(string(want), string(got)))
	}
}

// FirstDiff describes the first line where want and got differ, or returns
// "" when they are equal.
func FirstDiff(want, got string) string {
	i, w, g, differ := FirstDifference(strings.Split(want, "\n"), strings.Split(got, "\n"))
	if !differ {
		return ""
	}
	return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n got:  " + g
}

// FirstDifference finds the first index where want and got differ (a
// missing element reads as ""), with the two elements there; differ is
// false when there is none.
func FirstDifference(want, got []string) (i int, w, g string, differ bool) {
	for i = 0; i < len(want) || i < len(got); i++ {
		w, g = "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			return i, w, g, true
		}
	}
	return 0, "", "", false
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
