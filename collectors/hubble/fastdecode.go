package hubble

import (
	"iter"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/flowfence/flowfence/collectors/internal/jsonscan"
	"github.com/flowfence/flowfence/internal/intern"
	"github.com/flowfence/flowfence/record"
)

// The fast path: a hand-written decoder of the Hubble JSON shapes found in
// exporter files and `hubble observe -o json(pb)` output that reads only
// the fields the conversion needs, straight from the bytes, into one
// reused flow message (and each distinct endpoint object once), and that
// gives up — the caller then runs DecodeLine, i.e. protojson — on any line
// it does not fully understand. So it never changes behaviour; it only
// takes the lines it can prove protojson would accept in strict mode, and
// converts them with ConvertResponse / ConvertFlow, the one conversion.
//
// It gives up on: a line that is not one JSON object; a wrapper line whose
// first key is not "flow", or that carries another event (lost_events,
// node_status); any key this build's schema does not know (protojson's
// unknown-field path) or that appears twice; two members of one oneof; a
// null anywhere; a number that is not plain decimal digits (exponents,
// fractions, leading zeros) or out of range; an enum name the schema does
// not know; bytes, float, map and Any fields; a timestamp not of the form
// 2006-01-02T15:04:05[.fraction]Z; an escape sequence in any string whose
// value it extracts (escapes in skipped strings are validated); invalid
// UTF-8; a port above 65535 or an ICMP type above 255 (DecodeLine's error);
// a legacy object that is not a flow. TestFastDecodeAgrees and
// FuzzFastDecode prove the records equal to the protojson path's.
//
// Records it emits share their label maps, name slices and strings with
// other records of the same decoder: consumers must treat them as read-only
// (as every consumer of records already does).

// fastDecoder decodes lines on one goroutine; each decode worker owns one.
type fastDecoder struct {
	sc *schema
	b  []byte
	i  int
	v  flowView
	ep *epView // the endpoint being read
	// scratch is the endpoint being read when it is not memoized
	scratch epView
	// wlFirst is set while the first element of a workloads list is read
	wlFirst bool
	// dnsIPs are the spans of the DNS answer strings of the current line
	dnsIPs [][2]int

	intern *intern.Table
	labels map[string]*labelEntry
	names  map[string][]string
	arena  []byte
	// noLabels is the entry of an endpoint without labels
	noLabels labelEntry
	// endpoints and nodeLabels memoize values already validated and
	// converted, by their first memoPrefix bytes: a value byte-identical
	// to one read before (every flow of a pod carries the same endpoint
	// object, every flow of a node the same node_labels) is compared, not
	// parsed again.
	endpoints  map[string]*epMemo
	nodeLabels map[string]string
	// lastEnum is, per enum field, the last name read and its number;
	// lastNode the last node name interned
	lastEnum []lastEnum
	lastNode string
	// pred predicts the next key of each table (see table.match)
	pred []int8
	// msgs are the messages a line is converted through (convert)
	msgs flowMsgs
}

type lastEnum struct {
	name string
	num  int32
}

// epMemo is a validated endpoint object and its conversion.
type epMemo struct {
	raw  string
	conv epConv
}

// memoPrefix is how many bytes of a value key its memo entry.
const memoPrefix = 64

// memoized returns the length of the value at d.i when it starts with raw.
func (d *fastDecoder) memoized(raw string) bool {
	return len(d.b)-d.i >= len(raw) && string(d.b[d.i:d.i+len(raw)]) == raw
}

// Bounds of the per-decoder caches: when full they are emptied, so memory
// stays bounded however many distinct pods and names stream by.
const (
	maxInterned   = 1 << 16
	maxLabelSets  = 1 << 13
	maxNameLists  = 1 << 12
	arenaChunk    = 32 << 10
	maxDNSAnswers = 1 << 10
	maxMemo       = 1 << 14
)

