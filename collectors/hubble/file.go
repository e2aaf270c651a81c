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
type FileSource = collectors.LineFile

// NewFileSource reads Hubble JSON lines from f, on all cores, in file
// order.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	return &FileSource{File: f, Opts: opts, What: "Hubble JSON", NewDecode: newDecoder(newSchema())}
}

// newDecoder returns the decoders of a file's workers: the fast path
// (fastdecode.go, none when sc is nil) and, for every value it does not
// take, DecodeLine.
func newDecoder(sc *schema) func() collectors.DecodeValue {
	return func() collectors.DecodeValue {
		var fd *fastDecoder
		if sc != nil {
			fd = newFastDecoder(sc)
		}
		return func(b []byte, v *collectors.Value) {
			v.Recs = append(v.Recs, record.Record{})
			rec := &v.Recs[len(v.Recs)-1]
			var (
				skip             string
				ok, handled, unk bool
			)
			if fd != nil {
				skip, ok, handled = fd.decode(b, rec)
			}
			if !handled {
				skip, v.Lost, ok, unk, v.Err = DecodeLine(b, rec)
			}
			if ok {
				v.UnknownFields = unk
				return
			}
			v.Recs = v.Recs[:len(v.Recs)-1]
			if v.Err == nil {
				v.Skips = append(v.Skips, skip)
			}
		}
	}
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
