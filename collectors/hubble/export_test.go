package hubble

import (
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/record/recordtest"
)

// ProtojsonOnly turns the fast decoder of s off: every line goes through
// DecodeLine (protojson), the reference the fast path must agree with.
func ProtojsonOnly(s *FileSource) { s.NewDecode = newDecoder(nil) }

// FastDecoder exposes the fast path to the agreement tests, with a ledger
// of the endpoint IDs it emitted.
type FastDecoder struct {
	d *fastDecoder
	recordtest.IDLedger
}

// NewFastDecoder returns a fast decoder with its own caches.
func NewFastDecoder() *FastDecoder { return &FastDecoder{d: newFastDecoder(newSchema())} }

// Decode runs the fast path on one line; handled is false when the line
// would go to DecodeLine.
func (f *FastDecoder) Decode(b []byte, rec *record.Record) (skip string, ok, handled bool) {
	return f.d.decode(b, rec)
}