func newFastDecoder(sc *schema) *fastDecoder {
	d := &fastDecoder{
		sc: sc, intern: intern.New(maxInterned), labels: map[string]*labelEntry{}, names: map[string][]string{},
		endpoints: map[string]*epMemo{}, nodeLabels: map[string]string{}, lastEnum: make([]lastEnum, sc.enumFields),
		pred: make([]int8, sc.preds),
	}
	for i := range d.pred {
		d.pred[i] = -1
	}
	return d
}

// epConv is one endpoint converted: present, and the record.Endpoint
// convertEndpoint makes of it but for the IP, port and names.
type epConv struct {
	present bool
	ep      record.Endpoint
	// ownNode: the local node that also runs the API server (OwnNodeCaller)
	ownNode bool
}

// epView is what the fast decoder read of one endpoint.
type epView struct {
	present          bool
	identity         uint32
	cluster, ns, pod []byte
	labels           []byte // the raw JSON array, brackets included
	wlSeen           bool   // workloads has at least one element
	wlName, wlKind   []byte // of the first workload
}

// flowView is what the fast decoder read of one line: the fields
// ConvertFlow reads, with the presence bits it tests.
type flowView struct {
	hasFlow      bool // response shape: the flow key was read
	hasTime      bool
	sec, nsec    int64
	uuid         []byte
	verdict      int32
	dropReason   uint32
	dropDesc     int32
	hasIP        bool
	ipSrc, ipDst []byte
	l4           hot // hTCP … hICMPv6, hNone
	sport, dport uint32
	syn, ack     bool
	icmpType     uint32
	src, dst     epConv
	flowType     int32
	node         []byte
	srcNames     []byte // raw JSON arrays
	dstNames     []byte
	hasL7        bool
	l7Type       int32
	hasDNS       bool
	dnsQuery     []byte
	reply        bool
	et           int32
	hasIsReply   bool
	isReply      bool
	hasRespTime  bool
	respSec      int64
	respNsec     int64
	respNode     []byte
}

// decode decodes one line into rec. handled is false when the line must go
// to DecodeLine; otherwise skip/ok are what DecodeLine would have returned
// (the fast path never returns an error: a line protojson rejects is never
// handled).
func (d *fastDecoder) decode(b []byte, rec *record.Record) (skip string, ok, handled bool) {
	d.b, d.i = b, 0
	d.v = flowView{}
	d.ep = nil
	d.dnsIPs = d.dnsIPs[:0]
	if len(b) < 2 || b[0] != '{' {
		return "", false, false
	}
	legacy := !d.firstKeyIs("flow")
	t := d.sc.resp
	if legacy {
		t = d.sc.flow
	}
	if !d.object(t) {
		return "", false, false
	}
	d.ws()
	if d.i != len(d.b) {
		return "", false, false // trailing data
	}
	v := &d.v
	if legacy {
		if !v.hasTime && !v.hasIP && !v.src.present && !v.dst.present && v.verdict == 0 {
			return "", false, false // not a flow: DecodeLine's error
		}
	} else if !v.hasFlow {
		return "", false, false
	}
	// checkL4: DecodeLine rejects the line
	switch v.l4 {
	case hTCP, hUDP, hSCTP:
		if v.sport > 65535 || v.dport > 65535 {
			return "", false, false
		}
	case hICMPv4, hICMPv6:
		if v.icmpType > 255 {
			return "", false, false
		}
	}
	skip, ok = d.convert(rec, legacy)
	return skip, ok, true
}

