package calico

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// DecodeDocument decodes one JSON value of a flow-log input into flow
// logs: a flow-log document (Felix line, Elasticsearch `_source`), an
// Elasticsearch hit ({"_source":{…}}), a search or scroll response
// ({"hits":{"hits":[…]}}) or a JSON array of any of these. It returns an
// error for a value that is none of them or whose fields have the wrong
// types; empty is true for a search response without hits.
func DecodeDocument(b []byte) (logs []FlowLog, empty bool, err error) {
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
			l, _, err := DecodeDocument(it)
			if err != nil {
				return nil, false, fmt.Errorf("array element %d: %w", i, err)
			}
			logs = append(logs, l...)
		}
		return logs, len(items) == 0, nil
	case '{':
	default:
		return nil, false, errors.New("not a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, false, err
	}
	if src, ok := top["_source"]; ok {
		l, _, err := DecodeDocument(src)
		if err != nil {
			return nil, false, fmt.Errorf("_source: %w", err)
		}
		return l, false, nil
	}
	if hits, ok := top["hits"]; ok {
		var h struct {
			Hits []json.RawMessage `json:"hits"`
		}
		if err := json.Unmarshal(hits, &h); err != nil {
			return nil, false, fmt.Errorf("hits: %w", err)
		}
		for i, it := range h.Hits {
			l, _, err := DecodeDocument(it)
			if err != nil {
				return nil, false, fmt.Errorf("hits.hits[%d]: %w", i, err)
			}
			logs = append(logs, l...)
		}
		return logs, len(h.Hits) == 0, nil
	}
	if _, ok := top["reporter"]; !ok {
		if _, ok := top["source_type"]; !ok {
			return nil, false, errors.New("JSON object is not a Calico flow log (no reporter, source_type, _source or hits)")
		}
	}
	var f FlowLog
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, false, err
	}
	if err := f.Validate(); err != nil {
		return nil, false, err
	}
	return []FlowLog{f}, false, nil
}

// result is what one input value decoded to.
type result struct {
	recs  []record.Record
	skips []string
	empty bool
	err   error
	line  int
	last  bool
}

// FileSource reads one flow-log file (already opened and detected).
type FileSource struct {
	file *input.File
	opts collectors.Options
}

// NewFileSource reads Calico flow logs from f.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	return &FileSource{file: f, opts: opts}
}

// Name returns the file name.
func (s *FileSource) Name() string { return s.file.Name }

// Run decodes the file (on all cores when it has one document per line)
// and emits its records in file order.
func (s *FileSource) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	defer s.file.Close()
	st.Files++
	name := s.file.Name
	decode := func(l input.Line, out []result) []result {
		r := result{line: l.No, last: l.Last}
		if l.Err != nil {
			r.err = l.Err
			return append(out, r)
		}
		if l.TooLong {
			r.err = fmt.Errorf("line longer than %d bytes", input.MaxLineBytes)
			return append(out, r)
		}
		logs, empty, err := DecodeDocument(l.Data)
		r.err, r.empty = err, empty
		for i := range logs {
			var rec record.Record
			if skip, ok := Convert(&logs[i], &rec); !ok {
				r.skips = append(r.skips, skip)
				continue
			}
			rec.Source = name
			r.recs = append(r.recs, rec)
		}
		return append(out, r)
	}
	// the workers share one table of endpoints (eptable.go)
	eps := newEpTable()
	newDecode := func() func(input.Line, []result) []result {
		fd := newSharingDecoder(eps)
		one := func(l input.Line, out []result) []result {
			if !l.TooLong && l.Err == nil {
				// the fast path (fastdecode.go); the result's record slice is
				// reused from the batch's previous use
				var recs []record.Record
				if len(out) < cap(out) {
					recs = out[:len(out)+1][len(out)].recs[:0]
				}
				recs = append(recs, record.Record{})
				skip, ok, handled, err := fd.decode(l.Data, &recs[0])
				if handled {
					r := result{line: l.No, last: l.Last, err: err}
					switch {
					case err != nil:
					case ok:
						recs[0].Source = name
						r.recs = recs
					default:
						r.skips = append(r.skips, skip)
					}
					return append(out, r)
				}
			}
			return decode(l, out)
		}
		return func(l input.Line, out []result) []result {
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
	}
	// records are emitted in groups, the learner's memory for a group
	// asked for first (collectors.Emitter)
	em := collectors.NewEmitter(s.opts, emit)
	// the identity rules, before a record is emitted
	adm := collectors.NewAdmitter(s.opts, name)
	sink := func(batch []result) error {
		for i := range batch {
			r := &batch[i]
			st.Lines++
			switch {
			case r.err != nil:
				if err := st.LineFailed(s.opts, name, r.line, r.last, "Calico flow log", r.err); err != nil {
					// the lines before it are learned
					if ferr := em.Flush(); ferr != nil {
						return ferr
					}
					return err
				}
				continue
			case r.empty:
				st.Skip(SkipEmptyResponse, 1)
			}
			for _, sk := range r.skips {
				st.Skip(sk, 1)
			}
			for j := range r.recs {
				if ok, err := adm.Admit(st, r.line, &r.recs[j]); !ok {
					if err != nil {
						if ferr := em.Flush(); ferr != nil {
							return ferr
						}
						return err
					}
					continue
				}
				st.FlowEvents++
				if err := em.Add(&r.recs[j]); err != nil {
					return err
				}
			}
		}
		return em.Flush()
	}
	// every JSON framing: one document per line (the fast path),
	// pretty-printed, concatenated, arrays (input.NewDocuments)
	lines := input.NewDocuments(s.file)
	if err := input.DecodeParallelPer(ctx, lines, s.opts.Workers, newDecode, sink); err != nil {
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
