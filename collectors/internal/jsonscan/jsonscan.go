// Package jsonscan holds the byte-level JSON rules the fast paths of the
// file sources (collectors/hubble, collectors/calico) share: the
// word-at-a-time (SWAR) string scan, 8 bytes at once to the next byte
// that needs a closer look (a quote, a backslash, a control or a
// non-ASCII byte), and where a literal or a number may end.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// StringStop is non-zero when the word x holds a byte below 0x20, at or
// above 0x80, '"' or '\\'. Its lowest set bit is in the first such byte of
// a little-endian word, exactly (a borrow only propagates upwards from a
// flagged byte).
func StringStop(x uint64) uint64 {
	q := x ^ (lo8 * '"')
	bs := x ^ (lo8 * '\\')
	return ((x - lo8*0x20) & ^x & hi8) | (x & hi8) | ((q - lo8) & ^q & hi8) | ((bs - lo8) & ^bs & hi8)
}

// PlainRun returns the index of the first byte at or after i that
// StringStop flags, or, when there is none, the index where fewer than 8
// bytes of b remain: the caller reads on from there byte by byte.
func PlainRun(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := StringStop(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// Delim reports whether the byte at i of b may follow a literal or a
// number: the end of b, a comma, a closing bracket or white space.
func Delim(b []byte, i int) bool {
	if i >= len(b) {
		return true
	}
	switch b[i] {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