// firstKeyIs reports whether the object at the start of the line has key
// as its first key (no escapes).
func (d *fastDecoder) firstKeyIs(key string) bool {
	i := 1
	for i < len(d.b) && isSpace(d.b[i]) {
		i++
	}
	if i+len(key)+2 > len(d.b) || d.b[i] != '"' || string(d.b[i+1:i+1+len(key)]) != key || d.b[i+1+len(key)] != '"' {
		return false
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *fastDecoder) ws() {
	if d.i < len(d.b) && d.b[d.i] <= ' ' {
		for d.i < len(d.b) && isSpace(d.b[d.i]) {
			d.i++
		}
	}
}

// object reads a JSON object of message table t at d.i.
func (d *fastDecoder) object(t *table) bool {
	b := d.b
	i := d.i
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	if i < len(b) && b[i] == '}' {
		d.i = i + 1
		return true
	}
	var seen, oneofs uint64
	cur := 0
	for {
		d.i = i
		f := t.match(b, &d.i, &cur, d.pred)
		if f == nil {
			key, esc, ok := d.scanString()
			if !ok || esc {
				return false
			}
			if f = t.lookup(key, &cur); f == nil {
				return false // unknown field (or a protojson extension name)
			}
		}
		i = d.i
		if i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i >= len(b) || b[i] == 'n' {
			return false // null: protojson's unset-field rules are left to it
		}
		bit := uint64(1) << f.idx
		if seen&bit != 0 {
			return false // duplicate field
		}
		seen |= bit
		if f.oneof >= 0 {
			ob := uint64(1) << uint(f.oneof)
			if oneofs&ob != 0 {
				return false // a second member of one oneof
			}
			oneofs |= ob
		}
		d.i = i
		if !d.value(f) {
			return false
		}
		i = d.i
		if i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipSpace(b, i)
			}
		case '}':
			d.i = i + 1
			return true
		default:
			return false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// value reads the value of field f at d.i.
func (d *fastDecoder) value(f *field) bool {
	if f.list {
		return d.list(f)
	}
	v := &d.v
	switch f.kind {
	case fkString:
		s, esc, ok := d.scanString()
		if !ok || (esc && f.hot != hNone) {
			return false
		}
		switch f.hot {
		case hUUID:
			v.uuid = s
		case hNodeName:
			v.node = s
		case hRespNode:
			v.respNode = s
		case hIPSrc:
			v.ipSrc = s
		case hIPDst:
			v.ipDst = s
		case hEpCluster:
			d.ep.cluster = s
		case hEpNamespace:
			d.ep.ns = s
		case hEpPod:
			d.ep.pod = s
		case hWlName:
			if d.wlFirst {
				d.ep.wlName = s
			}
		case hWlKind:
			if d.wlFirst {
				d.ep.wlKind = s
			}
		case hDNSQuery:
			v.dnsQuery = s
		}
		return true
	case fkBool, fkBoolValue:
		x, ok := d.boolean()
		if !ok {
			return false
		}
		switch f.hot {
		case hReply:
			v.reply = x
		case hIsReply:
			v.isReply, v.hasIsReply = x, true
		case hSYN:
			v.syn = x
		case hACK:
			v.ack = x
		}
		return true
	case fkInt32, fkUint32, fkInt64, fkUint64:
		n, ok := d.integer(f.kind)
		if !ok {
			return false
		}
		switch f.hot {
		case hDropReason:
			v.dropReason = uint32(n)
		case hSport:
			v.sport = uint32(n)
		case hDport:
			v.dport = uint32(n)
		case hICMPType:
			v.icmpType = uint32(n)
		case hEpIdentity:
			d.ep.identity = uint32(n)
		case hETType:
			v.et = int32(n)
		}
		return true
	case fkEnum:
		n, ok := d.enum(f)
		if !ok {
			return false
		}
		switch f.hot {
		case hVerdict:
			v.verdict = n
		case hDropReasonDesc:
			v.dropDesc = n
		case hType:
			v.flowType = n
		case hL7Type:
			v.l7Type = n
		}
		return true
	case fkTimestamp:
		sec, nsec, ok := d.timestamp()
		if !ok {
			return false
		}
		switch f.hot {
		case hTime:
			v.hasTime, v.sec, v.nsec = true, sec, nsec
		case hRespTime:
			v.hasRespTime, v.respSec, v.respNsec = true, sec, nsec
		}
		return true
	case fkMessage:
		switch f.hot {
		case hRespFlow:
			v.hasFlow = true
		case hIP:
			v.hasIP = true
		case hTCP, hUDP, hSCTP, hICMPv4, hICMPv6:
			v.l4 = f.hot
		case hSource:
			return d.endpointObject(f.msg, &v.src)
		case hDestination:
			return d.endpointObject(f.msg, &v.dst)
		case hL7:
			v.hasL7 = true
		case hDNS:
			v.hasDNS = true
		}
		return d.object(f.msg)
	}
	return false
}

// endpointObject reads a flow.Endpoint object into out, from the memo
// when the same bytes were read before.
func (d *fastDecoder) endpointObject(t *table, out *epConv) bool {
	start := d.i
	if start+memoPrefix <= len(d.b) {
		if m, ok := d.endpoints[string(d.b[start:start+memoPrefix])]; ok && d.memoized(m.raw) {
			d.i += len(m.raw)
			*out = m.conv
			return true
		}
	}
	d.scratch = epView{}
	d.ep = &d.scratch
	ok := d.object(t)
	d.ep = nil
	if !ok {
		return false
	}
	out.present = true
	out.ownNode = d.convertEndpoint(&d.scratch, &out.ep)
	if d.i-start >= memoPrefix {
		if len(d.endpoints) >= maxMemo {
			clear(d.endpoints)
		}
		// every record converted from this memo shares its identity
		out.ep.ID = record.NewEndpointID()
		raw := string(d.b[start:d.i])
		d.endpoints[raw[:memoPrefix]] = &epMemo{raw: raw, conv: *out}
	}
	return true
}

// list reads a JSON array of field f's kind at d.i.
func (d *fastDecoder) list(f *field) bool {
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	if f.hot == hNodeLabels {
		return d.nodeLabelList(f)
	}
	start := d.i
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.listDone(f, start)
		return true
	}
	for n := 0; ; n++ {
		if d.i >= len(d.b) || d.b[d.i] == 'n' {
			return false
		}
		switch f.kind {
		case fkString:
			s0 := d.i
			_, esc, ok := d.scanString()
			if !ok || (esc && f.hot != hNone) {
				return false
			}
			if f.hot == hDNSIPs {
				if len(d.dnsIPs) >= maxDNSAnswers {
					return false
				}
				d.dnsIPs = append(d.dnsIPs, [2]int{s0 + 1, d.i - 1})
			}
		case fkBool:
			if _, ok := d.boolean(); !ok {
				return false
			}
		case fkInt32, fkUint32, fkInt64, fkUint64:
			if _, ok := d.integer(f.kind); !ok {
				return false
			}
		case fkEnum:
			if _, ok := d.enum(f); !ok {
				return false
			}
		case fkMessage:
			if f.hot == hEpWorkloads {
				d.wlFirst = n == 0
				ok := d.object(f.msg)
				d.wlFirst = false
				if !ok {
					return false
				}
				d.ep.wlSeen = true
			} else if !d.object(f.msg) {
				return false
			}
		default:
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.ws()
		case ']':
			d.i++
			d.listDone(f, start)
			return true
		default:
			return false
		}
	}
}

// nodeLabelList validates node_labels, or finds them in the memo.
func (d *fastDecoder) nodeLabelList(f *field) bool {
	start := d.i
	if start+memoPrefix <= len(d.b) {
		if raw, ok := d.nodeLabels[string(d.b[start:start+memoPrefix])]; ok && d.memoized(raw) {
			d.i += len(raw)
			return true
		}
	}
	g := *f
	g.hot = hNone
	if !d.list(&g) {
		return false
	}
	if d.i-start >= memoPrefix {
		if len(d.nodeLabels) >= maxMemo {
			clear(d.nodeLabels)
		}
		raw := string(d.b[start:d.i])
		d.nodeLabels[raw[:memoPrefix]] = raw
	}
	return true
}

func (d *fastDecoder) listDone(f *field, start int) {
	raw := d.b[start:d.i]
	switch f.hot {
	case hEpLabels:
		d.ep.labels = raw
	case hSourceNames:
		d.v.srcNames = raw
	case hDestNames:
		d.v.dstNames = raw
	}
}

// scanString reads a JSON string at d.i, validated as protojson's decoder
// does (UTF-8, no control characters, valid escapes). s is the raw content
// between the quotes; esc reports escapes in it (s is then not the value).
func (d *fastDecoder) scanString() (s []byte, esc, ok bool) {
	b := d.b
	i := d.i
	if i >= len(b) || b[i] != '"' {
		return nil, false, false
	}
	i++
	start := i
	for {
		i = jsonscan.PlainRun(b, i)
		if i >= len(b) {
			return nil, false, false
		}
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return b[start:i], esc, true
		case c == '\\':
			n, ok := escapeLen(b[i:])
			if !ok {
				return nil, false, false
			}
			esc = true
			i += n
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, false, false
			}
			i += n
		default:
			i++ // near the end of the line: byte by byte
		}
	}
}

