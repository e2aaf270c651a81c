package swar

import "testing"

// TestPlainRun: PlainRun stops at the first quote, backslash, control or
// non-ASCII byte wherever it stands in a word, or where fewer than 8 bytes
// remain, as a byte-by-byte scan would.
func TestPlainRun(t *testing.T) {
	stops := []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff}
	plain := []byte{' ', '!', '#', '[', ']', '~', 0x7f, 'a'}
	for _, size := range []int{0, 7, 8, 9, 16, 23, 40} {
		for from := 0; from <= min(size, 9); from++ {
			for at := from; at <= size; at++ {
				for _, stop := range stops {
					b := make([]byte, size)
					for k := range b {
						b[k] = plain[k%len(plain)]
					}
					if at < size {
						b[at] = stop
					}
					want := at // a byte-by-byte scan from the last whole word
					if at == size || at >= from+(size-from)/8*8 {
						want = from + (size-from)/8*8
					}
					if got := PlainRun(b, from); got != want {
						t.Fatalf("size %d, from %d, %#x at %d: PlainRun = %d, want %d", size, from, stop, at, got, want)
					}
				}
			}
		}
	}
}
