package hubblerelay

import (
	"errors"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/intern"
	"github.com/flowfence/flowfence/record"
)

// The receive path decodes GetFlowsResponse bytes itself. Decoding the
// whole message with the generated code costs more than everything else a
// flow goes through (a Hubble flow carries ~50 fields, a dozen label
// strings per endpoint, policies, interface, summary…), and converting its
// endpoints builds two label maps per flow. Here, per flow:
//   - only the fields the conversion reads are decoded, into one reused
//     flowpb.Flow with reused sub-messages and interned strings;
//   - each endpoint is converted once per distinct encoding (a pod's
//     endpoint bytes repeat across its flows) and the result reused:
//     records share the label maps (read-only, as Emit's contract says);
//   - hubble.ConvertFlow does the rest (verdict, L4, direction, DNS): the
//     JSON reader and this path share the conversion rules.
// Anything else — lost_events, node_status, bytes it cannot parse — goes
// through proto.Unmarshal and hubble.ConvertResponse, so malformed input
// fails as it would there. TestWireDecodeAgrees checks records equal to
// that path's on every sample flow.

// rawCodec hands GetFlows responses over as bytes, appended to the
// stream's handoff; everything else is protobuf.
type rawCodec struct{ proto encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if h, ok := v.(*handoff); ok {
		h.put(data)
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// callOptions makes a GetFlows stream deliver raw bytes.
func callOptions() []grpc.CallOption {
	return []grpc.CallOption{grpc.ForceCodecV2(rawCodec{proto: encoding.GetCodecV2("proto")})}
}

// maxInterned / maxEndpoints bound the decoder's caches; when full they
// are emptied and refilled.
const (
	maxInterned  = 1 << 16
	maxEndpoints = 1 << 16
)

// epTemplate is an endpoint converted once (without its IP, port, names),
// with the identity rules (record.Check) applied once too: whether a name
// breaks them, and the labels that are left once the invalid ones are
// dropped.
type epTemplate struct {
	ep record.Endpoint
	// badIdentity: a namespace, pod, workload or cluster name is not a
	// valid Kubernetes name (every record with this endpoint is rejected).
	badIdentity bool
	// dropped counts the invalid labels; labels and nsLabels are the
	// endpoint's label maps without them (when dropped > 0).
	dropped          int
	labels, nsLabels map[string]string
	// ownNode: the local node that also runs the API server
	// (hubble.OwnNodeCaller decides what the flow makes of it)
	ownNode bool
}

// decoder converts the events of one stream. Not safe for concurrent use.
type decoder struct {
	strs      *intern.Table
	eps       map[string]*epTemplate
	labelMaps map[string]map[string]string // label set (canonical) → its one map
	// m is the reused flow the fields are read into
	m                          hubble.FlowMessages
	srcNames, dstNames, dnsIPs []string
	// per message
	respTime      *timestamppb.Timestamp
	respTS        timestamppb.Timestamp
	respNode      string
	srcRaw        []byte
	dstRaw        []byte
	hasSrc, hasDs bool
	// the endpoint templates of the last flow converted on the fast path
	// (nil: no such endpoint, or the general path converted it)
	srcT, dstT *epTemplate
	fast       bool
}

func newDecoder() *decoder {
	return &decoder{strs: intern.New(maxInterned), eps: map[string]*epTemplate{}, labelMaps: map[string]map[string]string{}}
}

var errWire = errors.New("malformed protobuf")

// convert converts one GetFlowsResponse's bytes into rec; see
// hubble.ConvertResponse for the results.
func (d *decoder) convert(b []byte, rec *record.Record) (skip string, lost uint64, ok bool, err error) {
	d.fast, d.srcT, d.dstT = false, nil, nil
	flowBytes, isFlow := d.response(b)
	if isFlow {
		if skip, ok, handled := d.flow(flowBytes, rec); handled {
			return skip, 0, ok, nil
		}
	}
	var resp observerpb.GetFlowsResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return "", 0, false, err
	}
	skip, lost, ok = hubble.ConvertResponse(&resp, rec)
	return skip, lost, ok, nil
}

// response scans a GetFlowsResponse: the flow's bytes (isFlow false for
// any other event or anything unexpected), node_name and time.
func (d *decoder) response(b []byte) (flow []byte, isFlow bool) {
	d.respTime, d.respNode = nil, ""
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || flow != nil {
				return nil, false
			}
			flow, isFlow, b = v, true, b[n:]
			continue
		case num == 2 || num == 3:
			return nil, false // node_status, lost_events: the general path
		case num == 1000 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, false
			}
			d.respNode, b = d.strs.Bytes(v), b[n:]
			continue
		case num == 1001 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || d.respTime != nil || !d.timestamp(v, &d.respTS) {
				return nil, false
			}
			d.respTime, b = &d.respTS, b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
	}
	return flow, isFlow
}

