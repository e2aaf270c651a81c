package hubblerelay

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/record"
)

// CursorVersion is the version of the cursor record this build writes.
const CursorVersion = 1

// maxCursorKeys bounds the keys a node cursor keeps at its boundary time
// (flows of one node sharing one nanosecond: a handful in practice).
const maxCursorKeys = 4096

// ReorderWindow is how far a live source looks back, from the newest flow
// it counted, when it resumes: a node whose last counted flow is older than
// that has been silent, and asking the relay for its flows since then would
// only re-send other nodes' flows to drop.
const ReorderWindow = time.Minute

// Cursor records how far the flows of one Hubble Relay were counted into a
// graph, per cluster node: a node's stream is in time order while the
// relay interleaves nodes. A resumed or reconnected source asks for flows
// since the cursor and drops those at or before it that were already
// counted (Replay). The graph keeps it as opaque JSON under the relay's
// name (learner.Cursors); cursors merge by taking, per node, the later
// time (the union of the keys on a tie): associative, commutative and
// idempotent like the rest of the graph.
type Cursor struct {
	Version int                    `json:"version"`
	Nodes   map[string]*NodeCursor `json:"nodes"`
}

// NodeCursor is the last flow time counted for one node and the keys (flow
// uuid, or a hash of the record when the flow has none) of the flows
// counted at exactly that time, with repetitions: two identical flows at
// the same nanosecond are two flows.
type NodeCursor struct {
	Time time.Time `json:"time"`
	Keys []string  `json:"keys,omitempty"`
}

// NewCursor returns an empty cursor.
func NewCursor() *Cursor { return &Cursor{Version: CursorVersion, Nodes: map[string]*NodeCursor{}} }

// RecordKey identifies a flow at its boundary time: its uuid, else a hash
// of what the record says about it ("h:" and 16 hex digits).
func RecordKey(r *record.Record) string {
	if r.UUID != "" {
		return r.UUID
	}
	h := fnv64(fnvOffset)
	for _, ep := range []*record.Endpoint{&r.Src, &r.Dst} {
		b := ep.IP.As16()
		h = h.bytes(b[:])
		h = h.bytes([]byte{byte(ep.Port >> 8), byte(ep.Port)})
		h = h.str(ep.Namespace).str(ep.Pod).str(string(ep.Entity))
	}
	h = h.bytes([]byte{byte(r.Proto), r.ICMPType, byte(r.Verdict), byte(r.Direction)})
	h = h.str(r.DropReason).str(r.DNSQuery)
	var out [18]byte
	out[0], out[1] = 'h', ':'
	const digits = "0123456789abcdef"
	for i := range 16 {
		out[17-i] = digits[(uint64(h)>>(4*i))&0xf]
	}
	return string(out[:])
}

// fnv64 is an inline FNV-1a hash (no allocation per record).
type fnv64 uint64

const (
	fnvOffset fnv64 = 14695981039346656037
	fnvPrime  fnv64 = 1099511628211
)

func (h fnv64) bytes(b []byte) fnv64 {
	for _, c := range b {
		h = (h ^ fnv64(c)) * fnvPrime
	}
	return h
}

// str hashes s and a separator.
func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv64(s[i])) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime
}

// Advance records that r was counted.
func (c *Cursor) Advance(r *record.Record) {
	t := r.Time.UTC()
	if t.IsZero() {
		return
	}
	n := c.Nodes[r.Node]
	switch {
	case n == nil:
		c.Nodes[r.Node] = &NodeCursor{Time: t, Keys: []string{RecordKey(r)}}
	case t.After(n.Time):
		n.Time = t
		n.Keys = append(n.Keys[:0], RecordKey(r))
	case t.Equal(n.Time) && len(n.Keys) < maxCursorKeys:
		n.Keys = append(n.Keys, RecordKey(r))
	}
}

// Last returns the newest counted flow time over all nodes.
func (c *Cursor) Last() time.Time {
	var last time.Time
	for _, n := range c.Nodes {
		if n.Time.After(last) {
			last = n.Time
		}
	}
	return last
}

// Since returns the time to ask the relay for flows from, to resume after
// the cursor: the oldest node cursor within ReorderWindow of the newest.
// It is zero for an empty cursor.
func (c *Cursor) Since() time.Time {
	last := c.Last()
	var since time.Time
	for _, n := range c.Nodes {
		if n.Time.Before(last.Add(-ReorderWindow)) {
			continue
		}
		if since.IsZero() || n.Time.Before(since) {
			since = n.Time
		}
	}
	return since
}

