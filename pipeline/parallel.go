package pipeline

import (
	"runtime"
	"sync"
)

// forChunks calls f on consecutive chunks [lo, hi) of 0..n-1 on all cores
// and returns when every chunk is done; worker is the index of the
// goroutine running the chunk (0 ≤ worker < the returned worker count),
// for per-worker results. Chunks are small enough to balance the load.
func forChunks(n int, f func(worker, lo, hi int)) (workers int) {
	workers = max(1, min(runtime.GOMAXPROCS(0), n))
	chunk := max(1, min(1024, n/(workers*8)))
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				f(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return workers
}