func (d *decoder) timestamp(b []byte, ts *timestamppb.Timestamp) bool {
	ts.Seconds, ts.Nanos = 0, 0
	ok := scan(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) bool {
		switch num {
		case 1:
			ts.Seconds = int64(v)
		case 2:
			ts.Nanos = int32(v)
		default:
			return true
		}
		return typ == protowire.VarintType
	})
	return ok
}

// scan calls fn for every field of a message: v for varints, b for bytes
// (fixed-size fields are skipped). It reports false for malformed input or
// when fn does.
func scan(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 || !fn(num, typ, v, nil) {
				return false
			}
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !fn(num, typ, 0, v) {
				return false
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return false
			}
			b = b[n:]
		}
	}
	return true
}

// Flow fields naming the policies that denied a drop (flow.proto).
const (
	flowEgressDeniedBy  protowire.Number = 21004
	flowIngressDeniedBy protowire.Number = 21005
)

// flow decodes the fields of a Flow the conversion reads and converts it.
// handled is false when the general path must decide.
func (d *decoder) flow(b []byte, rec *record.Record) (skip string, ok, handled bool) {
	f := &d.m.Flow
	*f = flowpb.Flow{}
	d.srcNames, d.dstNames, d.dnsIPs = d.srcNames[:0], d.dstNames[:0], d.dnsIPs[:0]
	d.srcRaw, d.dstRaw, d.hasSrc, d.hasDs = nil, nil, false, false
	var seen uint64
	good := true
	for len(b) > 0 && good {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			good = false
			break
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			good = false
			break
		}
		b = b[n:]
		if typ == protowire.VarintType || typ == protowire.BytesType {
			good = d.flowField(f, num, typ, v, bs, &seen)
		}
		if num == flowEgressDeniedBy || num == flowIngressDeniedBy {
			good = false // the policies that denied it: the general path reads them
		}
	}
	if !good {
		return "", false, false
	}
	if len(d.srcNames) > 0 {
		f.SourceNames = d.srcNames
	}
	if len(d.dstNames) > 0 {
		f.DestinationNames = d.dstNames
	}
	var srcT, dstT *epTemplate
	if d.hasSrc {
		if srcT = d.endpoint(d.srcRaw); srcT == nil {
			return "", false, false
		}
		f.Source = &d.m.Src
	}
	if d.hasDs {
		if dstT = d.endpoint(d.dstRaw); dstT == nil {
			return "", false, false
		}
		f.Destination = &d.m.Dst
	}
	skip, ok = hubble.ConvertFlow(f, rec)
	if !ok {
		return skip, false, true
	}
	// the endpoints as converted once for their bytes, with this flow's
	// address, port and names
	if srcT != nil {
		ip, port, names := rec.Src.IP, rec.Src.Port, rec.Src.Names
		rec.Src = srcT.ep
		rec.Src.IP, rec.Src.Port, rec.Src.Names = ip, port, names
	}
	if dstT != nil {
		ip, port, names := rec.Dst.IP, rec.Dst.Port, rec.Dst.Names
		rec.Dst = dstT.ep
		rec.Dst.IP, rec.Dst.Port, rec.Dst.Names = ip, port, names
	}
	hubble.OwnNodeCaller(rec, srcT != nil && srcT.ownNode, dstT != nil && dstT.ownNode)
	if rec.Time.IsZero() && d.respTime != nil {
		rec.Time = d.respTime.AsTime()
	}
	if rec.Node == "" {
		rec.Node = d.respNode
	}
	// names are this decoder's reused slices: the record gets its own
	if len(rec.Src.Names) > 0 {
		rec.Src.Names = append([]string(nil), rec.Src.Names...)
	}
	if len(rec.Dst.Names) > 0 {
		rec.Dst.Names = append([]string(nil), rec.Dst.Names...)
	}
	if len(rec.DNSAnswers) > 0 {
		rec.DNSAnswers = append(rec.DNSAnswers[:0:0], rec.DNSAnswers...)
	}
	d.fast, d.srcT, d.dstT = true, srcT, dstT
	return "", true, true
}

