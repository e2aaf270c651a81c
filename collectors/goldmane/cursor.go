package goldmane

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/record"
)

// CursorVersion is the version of the cursor this build writes and reads.
const CursorVersion = 1

// maxCursorKeys bounds the keys a cursor keeps at its start second (the
// flows of one aggregation bucket).
const maxCursorKeys = 1 << 16

// Cursor records how far a goldmane:// source was counted into a graph
// (the rule: doc.go): the newest flow start time counted, in seconds, and
// the keys of the flows counted that started then, with repetitions. The
// graph keeps it as opaque JSON under the source's URL (learner.Cursors).
type Cursor struct {
	Version int `json:"version"`
	// Start is the newest start time (Unix seconds) of a counted flow.
	Start int64 `json:"start"`
	// Keys are the keys (RecordKey) of the flows counted that started at
	// Start, sorted, with repetitions.
	Keys []string `json:"keys,omitempty"`
}

// NewCursor returns an empty cursor.
func NewCursor() *Cursor { return &Cursor{Version: CursorVersion} }

// RecordKey identifies a Goldmane record within its start second: a
// digest of everything the record says but where it was read from, so
// that a flow sent again is dropped only when one saying the same was
// counted ("g:" and 16 hex digits).
func RecordKey(r *record.Record) string {
	c := *r
	c.Src.ID, c.Dst.ID, c.Source = nil, nil, ""
	b, _ := json.Marshal(&c) // a record always marshals: plain data
	sum := sha256.Sum256(b)
	return "g:" + hex.EncodeToString(sum[:8])
}

// Advance records that r was counted (collectors.Cursor).
func (c *Cursor) Advance(r *record.Record) {
	if r.Time.IsZero() {
		return
	}
	switch t := r.Time.Unix(); {
	case c.Empty() || t > c.Start:
		c.Start, c.Keys = t, []string{RecordKey(r)}
	case t == c.Start && len(c.Keys) < maxCursorKeys:
		c.Keys = append(c.Keys, RecordKey(r))
	}
}

// Empty reports whether nothing was counted.
func (c *Cursor) Empty() bool { return c == nil || len(c.Keys) == 0 }

// Since is the time a resumed source asks Goldmane for flows from.
func (c *Cursor) Since() time.Time {
	if c.Empty() {
		return time.Time{}
	}
	return time.Unix(c.Start, 0).UTC()
}

// MarshalJSON writes the cursor with its keys sorted.
func (c *Cursor) MarshalJSON() ([]byte, error) {
	type plain Cursor
	out := plain{Version: CursorVersion}
	if c != nil {
		out.Start, out.Keys = c.Start, slices.Sorted(slices.Values(c.Keys))
	}
	return json.Marshal(&out)
}

// merge folds o into c: the later start wins; on a tie the keys are the
// multiset union (the larger count of each key).
func (c *Cursor) merge(o *Cursor) {
	switch {
	case o.Empty():
	case c.Empty() || o.Start > c.Start:
		c.Start, c.Keys = o.Start, slices.Sorted(slices.Values(o.Keys))
	case o.Start == c.Start:
		count := map[string]int{}
		for _, k := range c.Keys {
			count[k]++
		}
		seen := map[string]int{}
		for _, k := range o.Keys {
			if seen[k]++; seen[k] > count[k] {
				c.Keys = append(c.Keys, k)
			}
		}
		slices.Sort(c.Keys)
		c.Keys = c.Keys[:min(len(c.Keys), maxCursorKeys)]
	}
}

// DecodeCursor folds the cursors a graph holds for one Goldmane into one
// (nil when there is none); name is the source's, for errors.
func DecodeCursor(name string, blobs []json.RawMessage) (*Cursor, error) {
	if len(blobs) == 0 {
		return nil, nil
	}
	out := NewCursor()
	if err := collectors.FoldCursors(name, blobs, CursorVersion, func(c *Cursor) int { return c.Version }, out.merge); err != nil {
		return nil, err
	}
	return out, nil
}

// replay drops the flows a resumed source is sent again: those that
// started before the cursor's second, and at that second as many of each
// key as were counted. Not safe for concurrent use.
type replay struct {
	start int64
	keys  map[string]int
}

func newReplay(c *Cursor) *replay {
	if c.Empty() {
		return nil
	}
	r := &replay{start: c.Start, keys: map[string]int{}}
	for _, k := range c.Keys {
		r.keys[k]++
	}
	return r
}

// seen reports whether rec was already counted (and must be dropped).
func (r *replay) seen(rec *record.Record) bool {
	if r == nil || rec.Time.IsZero() {
		return false
	}
	switch t := rec.Time.Unix(); {
	case t < r.start:
		return true
	case t > r.start:
		return false
	}
	k := RecordKey(rec)
	if r.keys[k] > 0 {
		r.keys[k]--
		return true
	}
	return false
}
