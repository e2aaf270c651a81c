package goldmane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// DecodeJSON decodes one JSON value of a saved Goldmane input into flows:
// a Flow, a FlowResult ({"id","flow"}), a FlowListResult ({"meta","flows"})
// or a JSON array of any of these, in protojson (camelCase, int64 as
// strings, enum names) or the emitter's encoding/json form (proto field
// names, numbers). unknownFields is set when the value only decoded after
// discarding fields newer than this build knows.
func DecodeJSON(b []byte) (flows []*goldmanepb.Flow, unknownFields bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false, errors.New("empty JSON value")
	}
	switch b[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, false, err
		}
		for i, it := range items {
			fs, unk, err := DecodeJSON(it)
			if err != nil {
				return nil, false, fmt.Errorf("array element %d: %w", i, err)
			}
			flows, unknownFields = append(flows, fs...), unknownFields || unk
		}
		return flows, unknownFields, nil
	case '{':
	default:
		return nil, false, errors.New("not a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, false, err
	}
	_, isList := top["flows"]
	_, isResult := top["flow"]
	_, isFlow := top["Key"]
	switch {
	case isList:
		var m goldmanepb.FlowListResult
		unk, err := unmarshal(b, &m)
		if err != nil {
			return nil, false, err
		}
		for _, r := range m.GetFlows() {
			if r.GetFlow() != nil {
				flows = append(flows, r.GetFlow())
			}
		}
		return flows, unk, nil
	case isResult:
		var m goldmanepb.FlowResult
		unk, err := unmarshal(b, &m)
		if err != nil {
			return nil, false, err
		}
		if m.GetFlow() == nil {
			return nil, unk, errors.New("FlowResult without a flow")
		}
		return []*goldmanepb.Flow{m.GetFlow()}, unk, nil
	case isFlow:
		var m goldmanepb.Flow
		unk, err := unmarshal(b, &m)
		if err != nil {
			return nil, false, err
		}
		return []*goldmanepb.Flow{&m}, unk, nil
	}
	return nil, false, errors.New("JSON object is not a Goldmane Flow, FlowResult or FlowListResult (no Key, flow or flows)")
}

func unmarshal(b []byte, m proto.Message) (unknownFields bool, err error) {
	if err = (protojson.UnmarshalOptions{}).Unmarshal(b, m); err == nil {
		return false, nil
	}
	if err2 := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err2 != nil {
		return false, err
	}
	return true, nil
}

type result struct {
	recs      []record.Record
	skips     []string
	err       error
	line      int
	last      bool
	unknownOK bool
}

// FileSource reads one saved Goldmane JSON file (already opened and
// detected).
type FileSource struct {
	file *input.File
	opts collectors.Options
}

// NewFileSource reads Goldmane flows from f.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	return &FileSource{file: f, opts: opts}
}

// Name returns the file name.
func (s *FileSource) Name() string { return s.file.Name }

// Run decodes the file and emits its records in file order.
func (s *FileSource) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	defer s.file.Close()
	st.Files++
	name := s.file.Name
	warnedUnknown := false
	one := func(l input.Line, out []result) []result {
		r := result{line: l.No, last: l.Last}
		if l.Err != nil {
			r.err = l.Err
			return append(out, r)
		}
		if l.TooLong {
			r.err = fmt.Errorf("line longer than %d bytes", input.MaxLineBytes)
			return append(out, r)
		}
		flows, unk, err := DecodeJSON(l.Data)
		r.err, r.unknownOK = err, unk
		for _, f := range flows {
			var rec record.Record
			if skip, ok := ConvertFlow(f, &rec); !ok {
				r.skips = append(r.skips, skip)
				continue
			}
			rec.Source = name
			r.recs = append(r.recs, rec)
		}
		return append(out, r)
	}
	decode := func(l input.Line, out []result) []result {
		n := len(out)
		out = one(l, out)
		if out[n].err != nil {
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
	// the identity rules, before a record is emitted
	adm := collectors.NewAdmitter(s.opts, name)
	sink := func(batch []result) error {
		for i := range batch {
			r := &batch[i]
			st.Lines++
			switch {
			case r.err != nil:
				if err := st.LineFailed(s.opts, name, r.line, r.last, "Goldmane JSON", r.err); err != nil {
					return err
				}
				continue
			}
			if r.unknownOK && !warnedUnknown && s.opts.Logger != nil {
				warnedUnknown = true
				s.opts.Logger.Warn("flows carry fields this build does not know; they were ignored", "file", name, "line", r.line)
			}
			for _, sk := range r.skips {
				st.Skip(sk, 1)
			}
			for j := range r.recs {
				if ok, err := adm.Admit(st, r.line, &r.recs[j]); !ok {
					if err != nil {
						return err
					}
					continue
				}
				st.FlowEvents++
				if err := emit(&r.recs[j]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// every JSON framing: one document per line, pretty-printed,
	// concatenated, arrays (input.NewDocuments)
	lines := input.NewDocuments(s.file)
	if err := input.DecodeParallel(ctx, lines, s.opts.Workers, decode, sink); err != nil {
		var lerr *collectors.LineError
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