// check applies the identity rules (record.Check) to the record convert
// just made: an error rejects it; otherwise the invalid labels and DNS
// names are dropped from it and counted. On the fast path the endpoints'
// verdicts and cleaned labels come from their templates, so a record costs
// only the check of its own DNS names.
func (d *decoder) check(rec *record.Record) (dropped int, err error) {
	if !d.fast || (d.srcT != nil && d.srcT.badIdentity) || (d.dstT != nil && d.dstT.badIdentity) {
		return rec.Check() // the general path, or a rejection: Check names the field
	}
	for _, e := range [2]struct {
		t  *epTemplate
		ep *record.Endpoint
	}{{d.srcT, &rec.Src}, {d.dstT, &rec.Dst}} {
		if e.t == nil {
			// no endpoint in the flow: whatever the conversion set
			if err := e.ep.CheckIdentity(side(e.ep == &rec.Src)); err != nil {
				return 0, err
			}
			dropped += e.ep.Clean()
			continue
		}
		if e.t.dropped > 0 {
			e.ep.Labels, e.ep.NamespaceLabels = e.t.labels, e.t.nsLabels
			dropped += e.t.dropped
		}
		dropped += cleanNames(&e.ep.Names)
	}
	if rec.DNSQuery != "" && !record.ValidDNSName(rec.DNSQuery) {
		rec.DNSQuery = ""
		dropped++
	}
	return dropped, nil
}

func side(src bool) string {
	if src {
		return "source"
	}
	return "destination"
}

// cleanNames drops the names that are not valid DNS names (a new slice
// when one is dropped) and returns how many it dropped.
func cleanNames(names *[]string) int {
	bad := 0
	for _, n := range *names {
		if !record.ValidDNSName(n) {
			bad++
		}
	}
	if bad == 0 {
		return 0
	}
	kept := make([]string, 0, len(*names)-bad)
	for _, n := range *names {
		if record.ValidDNSName(n) {
			kept = append(kept, n)
		}
	}
	*names = kept
	return bad
}

// endpoint returns the conversion of an Endpoint's bytes (nil if they do
// not decode).
func (d *decoder) endpoint(b []byte) *epTemplate {
	if t, ok := d.eps[string(b)]; ok {
		return t
	}
	var ep flowpb.Endpoint
	if err := proto.Unmarshal(b, &ep); err != nil {
		return nil
	}
	// convert the endpoint alone: the conversion of an endpoint depends on
	// the endpoint's fields only (its IP and port come from the flow)
	var tmp record.Record
	if _, ok := hubble.ConvertFlow(&flowpb.Flow{Verdict: flowpb.Verdict_FORWARDED, Source: &ep}, &tmp); !ok {
		return nil
	}
	t := &epTemplate{ep: tmp.Src, ownNode: hubble.IsOwnNodeAPIServer(&ep)}
	t.ep.IP, t.ep.Port, t.ep.Names = record.Endpoint{}.IP, 0, nil
	// the identity rules, once per endpoint (Clean replaces the maps it
	// drops from and leaves the template's own untouched)
	clean := t.ep
	t.badIdentity = clean.CheckIdentity("source") != nil
	if t.dropped = clean.Clean(); t.dropped > 0 {
		t.labels, t.nsLabels = d.labelMap(clean.Labels), d.labelMap(clean.NamespaceLabels)
	}
	// equal label sets share one map, whatever encoding they came in (a
	// pod seen by two nodes): consumers may key caches on the map
	t.ep.Labels = d.labelMap(t.ep.Labels)
	t.ep.NamespaceLabels = d.labelMap(t.ep.NamespaceLabels)
	// every record converted from this template shares its identity
	t.ep.ID = record.NewEndpointID()
	if len(d.eps) >= maxEndpoints {
		clear(d.eps)
	}
	d.eps[string(b)] = t
	return t
}

// labelMap returns the one map of the decoder equal to m.
func (d *decoder) labelMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	key := record.LabelSetKey(m)
	if cur, ok := d.labelMaps[key]; ok {
		return cur
	}
	if len(d.labelMaps) >= maxEndpoints {
		clear(d.labelMaps)
	}
	d.labelMaps[key] = m
	return m
}

