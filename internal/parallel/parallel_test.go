package parallel_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/flowfence/flowfence/internal/parallel"
)

// TestEveryIndexOnce: For and Chunks call the work for every index of
// 0..n-1 exactly once, whatever n and the number of cores, and Chunks
// names only workers below the count it returns.
func TestEveryIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 7} {
		prev := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 9, 100, 5000, 70000} {
			calls := make([]atomic.Int32, n)
			parallel.For(n, func(i int) { calls[i].Add(1) })
			for i := range calls {
				if c := calls[i].Load(); c != 1 {
					t.Fatalf("GOMAXPROCS %d, For(%d): index %d called %d times", procs, n, i, c)
				}
			}
			chunked := make([]atomic.Int32, n)
			var badWorker atomic.Int64
			badWorker.Store(-1)
			limit := max(1, min(procs, n))
			workers := parallel.Chunks(n, func(w, lo, hi int) {
				if w < 0 || w >= limit || lo >= hi {
					badWorker.Store(int64(w))
				}
				for i := lo; i < hi; i++ {
					chunked[i].Add(1)
				}
			})
			if workers != limit {
				t.Errorf("GOMAXPROCS %d, Chunks(%d): %d workers, want %d", procs, n, workers, limit)
			}
			if w := badWorker.Load(); w != -1 {
				t.Errorf("GOMAXPROCS %d, Chunks(%d): worker %d or an empty chunk, workers %d", procs, n, w, workers)
			}
			for i := range chunked {
				if c := chunked[i].Load(); c != 1 {
					t.Fatalf("GOMAXPROCS %d, Chunks(%d): index %d covered %d times", procs, n, i, c)
				}
			}
		}
		runtime.GOMAXPROCS(prev)
	}
}
