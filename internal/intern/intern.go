// Package intern keeps one copy of each string a decoder meets again and
// again (namespaces, pod and node names, addresses): records then share
// their strings' bytes, stay small, and compare fast. A Table is bounded:
// when it holds its maximum it is emptied and refills, so memory stays
// flat however many distinct names stream by.
package intern

// Table interns strings, at most max at a time. The zero Table is not
// usable: make one with New. Not safe for concurrent use.
type Table struct {
	m   map[string]string
	max int
}

// New returns a Table that holds at most max strings.
func New(max int) *Table { return &Table{m: map[string]string{}, max: max} }

// Bytes returns b as the table's string equal to it, adding it when there
// is none (the lookup itself copies nothing).
func (t *Table) Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	return t.add(string(b))
}

// String returns the table's string equal to s, adding s when there is
// none.
func (t *Table) String(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := t.m[s]; ok {
		return c
	}
	return t.add(s)
}

func (t *Table) add(s string) string {
	if len(t.m) >= t.max {
		clear(t.m)
	}
	t.m[s] = s
	return s
}

// Len returns how many strings the table holds.
func (t *Table) Len() int { return len(t.m) }
