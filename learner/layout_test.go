package learner

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// layoutGo is the Go release whose allocator TestHotLayout describes
// (malloc headers, size classes, slot alignment); layoutArch says which
// architectures: 64-bit words and 64-byte cache lines.
const (
	layoutGo   = "go1.26"
	layoutArch = "amd64 arm64"
)

// TestHotLayout pins the cache-line layout the learner's hot path relies
// on. The heap places an object in a slot of its size class; the classes
// used here are multiples of 64 bytes, so slots start at cache lines, and
// an object of more than 512 bytes with pointers starts 8 bytes into its
// slot (its malloc header).
//
// Those are facts of one Go release's runtime, not of the language: on
// another release or architecture the test skips and says so, and whoever
// upgrades re-checks the layout (make bench) and moves layoutGo.
func TestHotLayout(t *testing.T) {
	v := runtime.Version()
	if v != layoutGo && !strings.HasPrefix(v, layoutGo+".") || !strings.Contains(" "+layoutArch+" ", " "+runtime.GOARCH+" ") {
		t.Skipf("the hot layout was checked against %s on %s; this is %s on %s: re-check it (make bench) and update layoutGo", layoutGo, layoutArch, v, runtime.GOARCH)
	}
	var ref podRef
	var o outSlots
	base := func(size uintptr) uintptr {
		if size > 512 {
			return 8
		}
		return 0
	}
	rb, ob := base(unsafe.Sizeof(ref)), base(unsafe.Sizeof(o))
	for _, c := range []struct {
		name     string
		off, end uintptr // in memory: from the slot's start
		lines    uintptr
	}{
		{"podRef's hot fields", rb, rb + unsafe.Offsetof(ref.nextReplied) + 1, 2},
		{"outSlots' tags", ob + unsafe.Offsetof(o.tags), ob + unsafe.Offsetof(o.tags) + unsafe.Sizeof(o.tags), 1},
		{"the first edge slot", ob + unsafe.Offsetof(o.edges), ob + unsafe.Offsetof(o.edges) + unsafe.Sizeof(o.edges[0]), 2},
	} {
		if n := (c.end-1)/64 - c.off/64 + 1; n > c.lines {
			t.Errorf("%s (bytes %d..%d of the slot) span %d cache lines, want %d", c.name, c.off, c.end, n, c.lines)
		}
	}
	if s := unsafe.Sizeof(o.edges[0]); s%64 != 0 {
		t.Errorf("an edge slot is %d bytes, not whole cache lines", s)
	}
	for _, size := range []uintptr{unsafe.Sizeof(ref), unsafe.Sizeof(o)} {
		if c := sizeClass(size + base(size)); c%64 != 0 {
			t.Errorf("an object of %d bytes is allocated in %d-byte slots: not line-aligned", size, c)
		}
	}
	// and where the heap puts them
	for range 64 {
		if a := uintptr(unsafe.Pointer(heapNew[podRef]())); a%64 != rb {
			t.Fatalf("a podRef at %#x: %d bytes into a cache line, want %d", a, a%64, rb)
		}
		if a := uintptr(unsafe.Pointer(heapNew[outSlots]())); a%64 != ob {
			t.Fatalf("an outSlots at %#x: %d bytes into a cache line, want %d", a, a%64, ob)
		}
	}
}

// sizeClass is the Go heap's slot size for an object of n bytes (the
// classes of runtime/sizeclasses.go from 256 to 4096 bytes).
func sizeClass(n uintptr) uintptr {
	for _, c := range []uintptr{256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096} {
		if n <= c {
			return c
		}
	}
	return n
}

// heapNew allocates a T on the heap (the result escapes).
//
//go:noinline
func heapNew[T any]() *T { return new(T) }
