package learner

import (
	"unsafe"

	"github.com/flowfence/flowfence/internal/prefetch"
	"github.com/flowfence/flowfence/record"
)

// Prefetch asks the CPU for the learner memory that Add will read for
// recs, the next records to add, and changes nothing: Add reads the same,
// sooner. A few dozen records at a time suit it (collectors.Emitter
// passes 32): their memory fits the CPU's first-level cache.
//
// Add of one record follows pointers (the pods' entries, the source
// node's slot tags, the edge's slot, the edge and its merge state), each
// read waiting for the one before, and each a cache miss on a large
// graph. Prefetch takes a group of records through those steps a step at
// a time: the reads of one step are for different records, do not wait
// for each other, and are answered while the next step runs.
func (l *Learner) Prefetch(recs []*record.Record) {
	// 1: the entries of the pods (their hot lines, and the reply slots
	// for a reply)
	for _, r := range recs {
		n := podRefHotLines
		if r.Direction == record.Reply {
			n = podRefReplyLines
		}
		if mc := r.Src.MemoCache(); mc != nil {
			prefetch.Lines(unsafe.Pointer(mc), n)
		}
		if mc := r.Dst.MemoCache(); mc != nil {
			prefetch.Lines(unsafe.Pointer(mc), n)
		}
	}
	// and the dedupe window's slots: the record's uuid's and the one it
	// evicts (when every record before it is new)
	l.uuids.prefetch(recs)
	// 2: the source node's slot tags
	for _, r := range recs {
		if src := l.prefetchRef(r, &r.Src); src != nil && src.outs != nil {
			prefetch.Lines(unsafe.Add(unsafe.Pointer(src.outs), unsafe.Offsetof(src.outs.tags)), 1)
		}
	}
	// 3: the edge's slot, found by its tag
	for _, r := range recs {
		if s := l.prefetchSlot(r, false); s != nil {
			prefetch.Lines(unsafe.Pointer(s), 2)
		}
	}
	// 4: the edge and its merge state
	for _, r := range recs {
		if s := l.prefetchSlot(r, true); s != nil {
			// (an Edge is not line-aligned: every line of it)
			prefetch.Range(unsafe.Pointer(s.e), unsafe.Sizeof(*s.e))
			if s.rep != nil {
				prefetch.Lines(unsafe.Pointer(s.rep), 1)
			}
		}
	}
}

// The lines of a pod entry (podRef, line-aligned) that Add reads for a
// request, and for a reply (the reply tags too); TestHotLayout checks them.
const (
	podRefHotLines   = 2
	podRefReplyLines = 3
)

// prefetchRef is the learner's entry for ep, a pod endpoint of a request
// r, when its memo has one.
func (l *Learner) prefetchRef(r *record.Record, ep *record.Endpoint) *podRef {
	if r.Direction != record.Request {
		return nil
	}
	mc := ep.MemoCache()
	if mc == nil || mc.Owner != any(l) {
		return nil
	}
	return (*podRef)(unsafe.Pointer(mc))
}

// prefetchSlot is the slot of r's edge among the source node's recent
// out-edges: a slot whose tag is the edge's, or (verified) the edge's.
func (l *Learner) prefetchSlot(r *record.Record, verified bool) *edgeSlot {
	src, dst := l.prefetchRef(r, &r.Src), l.prefetchRef(r, &r.Dst)
	if src == nil || dst == nil || src.outs == nil {
		return nil
	}
	port := r.Dst.Port
	if !r.Proto.HasPorts() {
		port = 0
	}
	o := src.outs
	if verified {
		return o.slot(dst.id, r.Proto, port)
	}
	t := slotTag(dst.id, r.Proto, port)
	for i, tag := range o.tags {
		if tag == t {
			return &o.edges[i]
		}
	}
	return nil
}

// prefetch asks for the set's slots that seen will read for the uuids
// of recs.
func (w *uuidWindow) prefetch(recs []*record.Record) {
	s := &w.canon
	if s.slots == nil {
		return
	}
	full := len(w.ring) == w.n
	for j, r := range recs {
		if r.UUID == "" {
			continue
		}
		if k, ok := parseUUID(r.UUID); ok {
			prefetch.Lines(unsafe.Pointer(&s.slots[s.slot(k)]), 1)
		}
		if full {
			if old := &w.ring[(w.pos+j)%len(w.ring)]; old.canon {
				prefetch.Lines(unsafe.Pointer(&s.slots[s.slot(old.key)]), 1)
			}
		}
	}
}
