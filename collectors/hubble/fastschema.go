package hubble

import (
	"encoding/binary"

	"google.golang.org/protobuf/reflect/protoreflect"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
)

// The fast decoder's schema: lookup tables built from the generated
// descriptors of observer.GetFlowsResponse and flow.Flow, so that every
// field the fast path skips is still validated exactly as protojson would
// (its type, its enum name, no duplicate, one oneof member), and the fields
// ConvertFlow reads are marked "hot" on the path where they are read.

// fkind is how a field's JSON value is validated.
type fkind uint8

const (
	fkUnsupported fkind = iota // the fast path gives up on the line (bytes, floats, maps, Any, …)
	fkString
	fkBool
	fkInt32
	fkUint32
	fkInt64
	fkUint64
	fkEnum
	fkMessage
	fkTimestamp // google.protobuf.Timestamp: an RFC 3339 string
	fkBoolValue // google.protobuf.BoolValue: a bare bool
)

// hot names a field whose value the fast decoder extracts.
type hot uint8

const (
	hNone hot = iota
	// observer.GetFlowsResponse
	hRespFlow
	hRespNode
	hRespTime
	// flow.Flow
	hTime
	hUUID
	hVerdict
	hDropReason
	hDropReasonDesc
	hIP
	hL4
	hSource
	hDestination
	hType
	hNodeName
	hSourceNames
	hDestNames
	hNodeLabels // validated only, memoized
	hL7
	hReply
	hEventType
	hIsReply
	// flow.IP
	hIPSrc
	hIPDst
	// flow.Layer4
	hTCP
	hUDP
	hSCTP
	hICMPv4
	hICMPv6
	// flow.TCP / UDP / SCTP
	hSport
	hDport
	hFlags
	// flow.TCPFlags
	hSYN
	hACK
	// flow.ICMPv4 / ICMPv6
	hICMPType
	// flow.Endpoint
	hEpIdentity
	hEpCluster
	hEpNamespace
	hEpLabels
	hEpPod
	hEpWorkloads
	// flow.Workload
	hWlName
	hWlKind
	// flow.Layer7
	hL7Type
	hDNS
	// flow.DNS
	hDNSQuery
	hDNSIPs
	// flow.CiliumEventType
	hETType
)

// field is one field of a message table.
type field struct {
	name  string // proto name (what Hubble writes)
	json  string // lowerCamel JSON name (protojson accepts both)
	idx   uint8  // bit in the object's seen-set (protojson rejects duplicates)
	oneof int8   // index of its oneof in the message, -1 when none
	kind  fkind
	list  bool
	hot   hot
	enum  map[string]enumValue // enum value names → numbers
	slot  int                  // enum fields: index of the decoder's last-name cache
	msg   *table
}

// keyWord is a field name followed by its closing quote, with its first
// (up to) 8 bytes as a little-endian word and the mask of those bytes.
type keyWord struct {
	word, mask uint64
	s          string
	field      uint8 // index in table.fields
}

func newKeyWord(name string, field int) keyWord {
	k := keyWord{s: name + "\"", field: uint8(field)}
	for i := 0; i < len(k.s) && i < 8; i++ {
		k.word |= uint64(k.s[i]) << (8 * i)
		k.mask |= 0xff << (8 * i)
	}
	return k
}

// table is one message's fields, in declaration order (the order protojson
// and therefore Hubble write them in), plus a map for out-of-order keys.
type table struct {
	fields []*field
	byName map[string]*field
	// names are the fields' proto names, jsonNames the JSON names that
	// differ, both in field order
	names, jsonNames []keyWord
	// base is the table's offset in a decoder's prediction array, which
	// holds len(fields)+1 entries per table
	base int
	// inOrder is false when one field's JSON name is another's proto name:
	// only the map then resolves keys with protojson's precedence.
	inOrder bool
}

// lookup finds the field named key, trying first the fields after the
// previous one (*cur), as Hubble writes them in order.
func (t *table) lookup(key []byte, cur *int) *field {
	if !t.inOrder {
		return t.byName[string(key)]
	}
	for i := *cur; i < len(t.fields); i++ {
		f := t.fields[i]
		if string(key) == f.name || string(key) == f.json {
			*cur = i + 1
			return f
		}
	}
	return t.byName[string(key)]
}

