package prefetch

import (
	"testing"
	"unsafe"
)

// TestLines: prefetching changes nothing, and no address faults: nil, the
// end of an object, an address never mapped.
func TestLines(t *testing.T) {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, c := range []struct {
		name string
		p    unsafe.Pointer
		n    int
	}{
		{"nil", nil, 1},
		{"a buffer", unsafe.Pointer(&buf[0]), len(buf) / 64},
		{"past its end", unsafe.Pointer(&buf[len(buf)-1]), 4},
		{"an address never mapped", unsafe.Add(unsafe.Pointer(nil), 0xdead0000), 2},
		{"no lines", unsafe.Pointer(&buf[0]), 0},
		{"a negative count", unsafe.Pointer(&buf[0]), -3},
	} {
		t.Run(c.name, func(t *testing.T) {
			Lines(c.p, c.n)
		})
	}
	for i := range buf {
		if buf[i] != byte(i) {
			t.Fatalf("byte %d changed: %d", i, buf[i])
		}
	}
}

// TestRangeLines: a range is every line it touches, wherever it starts.
func TestRangeLines(t *testing.T) {
	for _, c := range []struct {
		start, size uintptr
		lines       int
	}{
		{0, 240, 4}, {16, 240, 4}, {17, 240, 5}, {63, 1, 1}, {63, 2, 2}, {0, 64, 1}, {0, 65, 2}, {100, 0, 0},
	} {
		if got := rangeLines(64*1000+c.start, c.size); got != c.lines {
			t.Errorf("%d bytes at %d in a line: %d lines, want %d", c.size, c.start, got, c.lines)
		}
	}
	buf := make([]byte, 512)
	Range(unsafe.Pointer(&buf[17]), 240)
	Range(nil, 0)
}