// escapeLen validates the escape sequence at the start of b as protojson's
// decoder does and returns its length.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, false
		}
		if !utf16.IsSurrogate(r) {
			return 6, true
		}
		if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
			return 0, false
		}
		r2, ok := hex4(b[8:])
		if !ok || utf16.DecodeRune(r, r2) == utf8.RuneError {
			return 0, false
		}
		return 12, true
	}
	return 0, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (d *fastDecoder) boolean() (bool, bool) {
	b := d.b[d.i:]
	switch {
	case len(b) >= 4 && string(b[:4]) == "true" && jsonscan.Delim(d.b, d.i+4):
		d.i += 4
		return true, true
	case len(b) >= 5 && string(b[:5]) == "false" && jsonscan.Delim(d.b, d.i+5):
		d.i += 5
		return false, true
	}
	return false, false
}

// digits reads an optional '-' and plain decimal digits without a leading
// zero, as a JSON number or inside quotes; anything else fails.
func (d *fastDecoder) digits(signed bool) (neg bool, mag uint64, ok bool) {
	b := d.b
	i := d.i
	if i < len(b) && b[i] == '-' {
		if !signed {
			return false, 0, false
		}
		neg = true
		i++
	}
	s := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if mag > (1<<64-1)/10 {
			return false, 0, false
		}
		m := mag*10 + uint64(b[i]-'0')
		if m < mag {
			return false, 0, false
		}
		mag = m
		i++
	}
	n := i - s
	if n == 0 || (n > 1 && b[s] == '0') || (neg && mag == 0) {
		return false, 0, false
	}
	d.i = i
	return neg, mag, true
}

