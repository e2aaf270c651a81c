package learner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/flowfence/flowfence/internal/escape"
)

// Cursors are the resume cursors a graph carries, per live source (its
// name: the --from URL): how far each source's flows were counted into the
// graph, so that a resumed `learn` asks from there and counts nothing
// twice. A cursor is opaque to the learner: JSON the source's package
// defines (its type, its merge rule, its replay), an object carrying its
// own "version". Nil for graphs learned from files.
//
// A source's cursors are a set: merging two graphs keeps every distinct
// cursor of each source (union: associative, commutative and idempotent,
// like the rest of the graph), and the source folds them into one with its
// own merge rule (pipeline does before it writes a graph, and when the
// source resumes). A set of one is written as the cursor itself, several
// as a JSON array.
type Cursors map[string]CursorSet

// CursorSet is the distinct cursors of one source, compact JSON sorted
// bytewise.
type CursorSet []json.RawMessage

// Add returns s with c (compacted; a duplicate adds nothing).
func (s CursorSet) Add(c json.RawMessage) CursorSet {
	var buf bytes.Buffer
	if err := json.Compact(&buf, c); err != nil {
		buf.Reset()
		buf.Write(c)
	}
	c = buf.Bytes()
	i, found := slices.BinarySearchFunc(s, c, func(a, b json.RawMessage) int { return bytes.Compare(a, b) })
	if found {
		return s
	}
	return slices.Insert(slices.Clone(s), i, c)
}

// MarshalJSON writes one cursor as itself, several as an array.
func (s CursorSet) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return s[0], nil
	}
	return json.Marshal([]json.RawMessage(s))
}

// UnmarshalJSON reads one cursor (an object) or several (an array of
// objects).
func (s *CursorSet) UnmarshalJSON(b []byte) error {
	var list []json.RawMessage
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
	} else {
		list = []json.RawMessage{slices.Clone(b)}
	}
	var out CursorSet
	for _, c := range list {
		out = out.Add(c)
	}
	*s = out
	return nil
}

// Add records cursor c of source (a graph may hold none yet: use
// g.Cursors = g.Cursors.Add(...)).
func (cs Cursors) Add(source string, c json.RawMessage) Cursors {
	if cs == nil {
		cs = Cursors{}
	}
	cs[source] = cs[source].Add(c)
	return cs
}

// merge returns cs with every cursor of o.
func (cs Cursors) merge(o Cursors) Cursors {
	for src, set := range o {
		for _, c := range set {
			cs = cs.Add(src, c)
		}
	}
	return cs
}

// errCursor says what a cursor must be.
var errCursor = errors.New(`not a cursor: want a JSON object with a "version" number of 1 or more`)

// readCursors checks the cursors read from a graph file: each an object
// with a positive version (what the version means is the source's to say
// when it resumes).
func readCursors(name string, g *Graph, cs Cursors) error {
	for src, set := range cs {
		if len(set) == 0 {
			return fmt.Errorf("%s: cursors of %s: an empty list", name, escape.Snippet(src, 120))
		}
		for _, c := range set {
			var v struct {
				Version *int `json:"version"`
			}
			if err := json.Unmarshal(c, &v); err != nil || v.Version == nil || *v.Version < 1 {
				return fmt.Errorf("%s: cursor of %s: %w", name, escape.Snippet(src, 120), errCursor)
			}
		}
	}
	if len(cs) > 0 {
		g.Cursors = cs
	}
	return nil
}
