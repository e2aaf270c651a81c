package input

import (
	"crypto/sha256"
	"hash"
	"io"
)

// digestReader hashes the bytes read through it: the file as stored
// (before gzip), while the decoders stream it, so that a file is read once.
type digestReader struct {
	r   io.Reader
	h   hash.Hash
	eof bool
}

func newDigestReader(r io.Reader) *digestReader { return &digestReader{r: r, h: sha256.New()} }

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}

// Digest returns the SHA-256 of the file's bytes as stored (the compressed
// bytes of a gzip file: what sha256sum prints for it) and whether it is
// the whole file's: only once the file was read to its end.
func (f *File) Digest() (sum [sha256.Size]byte, whole bool) {
	if f.digest == nil {
		return sum, false
	}
	f.digest.h.Sum(sum[:0])
	return sum, f.digest.eof
}
