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
	canon map[uuidKey]struct{}
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
		if _, ok := w.canon[k]; ok {
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
			delete(w.canon, old.key)
		} else {
			delete(w.other, old.s)
		}
		*old = e
		w.pos = (w.pos + 1) % len(w.ring)
	}
	if canon {
		if w.canon == nil {
			w.canon = map[uuidKey]struct{}{}
		}
		w.canon[k] = struct{}{}
	} else {
		if w.other == nil {
			w.other = map[string]struct{}{}
		}
		w.other[id] = struct{}{}
	}
	return false
}

// parseUUID reads a canonical lowercase UUID; ok is false for anything
// else (two different strings never give the same key).
func parseUUID(s string) (k uuidKey, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	n := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		var v uint64
		switch {
		case '0' <= c && c <= '9':
			v = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			v = uint64(c - 'a' + 10)
		default:
			return k, false
		}
		k[n/16] = k[n/16]<<4 | v
		n++
	}
	return k, true
}