// integer reads an integer field (a JSON number, or a quoted one as
// protojson also accepts) and checks its range.
func (d *fastDecoder) integer(k fkind) (int64, bool) {
	quoted := d.i < len(d.b) && d.b[d.i] == '"'
	if quoted {
		d.i++
	}
	signed := k == fkInt32 || k == fkInt64
	neg, mag, ok := d.digits(signed)
	if !ok {
		return 0, false
	}
	if quoted {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return 0, false
		}
		d.i++
	} else if !jsonscan.Delim(d.b, d.i) {
		return 0, false // a fraction or an exponent: left to protojson
	}
	var lim uint64
	switch k {
	case fkInt32:
		lim = 1<<31 - 1
		if neg {
			lim = 1 << 31
		}
	case fkUint32:
		lim = 1<<32 - 1
	case fkInt64:
		lim = 1<<63 - 1
		if neg {
			lim = 1 << 63
		}
	default:
		lim = 1<<64 - 1
	}
	if mag > lim {
		return 0, false
	}
	if neg {
		return -int64(mag), true
	}
	return int64(mag), true // a uint64 above MaxInt64 wraps, never read as a hot value
}

// enum reads an enum value: a known name, or a number in int32 range.
func (d *fastDecoder) enum(f *field) (int32, bool) {
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s, esc, ok := d.scanString()
		if !ok || esc {
			return 0, false
		}
		last := &d.lastEnum[f.slot]
		if len(s) > 0 && string(s) == last.name {
			return last.num, true
		}
		v, known := f.enum[string(s)]
		if known {
			*last = lastEnum{name: v.name, num: v.num}
		}
		return v.num, known
	}
	neg, mag, ok := d.digits(true)
	if !ok || !jsonscan.Delim(d.b, d.i) {
		return 0, false
	}
	if neg {
		if mag > 1<<31 {
			return 0, false
		}
		return int32(-int64(mag)), true
	}
	if mag > 1<<31-1 {
		return 0, false
	}
	return int32(mag), true
}

