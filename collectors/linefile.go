package collectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// Value is what one JSON value of a flow file (a line, a document, an
// array element: input.NewDocuments) decoded to.
type Value struct {
	Line int
	Last bool // the file's last line: unterminated, it is a truncated tail
	// Err makes the value malformed (Stats.LineFailed).
	Err error
	// Recs are the value's records, in order. A decoder appends to Recs,
	// which holds the memory of an earlier value, emptied.
	Recs []record.Record
	// Skips names why each item of the value that is not a record was
	// skipped (Stats.Skip).
	Skips []string
	// Lost counts events the CNI reported lost.
	Lost uint64
	// UnknownFields is set when the value only decoded after discarding
	// fields this build does not know (warned once per file).
	UnknownFields bool
}

// DecodeValue decodes one JSON value's bytes into v.
type DecodeValue func(data []byte, v *Value)

// LineFile is a flow file read by a DecodeValue: the common part of the
// file sources. Its values are decoded on all cores (a line holding
// several values, {…}{…}, each on its own when it fails whole) and
// emitted in file order, through the identity rules (Admitter);
// malformed values are counted and warned, or end the run when
// Options.Strict.
type LineFile struct {
	File *input.File
	Opts Options
	// What names the format in messages ("Hubble JSON").
	What string
	// NewDecode returns one worker's decoder: worker state (buffers,
	// caches) needs no locking.
	NewDecode func() DecodeValue
}

// Name returns the file name.
func (s *LineFile) Name() string { return s.File.Name }

// Run decodes the file and emits its records in file order; it closes the
// file.
func (s *LineFile) Run(ctx context.Context, st *Stats, emit Emit) error {
	defer s.File.Close()
	st.Files++
	name := s.File.Name
	newDecode := func() func(input.Line, []Value) []Value {
		decode := s.NewDecode()
		one := func(l input.Line, out []Value) []Value {
			// the value's slices are reused from the batch's previous use
			var recs []record.Record
			var skips []string
			if len(out) < cap(out) {
				old := &out[:len(out)+1][len(out)]
				recs, skips = old.Recs[:0], old.Skips[:0]
			}
			out = append(out, Value{Line: l.No, Last: l.Last, Recs: recs, Skips: skips})
			v := &out[len(out)-1]
			switch {
			case l.Err != nil:
				v.Err = l.Err
			case l.TooLong:
				v.Err = fmt.Errorf("line longer than %d bytes", input.MaxLineBytes)
			default:
				decode(l.Data, v)
				for i := range v.Recs {
					v.Recs[i].Source = name
				}
			}
			return out
		}
		return func(l input.Line, out []Value) []Value {
			n := len(out)
			out = one(l, out)
			if out[n].Err != nil {
				// several values on one line ({…}{…}): each on its own
				if parts := input.Split(l); len(parts) > 1 {
					out = out[:n]
					for _, p := range parts {
						out = one(p, out)
					}
				}
			}
			return out
		}
	}
	// the identity rules, before a record is emitted
	adm := NewAdmitter(s.Opts, name)
	warnedUnknown := false
	sink := func(batch []Value) error {
		for i := range batch {
			v := &batch[i]
			st.Lines++
			if v.Err != nil {
				if err := st.LineFailed(s.Opts, name, v.Line, v.Last, s.What, v.Err); err != nil {
					return err // the lines before it were learned
				}
				continue
			}
			for _, sk := range v.Skips {
				st.Skip(sk, 1)
			}
			st.LostEvents += v.Lost
			if v.UnknownFields && !warnedUnknown && s.Opts.Logger != nil {
				warnedUnknown = true
				s.Opts.Logger.Warn("flows carry fields this build does not know; they were ignored", "file", name, "line", v.Line)
			}
			for j := range v.Recs {
				if ok, err := adm.Admit(st, v.Line, &v.Recs[j]); !ok {
					if err != nil {
						return err
					}
					continue
				}
				st.FlowEvents++
				if err := emit(&v.Recs[j]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// every JSON framing: one document per line (the decoders' fast
	// paths), pretty-printed, concatenated, arrays (input.NewDocuments)
	lines := input.NewDocuments(s.File)
	if err := input.DecodeParallelPer(ctx, lines, s.Opts.Workers, newDecode, sink); err != nil {
		var lerr *LineError
		if errors.As(err, &lerr) || errors.Is(err, context.Canceled) {
			return err
		}
		if rerr := lines.Err(); rerr != nil && errors.Is(err, rerr) {
			return err // a read error already names the file and the line
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// JSONValue splits one JSON value of a saved input the way the formats
// nest theirs: an array's elements go one by one to elem (an error names
// the element's index) and top is nil; an object's members are returned
// in top for the caller to tell its kind. n is the array's length. An
// empty value, or a value neither array nor object, is an error.
func JSONValue(b []byte, elem func(json.RawMessage) error) (top map[string]json.RawMessage, n int, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, 0, errors.New("empty JSON value")
	}
	switch b[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, 0, err
		}
		for i, it := range items {
			if err := elem(it); err != nil {
				return nil, 0, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return nil, len(items), nil
	case '{':
		err := json.Unmarshal(b, &top)
		return top, 0, err
	}
	return nil, 0, errors.New("not a JSON object")
}
