package prefetch

import "unsafe"

// lines prefetches n > 0 lines from p (prefetch_amd64.s: PREFETCHT0).
//
//go:noescape
func lines(p unsafe.Pointer, n int)