// timestamp reads "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" and returns Unix seconds
// and nanoseconds; any other form (offsets, lowercase, leap seconds) is left
// to protojson.
func (d *fastDecoder) timestamp() (sec, nsec int64, ok bool) {
	s, esc, ok := d.scanString()
	if !ok || esc || len(s) < 20 || s[len(s)-1] != 'Z' {
		return 0, 0, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	second, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || second > 59 {
		return 0, 0, false
	}
	frac := s[19 : len(s)-1]
	if len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, 0, false
		}
		f, ok := num(frac[1:])
		if !ok {
			return 0, 0, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			f *= 10
		}
		nsec = int64(f)
	}
	sec = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second)
	return sec, nsec, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// str interns b.
func (d *fastDecoder) str(b []byte) string { return d.intern.Bytes(b) }

// node interns a node name, remembering the last one (an exporter file
// holds one node's flows).
func (d *fastDecoder) node(b []byte) string {
	if len(b) > 0 && string(b) == d.lastNode {
		return d.lastNode
	}
	s := d.str(b)
	d.lastNode = s
	return s
}

// once copies b into the decoder's append-only arena: one allocation per
// arenaChunk bytes for strings that are unique per flow (uuids). Arena
// bytes are never written again, so the strings are immutable.
func (d *fastDecoder) once(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaChunk/4 {
		return string(b)
	}
	if len(d.arena)+len(b) > cap(d.arena) {
		d.arena = make([]byte, 0, arenaChunk)
	}
	n := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[n], len(b))
}

// labelEntry is one distinct Hubble label list, converted once.
type labelEntry struct {
	ciliumLabels
	// nsLabels plus kubernetes.io/metadata.name=withNSName
	withNS     map[string]string
	withNSName string
}

// namespaceLabels returns the namespace labels of a pod endpoint in ns.
func (e *labelEntry) namespaceLabels(ns string) map[string]string {
	if e.withNS == nil || e.withNSName != ns {
		m := make(map[string]string, len(e.nsLabels)+1)
		for k, v := range e.nsLabels {
			m[k] = v
		}
		m[nsNameLabel] = ns
		e.withNS, e.withNSName = m, ns
	}
	return e.withNS
}

// labelSet returns the converted label list raw (a JSON array of strings
// without escapes), as convertEndpoint's loop converts it.
func (d *fastDecoder) labelSet(raw []byte) *labelEntry {
	if e, ok := d.labels[string(raw)]; ok {
		return e
	}
	if len(d.labels) >= maxLabelSets {
		clear(d.labels)
	}
	key := string(raw)
	e := &labelEntry{}
	for l := range stringElems(key) {
		e.add(l)
	}
	d.labels[key] = e
	return e
}