// Empty reports whether nothing was counted.
func (c *Cursor) Empty() bool { return c == nil || len(c.Nodes) == 0 }

// MarshalJSON writes the cursor with its keys sorted (deterministic files).
func (c *Cursor) MarshalJSON() ([]byte, error) {
	out := c.Clone()
	if out == nil {
		out = NewCursor()
	}
	out.normalize()
	type plain Cursor
	return json.Marshal((*plain)(out))
}

// DecodeCursor folds the cursors a graph holds for one relay into one
// (nil when there is none); name is the relay's, for errors.
func DecodeCursor(name string, blobs []json.RawMessage) (*Cursor, error) {
	if len(blobs) == 0 {
		return nil, nil
	}
	out := NewCursor()
	if err := collectors.FoldCursors(name, blobs, CursorVersion, func(c *Cursor) int { return c.Version }, out.Merge); err != nil {
		return nil, err
	}
	out.normalize()
	return out, nil
}

// Clone returns a deep copy (nil for nil).
func (c *Cursor) Clone() *Cursor {
	if c == nil {
		return nil
	}
	out := NewCursor()
	for k, n := range c.Nodes {
		out.Nodes[k] = &NodeCursor{Time: n.Time, Keys: slices.Clone(n.Keys)}
	}
	return out
}

// Merge folds o into c: per node the later time wins; on a tie the keys
// are the multiset union (the larger count of each key).
func (c *Cursor) Merge(o *Cursor) {
	if o == nil {
		return
	}
	for k, on := range o.Nodes {
		n := c.Nodes[k]
		switch {
		case on == nil:
		case n == nil || on.Time.After(n.Time):
			c.Nodes[k] = &NodeCursor{Time: on.Time, Keys: sortedKeys(on.Keys)}
		case on.Time.Equal(n.Time):
			n.Keys = unionKeys(n.Keys, on.Keys)
		}
	}
}

func sortedKeys(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// unionKeys is the multiset union of a and b, sorted.
func unionKeys(a, b []string) []string {
	ca, cb := map[string]int{}, map[string]int{}
	for _, k := range a {
		ca[k]++
	}
	for _, k := range b {
		cb[k]++
	}
	for k, v := range cb {
		ca[k] = max(ca[k], v)
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ca)) {
		for range ca[k] {
			out = append(out, k)
		}
	}
	if len(out) > maxCursorKeys {
		out = out[:maxCursorKeys]
	}
	return out
}

// normalize sorts the keys (written files are deterministic).
func (c *Cursor) normalize() {
	c.Version = CursorVersion
	for k, n := range c.Nodes {
		if n == nil {
			delete(c.Nodes, k)
			continue
		}
		n.Time = n.Time.UTC()
		slices.Sort(n.Keys)
	}
}

// Replay drops the flows a resumed or reconnected stream sends again: per
// node, every flow before the cursor's time, and at exactly that time as
// many flows of each key as were counted. A node's first flow after its
// cursor time ends the replay for that node. Not safe for concurrent use.
type Replay struct {
	nodes map[string]*replayNode
}

type replayNode struct {
	time time.Time
	keys map[string]int
}

// NewReplay starts a replay filter from a snapshot of c (nil: none).
func NewReplay(c *Cursor) *Replay {
	r := &Replay{nodes: map[string]*replayNode{}}
	if c == nil {
		return r
	}
	for k, n := range c.Nodes {
		rn := &replayNode{time: n.Time, keys: map[string]int{}}
		for _, key := range n.Keys {
			rn.keys[key]++
		}
		r.nodes[k] = rn
	}
	return r
}

// Active reports whether some node is still being replayed.
func (r *Replay) Active() bool { return r != nil && len(r.nodes) > 0 }

// Seen reports whether rec was already counted (and must be dropped).
func (r *Replay) Seen(rec *record.Record) bool {
	if r == nil || len(r.nodes) == 0 {
		return false
	}
	n := r.nodes[rec.Node]
	if n == nil {
		return false
	}
	t := rec.Time
	switch {
	case t.IsZero():
		return false
	case t.Before(n.time):
		return true
	case t.Equal(n.time):
		key := RecordKey(rec)
		if n.keys[key] > 0 {
			n.keys[key]--
			return true
		}
		return false
	default:
		delete(r.nodes, rec.Node)
		return false
	}
}
