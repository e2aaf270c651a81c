// Package prefetch asks the CPU to bring memory into its caches ahead of
// use. It is a hint: it never faults (any address will do, nil too),
// changes nothing a program can observe but time, and on architectures
// without an implementation here it does nothing.
//
// It serves loops that know, a few iterations ahead, which scattered
// memory they will read (the learner's pod entries and edges): the loads
// then overlap instead of waiting one after the other.
package prefetch

import "unsafe"

// Lines hints that the n cache lines from the one holding p (p, p+64, …)
// are read soon.
func Lines(p unsafe.Pointer, n int) {
	if n > 0 {
		lines(p, n)
	}
}

// Range hints that the size bytes from p are read soon: every cache line
// they touch, wherever p is in its line.
func Range(p unsafe.Pointer, size uintptr) {
	Lines(p, rangeLines(uintptr(p), size))
}

// rangeLines is how many cache lines the size bytes from address a touch.
func rangeLines(a, size uintptr) int {
	if size == 0 {
		return 0
	}
	return int((a+size-1)/lineSize - a/lineSize + 1)
}

// lineSize is the cache line of the CPUs it prefetches for.
const lineSize = 64
