// Package parallel spreads index-addressed work over all cores: the one
// home of the worker loop the stages use (each worker takes the next
// index, or the next chunk, until none is left), so callers keep only
// their per-index work and the order of their results.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(0..n-1) on all cores (GOMAXPROCS workers at most, one per
// index at most) and returns when every call is done. f writes its result
// by index; For itself keeps no order.
func For(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Chunks calls f on consecutive chunks [lo, hi) of 0..n-1 on all cores
// and returns when every chunk is done; worker is the index of the
// goroutine running the chunk (0 ≤ worker < the returned worker count),
// for per-worker results. Chunks are small enough to balance the load.
func Chunks(n int, f func(worker, lo, hi int)) (workers int) {
	workers = max(1, min(runtime.GOMAXPROCS(0), n))
	chunk := max(1, min(1024, n/(workers*8)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := int(next.Add(int64(chunk))) - chunk; lo < n; lo = int(next.Add(int64(chunk))) - chunk {
				f(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return workers
}