// match reads the key at b[*i] when it is, literally, the name of one of
// the fields after the previous one (*cur): the common case, where the key
// needs no scanning (a field name holds no quote, backslash or non-ASCII
// byte, so a literal match is the whole key). It returns nil, consuming
// nothing, otherwise. The first 8 bytes of a key and its closing quote,
// compared as one word, decide most names at once; pred, the decoder's
// memory of which field followed which in this table last time, is tried
// first (lines of one source repeat their layout).
func (t *table) match(b []byte, i *int, cur *int, pred []int8) *field {
	at := *i
	if !t.inOrder || at+9 > len(b) || b[at] != '"' {
		return nil
	}
	rest := b[at+1:]
	x := binary.LittleEndian.Uint64(rest)
	c := *cur
	p := &pred[t.base+c]
	if j := int(*p); j >= 0 {
		if key := &t.names[j]; x&key.mask == key.word && key.rest(rest) {
			*i = at + 1 + len(key.s)
			*cur = j + 1
			return t.fields[j]
		}
	}
	for _, keys := range [2][]keyWord{t.names[c:], t.jsonNames} {
		for k := range keys {
			key := &keys[k]
			if int(key.field) >= c && x&key.mask == key.word && key.rest(rest) {
				*i = at + 1 + len(key.s)
				*cur = int(key.field) + 1
				*p = int8(key.field)
				return t.fields[key.field]
			}
		}
	}
	return nil
}

// rest reports whether the bytes after the first 8 of rest match the key.
func (k *keyWord) rest(rest []byte) bool {
	return len(k.s) <= 8 || (len(rest) >= len(k.s) && string(rest[8:len(k.s)]) == k.s[8:])
}

// enumValue is one value of an enum field.
type enumValue struct {
	name string
	num  int32
}

// hotSpec marks the hot fields of one message on one path.
type hotSpec map[string]hotField

type hotField struct {
	id    hot
	child hotSpec
}

// schema is the set of tables the fast decoder walks. Immutable once built.
type schema struct {
	resp *table // observer.GetFlowsResponse (the flow shape)
	flow *table // flow.Flow (legacy bare flows)
	// enumFields is how many enum fields the tables hold (see field.slot),
	// preds the size of a decoder's prediction array (see table.base)
	enumFields, preds int
}

func flowHot() hotSpec {
	l4ports := hotSpec{"source_port": {id: hSport}, "destination_port": {id: hDport}}
	tcp := hotSpec{"source_port": {id: hSport}, "destination_port": {id: hDport},
		"flags": {id: hFlags, child: hotSpec{"SYN": {id: hSYN}, "ACK": {id: hACK}}}}
	icmp := hotSpec{"type": {id: hICMPType}}
	ep := hotSpec{
		"identity": {id: hEpIdentity}, "cluster_name": {id: hEpCluster}, "namespace": {id: hEpNamespace},
		"labels": {id: hEpLabels}, "pod_name": {id: hEpPod},
		"workloads": {id: hEpWorkloads, child: hotSpec{"name": {id: hWlName}, "kind": {id: hWlKind}}},
	}
	return hotSpec{
		"time": {id: hTime}, "uuid": {id: hUUID}, "verdict": {id: hVerdict}, "drop_reason": {id: hDropReason},
		"drop_reason_desc": {id: hDropReasonDesc},
		"IP":               {id: hIP, child: hotSpec{"source": {id: hIPSrc}, "destination": {id: hIPDst}}},
		"l4": {id: hL4, child: hotSpec{"TCP": {id: hTCP, child: tcp}, "UDP": {id: hUDP, child: l4ports},
			"SCTP": {id: hSCTP, child: l4ports}, "ICMPv4": {id: hICMPv4, child: icmp}, "ICMPv6": {id: hICMPv6, child: icmp}}},
		"source": {id: hSource, child: ep}, "destination": {id: hDestination, child: ep},
		"Type": {id: hType}, "node_name": {id: hNodeName}, "node_labels": {id: hNodeLabels}, "source_names": {id: hSourceNames},
		"destination_names": {id: hDestNames},
		"l7": {id: hL7, child: hotSpec{"type": {id: hL7Type},
			"dns": {id: hDNS, child: hotSpec{"query": {id: hDNSQuery}, "ips": {id: hDNSIPs}}}}},
		"reply": {id: hReply}, "event_type": {id: hEventType, child: hotSpec{"type": {id: hETType}}},
		"is_reply": {id: hIsReply},
	}
}

