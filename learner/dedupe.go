package learner

// uuidWindow remembers the last n flow UUIDs not seen before it (the
// learner's dedupe window). Canonical UUIDs (8-4-4-4-12 lowercase hex, as
// Hubble writes them) are kept as 16 bytes, so that the per-flow insert and
// eviction hash and compare no string (nor keep one alive); any other
// string is kept as it is. Both share one ring, so the window is the same
// as one set of strings would be.
type uuidWindow struct {
	n     int
	ring  []uuidEntry
	pos   int
	canon uuidSet
	other map[string]struct{}
}

type uuidKey [2]uint64

type uuidEntry struct {
	key   uuidKey
	s     string // when not canonical
	canon bool
}

// seen reports whether id is in the window, adding it when it is not.
func (w *uuidWindow) seen(id string) bool {
	k, canon := parseUUID(id)
	if canon {
		if w.canon.has(k) {
			return true
		}
	} else if _, ok := w.other[id]; ok {
		return true
	}
	e := uuidEntry{key: k, canon: canon}
	if !canon {
		e.s = id
	}
	if len(w.ring) < w.n {
		w.ring = append(w.ring, e)
	} else {
		old := &w.ring[w.pos]
		if old.canon {
			w.canon.remove(old.key)
		} else {
			delete(w.other, old.s)
		}
		*old = e
		w.pos = (w.pos + 1) % len(w.ring)
	}
	if canon {
		w.canon.add(k, w.n)
	} else {
		if w.other == nil {
			w.other = map[string]struct{}{}
		}
		w.other[id] = struct{}{}
	}
	return false
}

// parseUUID reads a canonical lowercase UUID; ok is false for anything
// else (two different strings never give the same key). It is on the
// learner's per-flow path: a table lookup per hex digit, no branches per
// character beyond the validity check.
func parseUUID(s string) (k uuidKey, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	var bad uint64
	hex := func(i int) uint64 {
		v := uint64(hexVal[s[i]])
		bad |= v
		return v & 0xf
	}
	var a, b uint64
	for _, i := range [16]int{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17} {
		a = a<<4 | hex(i)
	}
	for _, i := range [16]int{19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35} {
		b = b<<4 | hex(i)
	}
	if bad&0x10 != 0 {
		return uuidKey{}, false
	}
	return uuidKey{a, b}, true
}

// hexVal maps a lowercase hex digit to its value and every other byte to
// 0x10 (invalid): a constant, so the table is immutable.
const hexVal = "\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x0a\x0b\x0c\x0d\x0e\x0f\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10"

// uuidSet is a set of 128-bit keys: open addressing with linear probing,
// at most half full, and backward-shift deletion (no tombstones), so that
// the window's insert and eviction per flow touch one or two cache lines
// where a Go map touches several.
type uuidSet struct {
	slots   []uuidKey // {0,0} is empty; the zero key itself is hasZero
	mask    uint64
	n       int
	hasZero bool
}

func (s *uuidSet) slot(k uuidKey) uint64 {
	// the keys are random (UUIDv4) or at least varied: mix both halves
	h := (k[0] ^ k[1]*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return (h ^ h>>31) & s.mask
}

func (s *uuidSet) has(k uuidKey) bool {
	if k == (uuidKey{}) {
		return s.hasZero
	}
	if s.slots == nil {
		return false
	}
	for i := s.slot(k); ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case k:
			return true
		case uuidKey{}:
			return false
		}
	}
}

// add inserts k (not present); capacity is sized for window keys.
func (s *uuidSet) add(k uuidKey, window int) {
	if k == (uuidKey{}) {
		s.hasZero = true
		return
	}
	if s.slots == nil || 2*(s.n+1) > len(s.slots) {
		s.grow(max(2*window, 2*(s.n+1)))
	}
	s.place(k)
}

// place puts k (not zero, not present) into the first free slot of its
// probe run.
func (s *uuidSet) place(k uuidKey) {
	i := s.slot(k)
	for s.slots[i] != (uuidKey{}) {
		i = (i + 1) & s.mask
	}
	s.slots[i] = k
	s.n++
}

func (s *uuidSet) grow(min int) {
	size := 16
	for size < min {
		size *= 2
	}
	old := s.slots
	s.slots, s.mask, s.n = make([]uuidKey, size), uint64(size-1), 0
	for _, k := range old {
		if k != (uuidKey{}) {
			s.place(k)
		}
	}
}

// remove deletes k (present), shifting later keys of its probe run back.
func (s *uuidSet) remove(k uuidKey) {
	if k == (uuidKey{}) {
		s.hasZero = false
		return
	}
	i := s.slot(k)
	for s.slots[i] != k {
		i = (i + 1) & s.mask
	}
	s.n--
	for j := (i + 1) & s.mask; ; j = (j + 1) & s.mask {
		if s.slots[j] == (uuidKey{}) {
			break
		}
		// move slots[j] to i when its home is not in (i, j]
		h := s.slot(s.slots[j])
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = uuidKey{}
}
