// Package testsupport holds helpers shared by the tests of several
// packages: locating the real captures of ../shared/captures, measuring
// the peak heap of a call and the CPU time of the process, writing a file
// and reading a written tree back, a logger whose output the test reads.
// Only tests import it.
package testsupport

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CapturesEnv names the environment variable that, when set, is the
// captures directory itself and replaces the upward search.
const CapturesEnv = "FLOWFENCE_CAPTURES"

// FindCaptures returns shared/captures/<sub> (shared/captures itself when
// sub is empty), looked for in the working directory and every directory
// above it: the shared tree sits next to the repository root. $CapturesEnv
// overrides the search. The boolean reports whether the directory exists.
func FindCaptures(sub string) (string, bool) {
	if d := os.Getenv(CapturesEnv); d != "" {
		p := filepath.Join(d, sub)
		st, err := os.Stat(p)
		return p, err == nil && st.IsDir()
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "captures", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, true
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

// PeakHeap runs f and returns the largest heap in use seen while it ran
// (sampled every millisecond) above the heap before it.
func PeakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// ReadTree returns every file under dir by its slash-separated path
// relative to dir, as the tree a verb wrote for a user to read.
func ReadTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// WriteFile writes data to path, creating its directories, and returns
// path.
func WriteFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
