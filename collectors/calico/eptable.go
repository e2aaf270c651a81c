package calico

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// epTable is the table of workload endpoint templates (see
// fastDecoder.endpoint), shared by the decode workers of one file: each
// distinct endpoint is converted once, whichever worker meets it first,
// and every worker's records of it carry the one template's ID. With a
// table per worker, each worker held a copy of every endpoint of the
// file, twice the memory the lookups miss in.
//
// An open-addressed table by a hash of what the endpoints were converted
// from (seeded once for all workers). Lookups take no lock: a slot's
// template is stored after its hash, and read before it, so a lookup that
// sees a template sees its hash. Templates are added under a lock; a table
// that grows (or is emptied when full) is replaced whole, and lookups
// still holding the old one finish on it.
type epTable struct {
	seed  maphash.Seed
	mu    sync.Mutex
	slots atomic.Pointer[epSlots]
}

// epSlots is one generation of the table: n of its slots are used
// (written under the table's lock).
type epSlots struct {
	e []epSlot
	n int
}

// epSlot is one entry (t nil: free).
type epSlot struct {
	h atomic.Uint64
	t atomic.Pointer[epTemplate]
}

func newEpTable() *epTable {
	tab := &epTable{seed: maphash.MakeSeed()}
	tab.slots.Store(&epSlots{e: make([]epSlot, minEpTable)})
	return tab
}

// load returns the table's current slots (a power of two of them), for
// lookups: probe from hash&(len-1) to the first free slot, loading each
// slot's template before its hash.
func (tab *epTable) load() []epSlot { return tab.slots.Load().e }

// find returns the template of hash h and key k (of lengths lens) in the
// slots e, nil when there is none.
func find(e []epSlot, h uint64, k []byte, lens epLens) *epTemplate {
	mask := len(e) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		t := e[i].t.Load()
		if t == nil {
			return nil
		}
		if e[i].h.Load() == h && t.is(k, lens) {
			return t
		}
	}
}

// add adds t, the template of hash h, and returns it; or returns the
// template of the same key that another worker added since this one
// looked.
func (tab *epTable) add(h uint64, t *epTemplate) *epTemplate {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	s := tab.slots.Load()
	if o := find(s.e, h, t.key, t.lens); o != nil {
		return o
	}
	switch {
	case s.n >= maxEndpoints:
		// full: emptied (its templates stay valid for the records that
		// carry them)
		s = &epSlots{e: make([]epSlot, len(s.e))}
		tab.slots.Store(s)
	case 2*(s.n+1) > len(s.e):
		s = s.grown()
		tab.slots.Store(s)
	}
	s.put(h, t)
	s.n++
	return t
}

// put stores t in the first free slot from h.
func (s *epSlots) put(h uint64, t *epTemplate) {
	mask := len(s.e) - 1
	i := int(h) & mask
	for s.e[i].t.Load() != nil {
		i = (i + 1) & mask
	}
	s.e[i].h.Store(h)
	s.e[i].t.Store(t)
}

// grown returns a table of twice the slots holding s's templates.
func (s *epSlots) grown() *epSlots {
	g := &epSlots{e: make([]epSlot, 2*len(s.e)), n: s.n}
	for i := range s.e {
		if t := s.e[i].t.Load(); t != nil {
			g.put(s.e[i].h.Load(), t)
		}
	}
	return g
}
