package jsonscan

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

// TestDelim: a literal or a number ends at the end of the input, a comma,
// a closing bracket or white space, and nowhere else.
func TestDelim(t *testing.T) {
	b := []byte("1,}] \t\n\r{[:\"a0-.")
	want := []bool{false, true, true, true, true, true, true, true, false, false, false, false, false, false, false, false}
	for i := range b {
		if got := Delim(b, i); got != want[i] {
			t.Errorf("Delim at %q = %v, want %v", b[i], got, want[i])
		}
	}
	if !Delim(b, len(b)) {
		t.Error("Delim at the end of the input = false, want true")
	}
}