// nameList returns the strings of a JSON array (no escapes), shared.
func (d *fastDecoder) nameList(raw []byte) []string {
	if len(raw) <= 2 {
		return nil
	}
	if l, ok := d.names[string(raw)]; ok {
		return l
	}
	if len(d.names) >= maxNameLists {
		clear(d.names)
	}
	key := string(raw)
	var out []string
	for n := range stringElems(key) {
		out = append(out, n)
	}
	d.names[key] = out
	return out
}

// stringElems yields the strings of arr, a JSON array of strings without
// escapes that the fast path has read (so valid), as substrings of arr.
func stringElems(arr string) iter.Seq[string] {
	return func(yield func(string) bool) {
		body := arr[1 : len(arr)-1]
		for len(body) > 0 {
			// elements are "…" separated by commas and optional whitespace
			body = strings.TrimLeft(body, " \t\r\n,")
			if len(body) == 0 {
				return
			}
			end := strings.IndexByte(body[1:], '"') + 1
			if !yield(body[1:end]) {
				return
			}
			body = body[end+1:]
		}
	}
}

// flowMsgs are the messages the fast path converts a line's view through:
// reused, each line sets what ConvertFlow reads (see fill).
type flowMsgs struct {
	FlowMessages
	resp     observerpb.GetFlowsResponse
	respFlow observerpb.GetFlowsResponse_Flow
	respTime timestamppb.Timestamp
	dnsIPs   []string
}

// convert converts the line's view as DecodeLine would: ConvertResponse
// (ConvertFlow for a legacy line) of the flow the view describes, with
// the endpoints as converted once for their bytes.
func (d *fastDecoder) convert(rec *record.Record, legacy bool) (skip string, ok bool) {
	v := &d.v
	f := d.fill()
	if legacy {
		skip, ok = ConvertFlow(f, rec)
	} else {
		m := &d.msgs
		m.resp.NodeName, m.resp.Time = "", nil
		if f.NodeName == "" {
			m.resp.NodeName = d.node(v.respNode)
		}
		m.respFlow.Flow = f
		m.resp.ResponseTypes = &m.respFlow
		if v.hasRespTime {
			m.respTime.Seconds, m.respTime.Nanos = v.respSec, int32(v.respNsec)
			m.resp.Time = &m.respTime
		}
		skip, _, ok = ConvertResponse(&m.resp, rec)
	}
	if !ok {
		return skip, false
	}
	endpoint(&v.src, &rec.Src)
	endpoint(&v.dst, &rec.Dst)
	rec.Src.Names = d.nameList(v.srcNames)
	rec.Dst.Names = d.nameList(v.dstNames)
	OwnNodeCaller(rec, v.src.present && v.src.ownNode, v.dst.present && v.dst.ownNode)
	return "", true
}