// newSchema builds the tables from the generated descriptors.
func newSchema() *schema {
	b := &schemaBuilder{plain: map[protoreflect.FullName]*table{}}
	fh := flowHot()
	respMD := (&observerpb.GetFlowsResponse{}).ProtoReflect().Descriptor()
	flowMD := (&flowpb.Flow{}).ProtoReflect().Descriptor()
	s := &schema{
		resp: b.build(respMD, hotSpec{
			"flow": {id: hRespFlow, child: fh}, "node_name": {id: hRespNode}, "time": {id: hRespTime},
		}),
		flow: b.build(flowMD, fh),
	}
	s.enumFields, s.preds = b.enums, b.preds
	// the policies that denied a drop are read by ConvertFlow only: a line
	// that names them goes to protojson
	flows := []*table{s.flow}
	for _, f := range s.resp.fields {
		if f.hot == hRespFlow && f.msg != nil {
			flows = append(flows, f.msg)
		}
	}
	for _, t := range flows {
		for _, f := range t.fields {
			if f.json == "egressDeniedBy" || f.json == "ingressDeniedBy" {
				f.kind, f.list = fkUnsupported, false
			}
		}
	}
	// the fast path reads flows only: any other event of the response's
	// oneof (node_status, lost_events) goes to protojson
	for _, f := range s.resp.fields {
		if f.oneof >= 0 && f.hot != hRespFlow {
			f.kind = fkUnsupported
		}
	}
	return s
}

type schemaBuilder struct {
	plain map[protoreflect.FullName]*table // tables without hot fields, shared
	enums int
	preds int
}

func (b *schemaBuilder) build(md protoreflect.MessageDescriptor, hs hotSpec) *table {
	if hs == nil {
		if t, ok := b.plain[md.FullName()]; ok {
			return t
		}
	}
	fds := md.Fields()
	t := &table{byName: map[string]*field{}}
	if hs == nil {
		b.plain[md.FullName()] = t // before recursing: message types may nest
	}
	if fds.Len() > 64 {
		// more fields than the seen-set holds: never taken by the fast path
		t.fields = nil
		return t
	}
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		f := &field{name: string(fd.Name()), json: fd.JSONName(), idx: uint8(i), oneof: -1, list: fd.IsList()}
		t.names = append(t.names, newKeyWord(f.name, i))
		if f.json != f.name {
			t.jsonNames = append(t.jsonNames, newKeyWord(f.json, i))
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			f.oneof = int8(od.Index())
		}
		hf, isHot := hs[f.name]
		if isHot {
			f.hot = hf.id
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			f.kind = fkString
		case protoreflect.BoolKind:
			f.kind = fkBool
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			f.kind = fkInt32
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			f.kind = fkUint32
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			f.kind = fkInt64
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			f.kind = fkUint64
		case protoreflect.EnumKind:
			f.kind = fkEnum
			f.slot = b.enums
			b.enums++
			f.enum = map[string]enumValue{}
			vals := fd.Enum().Values()
			for j := 0; j < vals.Len(); j++ {
				name := string(vals.Get(j).Name())
				f.enum[name] = enumValue{name: name, num: int32(vals.Get(j).Number())}
			}
		case protoreflect.MessageKind:
			switch fd.Message().FullName() {
			case "google.protobuf.Timestamp":
				f.kind = fkTimestamp
			case "google.protobuf.BoolValue":
				f.kind = fkBoolValue
			default:
				if fd.Message().FullName().Parent() == "google.protobuf" {
					break // other well-known types have their own JSON forms
				}
				f.kind = fkMessage
				f.msg = b.build(fd.Message(), hf.child)
			}
		}
		if fd.IsMap() || (f.list && (f.kind == fkTimestamp || f.kind == fkBoolValue)) {
			f.kind = fkUnsupported
		}
		t.fields = append(t.fields, f)
		// protojson looks a key up by JSON name first, then by proto name
		if _, dup := t.byName[f.json]; !dup {
			t.byName[f.json] = f
		}
	}
	t.base = b.preds
	b.preds += len(t.fields) + 1
	t.inOrder = true
	for _, f := range t.fields {
		if g, dup := t.byName[f.name]; !dup {
			t.byName[f.name] = f
		} else if g != f {
			t.inOrder = false
		}
	}
	return t
}
