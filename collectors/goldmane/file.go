package goldmane

import (
	"encoding/json"
	"errors"

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
	top, _, err := collectors.JSONValue(b, func(it json.RawMessage) error {
		fs, unk, err := DecodeJSON(it)
		flows, unknownFields = append(flows, fs...), unknownFields || unk
		return err
	})
	switch {
	case err != nil:
		return nil, false, err
	case top == nil:
		return flows, unknownFields, nil
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

// FileSource reads one saved Goldmane JSON file (already opened and
// detected).
type FileSource = collectors.LineFile

// NewFileSource reads Goldmane flows from f, in file order.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	decode := func(b []byte, v *collectors.Value) {
		flows, unk, err := DecodeJSON(b)
		v.Err, v.UnknownFields = err, unk
		for _, f := range flows {
			v.Recs = append(v.Recs, record.Record{})
			if skip, ok := ConvertFlow(f, &v.Recs[len(v.Recs)-1]); !ok {
				v.Recs = v.Recs[:len(v.Recs)-1]
				v.Skips = append(v.Skips, skip)
			}
		}
	}
	return &FileSource{File: f, Opts: opts, What: "Goldmane JSON",
		NewDecode: func() collectors.DecodeValue { return decode }}
}