// fill sets the reused flow to what the view read of the fields
// ConvertFlow reads, the endpoints and their names aside. It sets every
// field it ever sets, and no other field is ever set: the flow need not
// be cleared.
func (d *fastDecoder) fill() *flowpb.Flow {
	v, m := &d.v, &d.msgs
	f := &m.Flow
	f.Uuid, f.Verdict, f.DropReasonDesc = d.once(v.uuid), flowpb.Verdict(v.verdict), flowpb.DropReason(v.dropDesc)
	f.Type, f.NodeName, f.EventType = flowpb.FlowType(v.flowType), d.node(v.node), &m.EventType
	f.Reply = v.reply           //nolint:staticcheck // deprecated, still read by the conversion
	f.DropReason = v.dropReason //nolint:staticcheck // deprecated, still read by the conversion
	f.Time, f.IsReply, f.IP, f.Source, f.Destination, f.L4, f.L7 = nil, nil, nil, nil, nil, nil, nil
	m.EventType.Type = v.et
	if v.hasTime {
		m.Time.Seconds, m.Time.Nanos = v.sec, int32(v.nsec)
		f.Time = &m.Time
	}
	if v.hasIsReply {
		m.IsReply.Value = v.isReply
		f.IsReply = &m.IsReply
	}
	if v.hasIP {
		// the addresses are parsed, never kept: views of the line will do
		m.IP.Source, m.IP.Destination = view(v.ipSrc), view(v.ipDst)
		f.IP = &m.IP
	}
	if v.src.present {
		f.Source = &m.Src
	}
	if v.dst.present {
		f.Destination = &m.Dst
	}
	switch v.l4 {
	case hTCP:
		m.TCP.SourcePort, m.TCP.DestinationPort = v.sport, v.dport
		m.Flags.SYN, m.Flags.ACK = v.syn, v.ack
		m.TCP.Flags, m.TCPL4.TCP, m.L4.Protocol = &m.Flags, &m.TCP, &m.TCPL4
	case hUDP:
		m.UDP.SourcePort, m.UDP.DestinationPort = v.sport, v.dport
		m.UDPL4.UDP, m.L4.Protocol = &m.UDP, &m.UDPL4
	case hSCTP:
		m.SCTP.SourcePort, m.SCTP.DestinationPort = v.sport, v.dport
		m.SCTPL4.SCTP, m.L4.Protocol = &m.SCTP, &m.SCTPL4
	case hICMPv4:
		m.ICMPv4.Type = v.icmpType
		m.ICMPv4L4.ICMPv4, m.L4.Protocol = &m.ICMPv4, &m.ICMPv4L4
	case hICMPv6:
		m.ICMPv6.Type = v.icmpType
		m.ICMPv6L4.ICMPv6, m.L4.Protocol = &m.ICMPv6, &m.ICMPv6L4
	default:
		m.L4.Protocol = nil
	}
	if v.l4 != hNone {
		f.L4 = &m.L4
	}
	if v.hasL7 {
		m.L7.Type = flowpb.L7FlowType(v.l7Type)
		m.L7.Record = nil
		if v.hasDNS {
			m.dnsIPs = m.dnsIPs[:0]
			for _, sp := range d.dnsIPs {
				m.dnsIPs = append(m.dnsIPs, view(d.b[sp[0]:sp[1]]))
			}
			m.DNS.Query, m.DNS.Ips = d.str(v.dnsQuery), m.dnsIPs
			m.DNSL7.Dns, m.L7.Record = &m.DNS, &m.DNSL7
		}
		f.L7 = &m.L7
	}
	return f
}

// view is a string of b's bytes that is valid only while b is: for values
// the conversion parses and does not keep (addresses).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// endpoint puts an endpoint's conversion (made once for its bytes) into
// out, which ConvertFlow filled from an empty endpoint: the flow's
// address and port stay. An endpoint the flow does not carry stays as
// ConvertFlow made it.
func endpoint(ep *epConv, out *record.Endpoint) {
	if !ep.present {
		return
	}
	ip, port := out.IP, out.Port
	*out = ep.ep
	out.IP, out.Port = ip, port
}

// convertEndpoint converts an endpoint's view as convertEndpoint converts
// the message: the entity rules are endpointEntity, the labels' meaning
// ciliumLabels (labelSet).
func (d *fastDecoder) convertEndpoint(ep *epView, out *record.Endpoint) (ownNode bool) {
	out.Namespace = d.str(ep.ns)
	out.Pod = d.str(ep.pod)
	out.Cluster = d.str(ep.cluster)
	if ep.wlSeen {
		out.WorkloadKind, out.WorkloadName = d.str(ep.wlKind), d.str(ep.wlName)
	}
	le := &d.noLabels
	if len(ep.labels) > 2 {
		le = d.labelSet(ep.labels)
	}
	if out.Cluster == "" {
		out.Cluster = le.cluster
	}
	out.Labels = le.labels
	out.NamespaceLabels = le.nsLabels
	out.Entity = endpointEntity(le.entity, out.Namespace, out.Pod, ep.identity)
	if out.IsPod() {
		out.NamespaceLabels = le.namespaceLabels(out.Namespace)
	}
	return le.host && out.Entity == record.EntityKubeAPIServer
}
