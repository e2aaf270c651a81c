package limitread

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestReader: an input up to the bound is read whole and ends cleanly; one
// byte more fails with ErrOver and Over says so, whatever the reads' sizes.
func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		limit    int64
		oneByte  bool // the input gives one byte a read
		wantOver bool
	}{
		{name: "empty", size: 0, limit: 10},
		{name: "under the bound", size: 9, limit: 10},
		{name: "exactly the bound", size: 10, limit: 10},
		{name: "exactly the bound, a byte a read", size: 10, limit: 10, oneByte: true},
		{name: "one byte over", size: 11, limit: 10, wantOver: true},
		{name: "far over, a byte a read", size: 1000, limit: 10, oneByte: true, wantOver: true},
		{name: "a zero bound and some input", size: 1, limit: 0, wantOver: true},
		{name: "a zero bound and none", size: 0, limit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Repeat([]byte("x"), tt.size)
			var r io.Reader = bytes.NewReader(in)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			l := New(r, tt.limit)
			got, err := io.ReadAll(l)
			if tt.wantOver {
				if !errors.Is(err, ErrOver) || !l.Over() {
					t.Fatalf("err %v, Over %v; want ErrOver", err, l.Over())
				}
				if int64(len(got)) != tt.limit {
					t.Errorf("read %d bytes before failing, want the bound %d", len(got), tt.limit)
				}
				return
			}
			if err != nil || l.Over() {
				t.Fatalf("err %v, Over %v; want a clean end", err, l.Over())
			}
			if !bytes.Equal(got, in) {
				t.Errorf("read %d bytes, want %d", len(got), len(in))
			}
		})
	}
}
