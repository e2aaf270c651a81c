package learner

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/flowfence/flowfence/record"
)

// TestGraphFileRoundTrip: a graph written by WriteGraphFile reads back
// byte-identical; what is not a graph file fails with an error a caller
// can tell apart.
func TestGraphFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	g := learn(Options{}, flow(at(0), podEP("a", "web-1", "10.0.0.1", 40000, map[string]string{"app": "web"}),
		podEP("b", "db-1", "10.0.0.2", 5432, map[string]string{"app": "db"}), record.TCP, record.Request, record.Forwarded, "n1"))
	path := filepath.Join(dir, "graph.json")
	if err := WriteGraphFile(path, g); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGraphFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := writeJSON(t, back), writeJSON(t, g); got != want {
		t.Errorf("read back:\n%s\nwant:\n%s", got, want)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	notGraph := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notGraph, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		check      func(error) bool
	}{
		{"missing", filepath.Join(dir, "none.json"), func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"fifo refused at open", fifo, func(err error) bool { _, ok := err.(*os.PathError); return ok }},
		{"not a graph", notGraph, func(err error) bool { _, ok := err.(*os.PathError); return !ok && err != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadGraphFile(tc.path); !tc.check(err) {
				t.Errorf("ReadGraphFile(%s) = %v", tc.name, err)
			}
		})
	}
}
