// Package limitread bounds what is read of an input a user supplies (a
// saved graph, an inventory file): a Reader gives at most its bound of
// bytes and then fails, so a gzip bomb or an endless stream stops there
// instead of exhausting memory, while an input of exactly the bound is
// still read whole.
package limitread

import (
	"errors"
	"io"
)

// ErrOver is the error a Reader returns once its input holds more than its
// bound.
var ErrOver = errors.New("input larger than its bound")

// Reader reads at most limit bytes of r (New); Over reports whether the
// input held more.
type Reader struct {
	r    io.Reader
	left int64
	over bool
}

// New reads at most limit bytes of r.
func New(r io.Reader, limit int64) *Reader { return &Reader{r: r, left: limit} }

// Read reads from the input up to the bound; at the bound, one byte more
// tells an input of exactly the bound (r's error, io.EOF) from a larger one
// (ErrOver).
func (l *Reader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, ErrOver
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// Over reports whether the input held more than the bound.
func (l *Reader) Over() bool { return l.over }