func (d *decoder) ipMsg(b []byte) bool {
	d.m.IP = flowpb.IP{}
	return scan(b, func(num protowire.Number, typ protowire.Type, _ uint64, bs []byte) bool {
		switch num {
		case 1:
			d.m.IP.Source = d.strs.Bytes(bs)
		case 2:
			d.m.IP.Destination = d.strs.Bytes(bs)
		default:
			return true
		}
		return typ == protowire.BytesType
	})
}

// ports decodes source_port (1) and destination_port (2) of TCP, UDP and
// SCTP; TCP's flags (3) into d.m.Flags.
func (d *decoder) ports(b []byte, sp, dp *uint32, flags **flowpb.TCPFlags) bool {
	flagsSeen := false
	return scan(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) bool {
		switch {
		case num == 1 || num == 2:
			if typ != protowire.VarintType {
				return false
			}
			if num == 1 {
				*sp = uint32(v)
			} else {
				*dp = uint32(v)
			}
		case num == 3 && flags != nil:
			if typ != protowire.BytesType || flagsSeen {
				return false
			}
			flagsSeen = true
			d.m.Flags = flowpb.TCPFlags{}
			if !scan(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) bool {
				if num >= 1 && num <= 9 && typ != protowire.VarintType {
					return false
				}
				on := v != 0
				switch num {
				case 1:
					d.m.Flags.FIN = on
				case 2:
					d.m.Flags.SYN = on
				case 3:
					d.m.Flags.RST = on
				case 4:
					d.m.Flags.PSH = on
				case 5:
					d.m.Flags.ACK = on
				case 6:
					d.m.Flags.URG = on
				case 7:
					d.m.Flags.ECE = on
				case 8:
					d.m.Flags.CWR = on
				case 9:
					d.m.Flags.NS = on
				}
				return true
			}) {
				return false
			}
			*flags = &d.m.Flags
		}
		return true
	})
}

func (d *decoder) l4Msg(b []byte) bool {
	d.m.L4 = flowpb.Layer4{}
	var seen uint64
	return scan(b, func(num protowire.Number, typ protowire.Type, _ uint64, bs []byte) bool {
		if num >= 1 && num <= 7 {
			if typ != protowire.BytesType || seen&(1<<num) != 0 {
				return false // merged by protobuf: leave that to it
			}
			seen |= 1 << num
		}
		switch num {
		case 1:
			d.m.TCP = flowpb.TCP{}
			if !d.ports(bs, &d.m.TCP.SourcePort, &d.m.TCP.DestinationPort, &d.m.TCP.Flags) {
				return false
			}
			d.m.TCPL4.TCP = &d.m.TCP
			d.m.L4.Protocol = &d.m.TCPL4
		case 2:
			d.m.UDP = flowpb.UDP{}
			if !d.ports(bs, &d.m.UDP.SourcePort, &d.m.UDP.DestinationPort, nil) {
				return false
			}
			d.m.UDPL4.UDP = &d.m.UDP
			d.m.L4.Protocol = &d.m.UDPL4
		case 3, 4:
			var typ uint32
			if !scan(bs, func(num protowire.Number, wt protowire.Type, v uint64, _ []byte) bool {
				if num == 1 {
					typ = uint32(v)
					return wt == protowire.VarintType
				}
				return true
			}) {
				return false
			}
			if num == 3 {
				d.m.ICMPv4 = flowpb.ICMPv4{Type: typ}
				d.m.ICMPv4L4.ICMPv4 = &d.m.ICMPv4
				d.m.L4.Protocol = &d.m.ICMPv4L4
			} else {
				d.m.ICMPv6 = flowpb.ICMPv6{Type: typ}
				d.m.ICMPv6L4.ICMPv6 = &d.m.ICMPv6
				d.m.L4.Protocol = &d.m.ICMPv6L4
			}
		case 5:
			d.m.SCTP = flowpb.SCTP{}
			if !d.ports(bs, &d.m.SCTP.SourcePort, &d.m.SCTP.DestinationPort, nil) {
				return false
			}
			d.m.SCTPL4.SCTP = &d.m.SCTP
			d.m.L4.Protocol = &d.m.SCTPL4
		case 6, 7:
			d.m.L4.Protocol = nil // VRRP, IGMP: no protocol the conversion knows
		}
		return true
	})
}

