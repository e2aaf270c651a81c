package hubble

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// result is one decoded line.
type result struct {
	rec       record.Record
	ok        bool
	skip      string
	lost      uint64
	err       error
	line      int
	last      bool
	unknownOK bool // decoded only after discarding unknown fields
}

// isResponseShape reports whether a line has the GetFlowsResponse /
// ExportEvent shape (a wrapper object) rather than a bare legacy Flow: one
// of the event keys must be a key of the top-level object. (A bare flow may
// well contain the string "flow" somewhere, e.g. as an HTTP header value.)
func isResponseShape(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j, escaped := i+1, false
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(b) {
				return false // unterminated string: not JSON anyway
			}
			if depth == 1 {
				k := j + 1
				for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
					k++
				}
				if k < len(b) && b[k] == ':' && isResponseKey(b[i:j+1], escaped) {
					return true
				}
			}
			i = j
		}
	}
	return false
}

func isResponseKey(quoted []byte, escaped bool) bool {
	key := quoted[1 : len(quoted)-1]
	if escaped {
		var s string
		if err := json.Unmarshal(quoted, &s); err != nil {
			return false
		}
		key = []byte(s)
	}
	// the event keys of a GetFlowsResponse / ExportEvent line, in both the
	// proto and the JSON (camelCase) spelling protojson accepts
	switch string(key) {
	case "flow", "lost_events", "node_status", "agent_event", "debug_event",
		"lostEvents", "nodeStatus", "agentEvent", "debugEvent":
		return true
	}
	return false
}

// DecodeLine decodes one JSON value of Hubble input (a line, a document, an
// array element) in either shape into rec.
// It returns ok=false with a skip reason for non-flow events, and an error
// for a malformed line. unknownFields is set when the line only decoded
// after discarding fields newer than this build knows.
func DecodeLine(b []byte, rec *record.Record) (skip string, lost uint64, ok, unknownFields bool, err error) {
	if len(b) == 0 || b[0] != '{' {
		if len(b) > 0 && b[0] == '[' {
			return "", 0, false, false, errors.New("a JSON array inside a JSON array: expected a Hubble flow or GetFlows response object")
		}
		return "", 0, false, false, errors.New("not a JSON object")
	}
	if isResponseShape(b) {
		var resp observerpb.GetFlowsResponse
		if err = (protojson.UnmarshalOptions{}).Unmarshal(b, &resp); err != nil {
			if err2 := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &resp); err2 != nil {
				return "", 0, false, false, err
			}
			unknownFields = true
		}
		if err = checkL4(resp.GetFlow()); err != nil {
			return "", 0, false, false, err
		}
		skip, lost, ok = ConvertResponse(&resp, rec)
		return skip, lost, ok, unknownFields, nil
	}
	var f flowpb.Flow
	if err = (protojson.UnmarshalOptions{}).Unmarshal(b, &f); err != nil {
		if err2 := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &f); err2 != nil {
			return "", 0, false, false, err
		}
		unknownFields = true
	}
	if f.GetTime() == nil && f.GetIP() == nil && f.GetSource() == nil && f.GetDestination() == nil && f.GetVerdict() == flowpb.Verdict_VERDICT_UNKNOWN {
		return "", 0, false, unknownFields, errors.New("JSON object is neither a Hubble flow nor a GetFlows response")
	}
	if err = checkL4(&f); err != nil {
		return "", 0, false, false, err
	}
	skip, ok = ConvertFlow(&f, rec)
	return skip, 0, ok, unknownFields, nil
}

// FileSource reads one Hubble JSON file (already opened and detected).
type FileSource struct {
	file *input.File
	opts collectors.Options
	// protojsonOnly turns the fast decoder off (tests, benchmarks)
	protojsonOnly bool
}

// NewFileSource reads Hubble JSON lines from f.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	return &FileSource{file: f, opts: opts}
}

// Name returns the file name.
func (s *FileSource) Name() string { return s.file.Name }

// Run decodes the file on all cores and emits its records in file order.
func (s *FileSource) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	defer s.file.Close()
	st.Files++
	name := s.file.Name
	warnedUnknown := false
	// every JSON framing: one flow per line (the fast path), pretty-printed,
	// concatenated, arrays (input.NewDocuments)
	lines := input.NewDocuments(s.file)
	var sc *schema
	if !s.protojsonOnly {
		sc = newSchema()
	}
	// one decoder per worker: the fast path (fastdecode.go) and, for every
	// value it does not take, DecodeLine
	newDecode := func() func(input.Line, []result) []result {
		var fd *fastDecoder
		if sc != nil {
			fd = newFastDecoder(sc)
		}
		one := func(l input.Line, out []result) []result {
			out = append(out, result{line: l.No, last: l.Last})
			r := &out[len(out)-1]
			handled := false
			switch {
			case l.Err != nil:
				r.err, handled = l.Err, true
			case l.TooLong:
				r.err = fmt.Errorf("line longer than %d bytes", input.MaxLineBytes)
				handled = true
			case fd != nil:
				r.skip, r.ok, handled = fd.decode(l.Data, &r.rec)
			}
			if !handled {
				r.skip, r.lost, r.ok, r.unknownOK, r.err = DecodeLine(l.Data, &r.rec)
			}
			if r.ok {
				r.rec.Source = name
			}
			return out
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
				if err := st.LineFailed(s.opts, name, r.line, r.last, "Hubble JSON", r.err); err != nil {
					// the lines before it are learned
					if ferr := em.Flush(); ferr != nil {
						return ferr
					}
					return err
				}
			case !r.ok:
				st.Skip(r.skip, 1)
				st.LostEvents += r.lost
			default:
				if r.unknownOK && !warnedUnknown && s.opts.Logger != nil {
					warnedUnknown = true
					s.opts.Logger.Warn("flows carry fields this build does not know; they were ignored", "file", name, "line", r.line)
				}
				if ok, err := adm.Admit(st, r.line, &r.rec); !ok {
					if err != nil {
						if ferr := em.Flush(); ferr != nil {
							return ferr
						}
						return err
					}
					continue
				}
				st.FlowEvents++
				if err := em.Add(&r.rec); err != nil {
					return err
				}
			}
		}
		return em.Flush()
	}
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

// FlowStream is the receiving side of observer.GetFlows: satisfied by a
// live gRPC stream (observerpb.Observer_GetFlowsClient) and by any reader
// that replays recorded flows behind the same interface.
type FlowStream interface {
	Recv() (*observerpb.GetFlowsResponse, error)
}

// StreamSource emits the flows of a GetFlows stream.
type StreamSource struct {
	name   string
	stream FlowStream
}

// NewStreamSource wraps a GetFlows stream.
func NewStreamSource(name string, s FlowStream) *StreamSource {
	return &StreamSource{name: name, stream: s}
}

// Name returns the stream's name (usually the relay address).
func (s *StreamSource) Name() string { return s.name }

// Run receives until the stream ends (io.EOF) or fails.
func (s *StreamSource) Run(ctx context.Context, st *collectors.Stats, emit collectors.Emit) error {
	var rec record.Record
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: receive flows: %w", s.name, err)
		}
		skip, lost, ok := ConvertResponse(resp, &rec)
		if !ok {
			st.Skip(skip, 1)
			st.LostEvents += lost
			continue
		}
		rec.Source = s.name
		st.FlowEvents++
		if err := emit(&rec); err != nil {
			return err
		}
	}
}
