package inputtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Values reads a file of one JSON value a line.
func Values(t testing.TB, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		values = append(values, []byte(l))
	}
	return values
}

// Read reads the file at path as flowfence does, on workers decoding
// goroutines, and returns its records as comparable lines, how many
// documents were malformed or truncated, and the warnings logged.
type Read func(t *testing.T, path string, workers int) (recs []string, malformed, truncated uint64, log string)

// CheckEveryFraming checks a reader over every framing (Framings) of the
// values of file (one JSON value a line) with bad inserted in the middle:
// each framing, on each of workers, gives the records of the one-per-line
// file, with bad reported at the line it starts on and the rest kept (a
// framing's garbage first line reported at line 1). It returns the
// records of the one-per-line file, for the caller to check.
func CheckEveryFraming(t *testing.T, file, bad string, workers []int, read Read) []string {
	t.Helper()
	values := Values(t, file)
	mid := len(values) / 2
	values = append(values[:mid], append([][]byte{[]byte(bad)}, values[mid:]...)...)
	var want []string
	for i, f := range Framings(values) {
		path := filepath.Join(t.TempDir(), "flows")
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		for j, w := range workers {
			got, malformed, truncated, log := read(t, path, w)
			if i == 0 && j == 0 {
				want = got
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s, %d workers: records differ from the one-per-line file:\n got %d %q\nwant %d %q", f.Name, w, len(got), got, len(want), want)
			}
			wantMalformed := uint64(1)
			if strings.Contains(f.Name, "garbage first line") {
				wantMalformed++
				if !strings.Contains(log, path+":1:") {
					t.Errorf("%s: the garbage first line is not reported at %s:1:\n%s", f.Name, path, log)
				}
			}
			if malformed != wantMalformed || truncated != 0 {
				t.Errorf("%s: %d malformed, %d truncated; want %d, 0", f.Name, malformed, truncated, wantMalformed)
			}
			if at := fmt.Sprintf("%s:%d:", path, f.Lines[mid]); !strings.Contains(log, at) {
				t.Errorf("%s: the bad document is not reported at %s:\n%s", f.Name, at, log)
			}
		}
	}
	return want
}
