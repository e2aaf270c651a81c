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