func (d *decoder) l7Msg(b []byte) bool {
	d.m.L7 = flowpb.Layer7{}
	var seen uint64
	return scan(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) bool {
		switch num {
		case 1, 2:
			if typ != protowire.VarintType {
				return false
			}
		case 3, 100, 101, 102:
			bit := uint64(1) << (num % 64)
			if typ != protowire.BytesType || seen&bit != 0 {
				return false
			}
			seen |= bit
		}
		switch {
		case num == 1:
			d.m.L7.Type = flowpb.L7FlowType(int32(v))
		case num == 100:
			d.m.DNS = flowpb.DNS{}
			if !scan(bs, func(num protowire.Number, typ protowire.Type, _ uint64, bs []byte) bool {
				switch num {
				case 1:
					d.m.DNS.Query = d.strs.Bytes(bs)
				case 2:
					d.dnsIPs = append(d.dnsIPs, d.strs.Bytes(bs))
				default:
					return true
				}
				return typ == protowire.BytesType
			}) {
				return false
			}
			d.m.DNS.Ips = d.dnsIPs
			d.m.DNSL7.Dns = &d.m.DNS
			d.m.L7.Record = &d.m.DNSL7
		case num == 101 || num == 102:
			d.m.L7.Record = nil // HTTP, Kafka: not read by the conversion
		}
		return true
	})
}

// flowField decodes one field of a Flow into f (false: leave the flow to
// the general path).
func (d *decoder) flowField(f *flowpb.Flow, num protowire.Number, typ protowire.Type, v uint64, bs []byte, seen *uint64) bool {
	bytesField := typ == protowire.BytesType
	switch num {
	case 1, 5, 6, 8, 9, 15, 19, 26:
		// a message field twice is merged by protobuf: leave that to it
		if !bytesField || *seen&(1<<num) != 0 {
			return false
		}
		*seen |= 1 << num
	case 2, 3, 10, 16, 25:
		if typ != protowire.VarintType {
			return false // protobuf keeps it as an unknown field
		}
	}
	switch num {
	case 1: // time
		if !bytesField || !d.timestamp(bs, &d.m.Time) {
			return false
		}
		f.Time = &d.m.Time
	case 2:
		f.Verdict = flowpb.Verdict(int32(v))
	case 3:
		f.DropReason = uint32(v)
	case 5: // IP
		if !bytesField || !d.ipMsg(bs) {
			return false
		}
		f.IP = &d.m.IP
	case 6: // l4
		if !bytesField || !d.l4Msg(bs) {
			return false
		}
		f.L4 = &d.m.L4
	case 8:
		if !bytesField {
			return false
		}
		d.srcRaw, d.hasSrc = bs, true
	case 9:
		if !bytesField {
			return false
		}
		d.dstRaw, d.hasDs = bs, true
	case 10:
		f.Type = flowpb.FlowType(int32(v))
	case 11:
		if !bytesField {
			return false
		}
		f.NodeName = d.strs.Bytes(bs)
	case 13:
		if !bytesField {
			return false
		}
		d.srcNames = append(d.srcNames, d.strs.Bytes(bs))
	case 14:
		if !bytesField {
			return false
		}
		d.dstNames = append(d.dstNames, d.strs.Bytes(bs))
	case 15: // l7
		if !bytesField || !d.l7Msg(bs) {
			return false
		}
		f.L7 = &d.m.L7
	case 16:
		f.Reply = v != 0 //nolint:staticcheck // deprecated, still read by the conversion
	case 19: // event_type
		if !bytesField {
			return false
		}
		d.m.EventType = flowpb.CiliumEventType{}
		if !scan(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) bool {
			switch num {
			case 1:
				d.m.EventType.Type = int32(v)
			case 2:
				d.m.EventType.SubType = int32(v)
			default:
				return true
			}
			return typ == protowire.VarintType
		}) {
			return false
		}
		f.EventType = &d.m.EventType
	case 25:
		f.DropReasonDesc = flowpb.DropReason(int32(v))
	case 26: // is_reply
		if !bytesField {
			return false
		}
		d.m.IsReply = wrapperspb.BoolValue{}
		if !scan(bs, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) bool {
			if num == 1 {
				d.m.IsReply.Value = v != 0
				return typ == protowire.VarintType
			}
			return true
		}) {
			return false
		}
		f.IsReply = &d.m.IsReply
	case 34:
		if !bytesField {
			return false
		}
		f.Uuid = string(bs)
	}
	return true
}
