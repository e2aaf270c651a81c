package relay

import (
	"fmt"
	"slices"
	"strings"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// A GetFlows request's field_mask limits the flows sent to the fields it
// names, as a Hubble server does. The relay applies it to the encoded
// events themselves: a flow keeps the fields the mask names (a nested
// path keeps that part of a sub-message the flow has); the response's
// node_name and time stay when the mask names the flow's node_name and
// time (Hubble sends the masked flow's). Hubble also sends, for a nested
// path, its parent messages empty in a flow that has none; the relay does
// not (the conversion of a flow reads top-level fields: hubble.
// ConvertedFields).

// GetFlowsResponse and Flow field numbers (observer.proto, flow.proto).
const (
	respFlow     protowire.Number = 1
	respNodeName protowire.Number = 1000
	respTime     protowire.Number = 1001
	flowTime     protowire.Number = 1
	flowNodeName protowire.Number = 11
)

// fieldMask is the fields of a message kept: each field number's own
// mask, nil for the whole field.
type fieldMask struct {
	key    string // the normalized paths (the root's only)
	fields map[protowire.Number]*fieldMask
}

// newFieldMask compiles a request's field mask; nil when it keeps
// everything (no mask, or no path).
func newFieldMask(fm *fieldmaskpb.FieldMask) (*fieldMask, error) {
	if len(fm.GetPaths()) == 0 {
		return nil, nil
	}
	root := &fieldMask{fields: map[protowire.Number]*fieldMask{}}
	flow := (&flowpb.Flow{}).ProtoReflect().Descriptor()
	for _, path := range fm.GetPaths() {
		if !(&fieldmaskpb.FieldMask{Paths: []string{path}}).IsValid(&flowpb.Flow{}) {
			return nil, status.Errorf(codes.InvalidArgument, "flowfence replay relay: field_mask path %q is not a field of flow.Flow", path)
		}
		m, md := root, flow
		names := strings.Split(path, ".")
		for i, name := range names {
			num := md.Fields().ByName(protoreflect.Name(name)).Number()
			sub, seen := m.fields[num]
			if seen && sub == nil {
				break // a shorter path keeps the whole field already
			}
			if i == len(names)-1 {
				m.fields[num] = nil
				break
			}
			if !seen {
				sub = &fieldMask{fields: map[protowire.Number]*fieldMask{}}
				m.fields[num] = sub
			}
			m, md = sub, md.Fields().ByName(protoreflect.Name(name)).Message()
		}
	}
	norm := &fieldmaskpb.FieldMask{Paths: slices.Clone(fm.GetPaths())}
	norm.Normalize()
	root.key = strings.Join(norm.GetPaths(), ",")
	return root, nil
}

// response appends to dst the GetFlowsResponse resp with its flow masked;
// other events are appended as they are. Events are the relay's own
// encoding (proto.Marshal), so malformed bytes are a bug, reported.
func (m *fieldMask) response(dst, resp []byte) ([]byte, error) {
	if !isFlow(resp) {
		return append(dst, resp...), nil
	}
	_, keepNode := m.fields[flowNodeName]
	_, keepTime := m.fields[flowTime]
	for b := resp; len(b) > 0; {
		f, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[len(f.raw):]
		switch {
		case f.num == respFlow:
			if dst, err = m.appendMessage(dst, f.num, f.value); err != nil {
				return nil, err
			}
		case f.num == respNodeName && !keepNode, f.num == respTime && !keepTime:
		default:
			dst = append(dst, f.raw...)
		}
	}
	return dst, nil
}

// field is one field of an encoded message: its number and type, its
// bytes (tag included) and, when length-delimited, its value.
type field struct {
	num        protowire.Number
	typ        protowire.Type
	raw, value []byte
}

// nextField reads the first field of msg.
func nextField(msg []byte) (field, error) {
	num, typ, n := protowire.ConsumeTag(msg)
	if n < 0 {
		return field{}, fmt.Errorf("encoded event: %w", protowire.ParseError(n))
	}
	vn := protowire.ConsumeFieldValue(num, typ, msg[n:])
	if vn < 0 {
		return field{}, fmt.Errorf("encoded event, field %d: %w", num, protowire.ParseError(vn))
	}
	f := field{num: num, typ: typ, raw: msg[:n+vn]}
	if typ == protowire.BytesType {
		f.value, _ = protowire.ConsumeBytes(msg[n:])
	}
	return f, nil
}

// isFlow says whether the encoded GetFlowsResponse resp is a flow.
func isFlow(resp []byte) bool {
	for b := resp; len(b) > 0; {
		f, err := nextField(b)
		if err != nil {
			return false
		}
		if f.num == respFlow {
			return true
		}
		b = b[len(f.raw):]
	}
	return false
}

// appendMessage appends field num, the message msg with the fields m
// keeps. Its length goes before them: room for msg's length is left,
// and what is kept moved up to its own length's size (never larger).
func (m *fieldMask) appendMessage(dst []byte, num protowire.Number, msg []byte) ([]byte, error) {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	at, room := len(dst), protowire.SizeVarint(uint64(len(msg)))
	for range room {
		dst = append(dst, 0)
	}
	start := len(dst)
	for b := msg; len(b) > 0; {
		f, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[len(f.raw):]
		sub, kept := m.fields[f.num]
		switch {
		case !kept:
		case sub == nil:
			dst = append(dst, f.raw...)
		case f.typ == protowire.BytesType:
			if dst, err = sub.appendMessage(dst, f.num, f.value); err != nil {
				return nil, err
			}
		}
	}
	size := len(dst) - start
	n := len(protowire.AppendVarint(dst[at:at], uint64(size)))
	if n < room {
		copy(dst[at+n:], dst[start:])
		dst = dst[:len(dst)-(room-n)]
	}
	return dst, nil
}

// maskedChunk is the size of the blocks masked events are kept in, one
// after the other.
const maskedChunk = 1 << 20

// keeps says whether the server keeps the events masked with mask key:
// it does for the first mask a client asks for, and only for that one, so
// that what it keeps is at most one masked copy of the recording whatever
// the clients ask.
func (s *Server) keeps(key string) bool {
	s.maskedMu.Lock()
	defer s.maskedMu.Unlock()
	if s.maskedFor == "" {
		s.maskedFor = key
	}
	return s.maskedFor == key
}

// masked returns event q, encoded as b, as the stream's mask keeps it.
// With the mask the server keeps events for, a recorded event is masked
// once and kept: as the whole events are, it is encoded once and then
// sent as it is, no frame becomes garbage once written, and the events a
// replay sends in turn lie in turn in memory. Other masks, and the events
// of later loops (re-encoded per send), are masked per send.
func (ss *sender) masked(q int, b []byte) ([]byte, error) {
	s, m := ss.s, ss.mask
	if q >= s.n() || !ss.keep {
		return m.response(make([]byte, 0, len(b)), b)
	}
	if kept := s.masked[q].Load(); kept != nil {
		return *kept, nil
	}
	var err error
	if ss.scratch, err = m.response(ss.scratch[:0], b); err != nil {
		return nil, err
	}
	s.maskedMu.Lock()
	if cap(s.maskedChunk)-len(s.maskedChunk) < len(ss.scratch) {
		s.maskedChunk = make([]byte, 0, max(maskedChunk, len(ss.scratch)))
	}
	at := len(s.maskedChunk)
	s.maskedChunk = append(s.maskedChunk, ss.scratch...)
	data := s.maskedChunk[at:len(s.maskedChunk):len(s.maskedChunk)]
	s.maskedMu.Unlock()
	s.masked[q].Store(&data)
	return data, nil
}
