package calico

import (
	"hash/maphash"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/flowfence/flowfence/collectors/internal/jsonscan"
	"github.com/flowfence/flowfence/record"
)

// The fast path: a hand-written decoder of the flat Felix flows.log line
// that fills a FlowLog straight from the bytes, instead of DecodeDocument's
// two encoding/json passes (a map of raw values, then the struct). It gives
// up — the caller then runs DecodeDocument — on anything it does not
// reproduce exactly: a line that is not one flat JSON object; the _source
// and hits shapes; a key that differs from a FlowLog field name only in
// case (encoding/json folds case); a known key twice; a known field with a
// null where the field is not a pointer or list, an escaped string, a
// number that is not a plain integer, a time that is not Unix seconds or
// milliseconds as an integer, a proto number above 255, labels in another
// shape than null, [..] or {"labels":[..]}; nesting deeper than 64. Unknown
// keys are skipped after the same syntax checks encoding/json makes.
// TestFastDecodeAgrees and FuzzFastDecode prove the results equal.
//
// Records share their label maps with other records of the same decoder,
// and through the endpoint table with those of the file's other decoders
// (read-only, as every consumer treats records).

// fastDecoder decodes lines on one goroutine; each decode worker owns one.
type fastDecoder struct {
	b      []byte
	i      int
	labels map[string]map[string]string
	// eps are the workload endpoints converted (see endpoint), shared
	// with the file's other decode workers; epKey is the key of the
	// endpoint being converted
	eps   *epTable
	epKey []byte
	// pred predicts each position's key (see predicted); lines counts the
	// lines decoded
	pred  []predKey
	lines uint32
	// interned is a direct-mapped cache of interned strings (see str)
	interned *[internSlots]string
	seed     maphash.Seed
	// src, dst: the label fields of the line being decoded
	src, dst epLabels
	// vals hold what the FlowLog's pointer fields point to (the FlowLog
	// does not outlive decode)
	vals struct {
		srcIP, dstIP               string
		srcPort, dstPort, numFlows int64
	}
}

// Bounds of the decoders' caches (emptied when full).
const (
	maxLabelSets = 1 << 13
	maxEndpoints = 1 << 16
	minEpTable   = 1 << 10
	maxDepth     = 64
)

// newFastDecoder returns a decoder with a table of endpoints of its own.
func newFastDecoder() *fastDecoder { return newSharingDecoder(newEpTable()) }

// newSharingDecoder returns a decoder that converts endpoints into eps,
// shared with other decoders.
func newSharingDecoder(eps *epTable) *fastDecoder {
	return &fastDecoder{labels: map[string]map[string]string{}, eps: eps,
		interned: new([internSlots]string), seed: maphash.MakeSeed()}
}

// decode decodes one line; handled is false when the line must go to
// DecodeDocument. When handled, err is Validate's error for the line (as
// DecodeDocument would return it), else skip/ok are Convert's.
func (d *fastDecoder) decode(b []byte, rec *record.Record) (skip string, ok, handled bool, err error) {
	var f FlowLog
	if !d.flowLog(b, &f) {
		return "", false, false, nil
	}
	if err := f.Validate(); err != nil {
		return "", false, true, err
	}
	// the label lists were validated, not built, and the names are views
	// of the line: the endpoints come from the decoder (endpoint)
	skip, ok = convert(&f, rec, d)
	return skip, ok, true, nil
}

// endpoint is the package's endpoint for the fast path: name, aggr and ns
// are views of the line, labels the raw label field (holding n labels).
// A workload endpoint is converted once per distinct value and then
// copied from the cache, with its ID; the others are converted with
// copies of their strings.
func (d *fastDecoder) endpoint(ep *record.Endpoint, typ, name, aggr, ns string, ip *string, labels []byte, n int, host string, t *epTemplate) bool {
	if typ != TypeWorkload {
		return endpoint(ep, typ, d.strOf(name), d.strOf(aggr), d.strOf(ns), ip, nil, host)
	}
	if t != nil {
		// found for these very values as the labels were read
		t.copyTo(ep)
		return true
	}
	lens, h, keyed := d.epPrefix(name, aggr, ns, ip)
	if !keyed {
		// too long to key: converted as it is
		endpoint(ep, typ, d.strOf(name), d.strOf(aggr), d.strOf(ns), ip, nil, host)
		ep.Labels = d.labelMap(labels, n)
		return true
	}
	k := append(d.epKey, labels...)
	d.epKey = k
	if t = find(d.eps.load(), h, k, lens); t == nil {
		t = d.eps.add(h, d.newTemplate(name, aggr, ns, ip, labels, n, lens, k))
	}
	t.copyTo(ep)
	return true
}

// epPrefix puts the key of a workload endpoint but its labels (name,
// aggr, ns and the address) in d.epKey and returns their lengths and the
// table hash, which is of that prefix (a pod's label field is found by its
// other values, see atLabels); keyed is false when a value is too long to
// key. An endpoint with no address and one with an address that does not
// parse convert alike, and differ in their keys only.
func (d *fastDecoder) epPrefix(name, aggr, ns string, ip *string) (lens epLens, h uint64, keyed bool) {
	var raw string
	if ip != nil {
		raw = *ip
	}
	if max(len(name), len(aggr), len(ns), len(raw)) >= math.MaxUint16 {
		return lens, 0, false
	}
	lens = epLens{uint16(len(name)), uint16(len(aggr)), uint16(len(ns)), uint16(len(raw))}
	if ip == nil {
		lens[3] = noAddr
	}
	d.epKey = append(append(append(append(d.epKey[:0], name...), aggr...), ns...), raw...)
	h = maphash.Bytes(d.eps.seed, d.epKey) ^ uint64(lens[0])<<48 ^ uint64(lens[1])<<32 ^ uint64(lens[2])<<16 ^ uint64(lens[3])
	return lens, h, true
}

// atLabels returns the template of a workload endpoint whose type, name,
// aggregated name, namespace and address the line already set (their
// fields, bits of seen) when its label field at d.i is the template's,
// byte for byte and followed by a delimiter, and takes the field: it
// needs no validation (it was validated when the template was made),
// and the endpoint no other lookup. Nil when any of that is not so.
func (d *fastDecoder) atLabels(seen uint32, fields uint32, typ, name, aggr, ns string, ip *string) *epTemplate {
	if seen&fields != fields || typ != TypeWorkload {
		return nil
	}
	lens, h, keyed := d.epPrefix(name, aggr, ns, ip)
	if !keyed {
		return nil
	}
	k := d.epKey
	e := d.eps.load()
	mask := len(e) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		t := e[i].t.Load()
		if t == nil {
			return nil
		}
		if e[i].h.Load() != h || t.lens != lens || len(t.key) < len(k) || string(t.key[:len(k)]) != string(k) {
			continue
		}
		labels := t.key[len(k):]
		end := d.i + len(labels)
		if len(labels) > 0 && end <= len(d.b) && string(d.b[d.i:end]) == string(labels) && jsonscan.Delim(d.b, end) {
			d.i = end
			return t
		}
	}
}

// The fields an endpoint's template is found by, as bits of seen.
const (
	srcFields = 1<<kSourceType | 1<<kSourceName | 1<<kSourceNameAggr | 1<<kSourceNamespace | 1<<kSourceIP
	dstFields = 1<<kDestType | 1<<kDestName | 1<<kDestNameAggr | 1<<kDestNamespace | 1<<kDestIP
)

// epTemplate is one workload endpoint as converted (the fields endpoint
// sets for one), with the values it was converted from: name, aggr, ns,
// the address and the raw labels one after the other in key (in the
// template itself when short), their lengths in lens. The template's
// id is the ID of its endpoints.
type epTemplate struct {
	lens       epLens
	aggregated bool
	// n is how many labels the raw label field lists
	n       int
	key     []byte
	addr    netip.Addr
	ns, pod string
	labels  map[string]string
	id      record.EndpointID
	inline  [192]byte
}

// epLens are the lengths of name, aggr, ns and the address in a
// template's key; the address's is noAddr when there is none (null).
type epLens [4]uint16

const noAddr = math.MaxUint16

// is reports whether t was converted from the endpoint whose key is k.
func (t *epTemplate) is(k []byte, lens epLens) bool {
	return t.lens == lens && string(t.key) == string(k)
}

// copyTo sets ep to t's endpoint.
func (t *epTemplate) copyTo(ep *record.Endpoint) {
	*ep = record.Endpoint{IP: t.addr, Namespace: t.ns, Pod: t.pod, Labels: t.labels, Aggregated: t.aggregated}
	ep.ID = &t.id
}

// newTemplate converts a workload endpoint as endpoint does.
func (d *fastDecoder) newTemplate(name, aggr, ns string, ip *string, labels []byte, n int, lens epLens, k []byte) *epTemplate {
	var ep record.Endpoint
	endpoint(&ep, TypeWorkload, d.strOf(name), d.strOf(aggr), d.strOf(ns), ip, nil, "")
	t := &epTemplate{lens: lens, aggregated: ep.Aggregated, n: n, addr: ep.IP, ns: ep.Namespace, pod: ep.Pod, labels: d.labelMap(labels, n)}
	t.key = append(t.inline[:0], k...)
	return t
}

// strOf is str of a string view.
func (d *fastDecoder) strOf(s string) string {
	return d.str(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// labelMap returns Labels(list).Map() of a label field (raw, holding n
// labels), shared between the records whose raw label field is the same.
func (d *fastDecoder) labelMap(raw []byte, n int) map[string]string {
	if n == 0 {
		return nil
	}
	if m, ok := d.labels[string(raw)]; ok {
		return m
	}
	if len(d.labels) >= maxLabelSets {
		clear(d.labels)
	}
	sub := fastDecoder{b: raw, interned: d.interned, seed: d.seed}
	var list Labels
	sub.labelField(&list, true)
	m := list.Map()
	d.labels[string(raw)] = m
	return m
}

// internSlots is the size of the decoder's string cache.
const internSlots = 1 << 13

// str interns b: equal strings of one decoder share their bytes, so that
// records stay small and their strings compare fast. A direct-mapped cache
// (one hash, one compare) rather than a map: a miss only costs a copy.
func (d *fastDecoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	e := &d.interned[maphash.Bytes(d.seed, b)&(internSlots-1)]
	if *e == string(b) {
		return *e
	}
	*e = string(b)
	return *e
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *fastDecoder) ws() {
	// Felix writes no whitespace: one compare for the common case
	for d.i < len(d.b) && d.b[d.i] <= ' ' && isWS(d.b[d.i]) {
		d.i++
	}
}

func (d *fastDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// next reads what follows a member of an object or an element of an
// array, as encoding/json's scanner accepts it: a comma (more follows; the
// whitespace after it is skipped) or end, the closing bracket (ok, no
// more); anything else is malformed (not ok).
func (d *fastDecoder) next(end byte) (more, ok bool) {
	d.ws()
	switch d.peek() {
	case ',':
		d.i++
		d.ws()
		return true, true
	case end:
		d.i++
		return false, true
	}
	return false, false
}

// flow-log fields, by key
const (
	kNone = iota
	kStartTime
	kEndTime
	kSourceIP
	kSourceName
	kSourceNameAggr
	kSourceNamespace
	kSourcePort
	kSourceType
	kSourceLabels
	kDestIP
	kDestName
	kDestNameAggr
	kDestNamespace
	kDestPort
	kDestType
	kDestLabels
	kDestServiceNamespace
	kDestServiceName
	kDestDomains
	kProto
	kAction
	kReporter
	kNumFlows
	kHost
	kPolicies
	kFold // a key equal to a field name but for case: left to encoding/json
	kShape
)

func fieldOf(key []byte) int {
	if k := exactField(key); k != kNone {
		return k
	}
	// encoding/json matches keys case-insensitively: a key that folds to
	// a field name (or to one of the other shapes) is not for the fast path
	var low [32]byte
	if len(key) > len(low) {
		return kNone
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c >= 0x80 {
			return kFold // Unicode case folding (K → k): be safe
		}
		low[i] = c
	}
	if exactField(low[:len(key)]) != kNone {
		return kFold
	}
	return kNone
}

func exactField(key []byte) int {
	switch string(key) {
	case "start_time":
		return kStartTime
	case "end_time":
		return kEndTime
	case "source_ip":
		return kSourceIP
	case "source_name":
		return kSourceName
	case "source_name_aggr":
		return kSourceNameAggr
	case "source_namespace":
		return kSourceNamespace
	case "source_port":
		return kSourcePort
	case "source_type":
		return kSourceType
	case "source_labels":
		return kSourceLabels
	case "dest_ip":
		return kDestIP
	case "dest_name":
		return kDestName
	case "dest_name_aggr":
		return kDestNameAggr
	case "dest_namespace":
		return kDestNamespace
	case "dest_port":
		return kDestPort
	case "dest_type":
		return kDestType
	case "dest_labels":
		return kDestLabels
	case "dest_service_namespace":
		return kDestServiceNamespace
	case "dest_service_name":
		return kDestServiceName
	case "dest_domains":
		return kDestDomains
	case "proto":
		return kProto
	case "action":
		return kAction
	case "reporter":
		return kReporter
	case "num_flows":
		return kNumFlows
	case "host":
		return kHost
	case "policies":
		return kPolicies
	case "_source", "hits":
		return kShape
	}
	return kNone
}

// flowLog reads a flat flow-log object; false when the line is not one
// the fast path takes.
func (d *fastDecoder) flowLog(b []byte, f *FlowLog) bool {
	d.b, d.i = b, 0
	d.lines++
	d.src, d.dst = epLabels{}, epLabels{}
	d.ws()
	if d.peek() != '{' {
		return false
	}
	d.i++
	d.ws()
	var seen uint32
	shape := false // reporter or source_type present (DecodeDocument's check)
	if d.peek() == '}' {
		d.i++
	} else {
		// a streak of unknown members each equal to the last line's, from
		// position streakN (at streakAt in the line), of streakLen members
		// ending at streakEnd
		streakN, streakAt, streakEnd, streakLen := 0, 0, 0, 0
		for n := 0; ; n++ {
			// unknown members equal, all together, to the ones from this
			// position on earlier lines have no effect and need neither
			// scan nor validation
			if n < len(d.pred) && d.pred[n].runN > 0 && d.run(n) {
				n += d.pred[n].runN - 1
				streakLen = 0
				goto next
			}
			// a field equal, key and value, to the one at this position
			// on the last line needs neither scan nor validation
			{
				at := d.i
				if k, ok := d.repeated(n, f, &seen); ok {
					if k == kNone {
						if streakLen == 0 {
							streakN, streakAt = n, at
						}
						streakLen++
						streakEnd = d.i
						goto next
					}
					if k == kReporter || k == kSourceType {
						shape = true
					}
				} else if !d.member(n, f, &seen, &shape) {
					return false
				}
				if streakLen > 1 {
					d.keepRun(streakN, streakAt, streakEnd, streakLen)
				}
				streakLen = 0
			}
		next:
			// Felix writes no whitespace: a comma and the next key's
			// quote need no whitespace scan
			if d.i+1 < len(d.b) && d.b[d.i] == ',' && d.b[d.i+1] == '"' {
				d.i++
				continue
			}
			more, ok := d.next('}')
			if !ok {
				return false
			}
			if more {
				continue
			}
			if streakLen > 1 {
				d.keepRun(streakN, streakAt, streakEnd, streakLen)
			}
			break
		}
	}
	d.ws()
	return d.i == len(d.b) && shape
}

// member reads the n-th member of the object (key, colon, value) into f.
func (d *fastDecoder) member(n int, f *FlowLog, seen *uint32, shape *bool) bool {
	start := d.i
	// lines of one file repeat their key order: the key seen at
	// this position last time, compared whole, spares the scan
	// and the lookup
	var k int
	if p := d.predicted(n); p != nil {
		k = p.k
	} else {
		key, esc, ok := d.str2()
		if !ok || esc {
			return false
		}
		k = fieldOf(key)
		d.remember(n, key, k)
	}
	if d.i < len(d.b) && d.b[d.i] == ':' {
		d.i++
	} else {
		d.ws()
		if d.peek() != ':' {
			return false
		}
		d.i++
	}
	d.ws()
	switch k {
	case kFold, kShape:
		return false
	case kNone:
		if !d.skip(0) {
			return false
		}
	default:
		if *seen&(1<<k) != 0 {
			return false
		}
		*seen |= 1 << k
		if k == kReporter || k == kSourceType {
			*shape = true
		}
		valStart := d.i
		if !d.field(k, f, *seen) {
			return false
		}
		d.keep(n, k, start, valStart, f)
		return true
	}
	d.keep(n, k, start, d.i, f)
	return true
}

// maxRepeat bounds the member a position remembers whole.
const maxRepeat = 512

// keep remembers the member (field k) just read at position n, from
// start, its value from val, with what it set in f: the next line's
// member at n is taken by repeated when it is equal.
func (d *fastDecoder) keep(n, k, start, val int, f *FlowLog) {
	if n >= len(d.pred) || d.i-start > maxRepeat {
		return
	}
	p := &d.pred[n]
	if p.k != k || (p.misses >= maxMisses && d.lines%retryEvery != 0) {
		return
	}
	p.kv = append(p.kv[:0], d.b[start:d.i]...)
	p.val = val - start
	// views are kept as offsets in the member (the line is not kept)
	view := func(s string) {
		p.off, p.len = -1, 0
		if len(s) > 0 {
			p.off, p.len = int(uintptr(unsafe.Pointer(unsafe.StringData(s)))-uintptr(unsafe.Pointer(&d.b[start]))), len(s)
		}
	}
	intVal := func(v *int64) {
		p.set, p.n = v != nil, 0
		if v != nil {
			p.n = *v
		}
	}
	switch k {
	case kStartTime:
		p.t = f.StartTime.Time
	case kEndTime:
		p.t = f.EndTime.Time
	case kSourceIP, kDestIP:
		ip := f.SourceIP
		if k == kDestIP {
			ip = f.DestIP
		}
		p.set = ip != nil
		if ip != nil {
			view(*ip)
		}
	case kSourcePort:
		intVal(f.SourcePort)
	case kDestPort:
		intVal(f.DestPort)
	case kNumFlows:
		intVal(f.NumFlows)
	case kSourceLabels:
		p.n = int64(d.src.n)
	case kDestLabels:
		p.n = int64(d.dst.n)
	case kHost:
		p.s = f.Host
	case kProto:
		view(string(f.Proto))
	case kDestDomains:
		p.list = f.DestDomains
	case kNone:
	default:
		view(*viewOf(k, f))
	}
}

// viewOf is the FlowLog field of a view field k.
func viewOf(k int, f *FlowLog) *string {
	switch k {
	case kSourceType:
		return &f.SourceType
	case kDestType:
		return &f.DestType
	case kDestServiceNamespace:
		return &f.DestServiceNamespace
	case kDestServiceName:
		return &f.DestServiceName
	case kAction:
		return &f.Action
	case kReporter:
		return &f.Reporter
	case kSourceName:
		return &f.SourceName
	case kSourceNameAggr:
		return &f.SourceNameAggr
	case kSourceNamespace:
		return &f.SourceNamespace
	case kDestName:
		return &f.DestName
	case kDestNameAggr:
		return &f.DestNameAggr
	case kDestNamespace:
		return &f.DestNamespace
	case kPolicies:
		return (*string)(&f.Policies)
	}
	panic("calico: viewOf a field that is not a view")
}

// repeated takes the n-th member when it is, byte for byte, the one kept
// at n and followed by a delimiter: then it is the same key and a value
// already validated, and sets in f what it set then. It returns the
// member's field.
func (d *fastDecoder) repeated(n int, f *FlowLog, seen *uint32) (int, bool) {
	if n >= len(d.pred) {
		return 0, false
	}
	p := &d.pred[n]
	if p.misses >= maxMisses && d.lines%retryEvery != 0 {
		// a member that keeps changing is not compared (nor kept, see
		// keep) but on every retryEvery-th line
		return 0, false
	}
	start, end := d.i, d.i+len(p.kv)
	if len(p.kv) == 0 || end > len(d.b) || string(d.b[start:end]) != string(p.kv) || !jsonscan.Delim(d.b, end) {
		p.misses = min(p.misses+1, maxMisses)
		return 0, false
	}
	p.misses = 0
	k := p.k
	if k != kNone {
		if *seen&(1<<k) != 0 {
			return 0, false
		}
		*seen |= 1 << k
	}
	view := func() string {
		if p.off < 0 {
			return ""
		}
		return unsafe.String(&d.b[start+p.off], p.len)
	}
	intVal := func(store *int64) *int64 {
		if !p.set {
			return nil
		}
		*store = p.n
		return store
	}
	switch k {
	case kNone:
	case kStartTime:
		f.StartTime.Time = p.t
	case kEndTime:
		f.EndTime.Time = p.t
	case kSourceIP:
		if p.set {
			d.vals.srcIP = view()
			f.SourceIP = &d.vals.srcIP
		}
	case kDestIP:
		if p.set {
			d.vals.dstIP = view()
			f.DestIP = &d.vals.dstIP
		}
	case kSourcePort:
		f.SourcePort = intVal(&d.vals.srcPort)
	case kDestPort:
		f.DestPort = intVal(&d.vals.dstPort)
	case kNumFlows:
		f.NumFlows = intVal(&d.vals.numFlows)
	case kSourceLabels:
		d.src.raw, d.src.n = d.b[start+p.val:end], int(p.n)
	case kDestLabels:
		d.dst.raw, d.dst.n = d.b[start+p.val:end], int(p.n)
	case kHost:
		f.Host = p.s
	case kProto:
		f.Proto = Proto(view())
	case kDestDomains:
		f.DestDomains = p.list
	default:
		*viewOf(k, f) = view()
	}
	d.i = end
	return k, true
}

// predKey is the key last seen at one position of a line, quoted, and
// its field.
type predKey struct {
	quoted string
	k      int
	// kv is the whole member last read at this position, val its
	// value's offset, and the rest what it set in the FlowLog (see keep)
	kv       []byte
	val      int
	off, len int // a view's offset in kv and length (off -1: empty)
	set      bool
	n        int64
	t        time.Time
	s        string
	list     []string
	// misses counts the lines in a row whose member at this position
	// was not the kept one (up to maxMisses)
	misses uint8
	// run is runN unknown members from this position, as they were on an
	// earlier line, each equal to the one before it there (see run)
	run  []byte
	runN int
}

// maxRun bounds the bytes of a run of members.
const maxRun = 4096

// keepRun remembers the n unknown members at position pos, d.b[start:end],
// as a run: each was equal to the member kept at its position.
func (d *fastDecoder) keepRun(pos, start, end, n int) {
	if end-start > maxRun {
		return
	}
	p := &d.pred[pos]
	p.run, p.runN = append(p.run[:0], d.b[start:end]...), n
}

// run takes the run of unknown members at position n when the bytes at d.i
// are that run and followed by a delimiter: they are the same members, in
// the same order, already validated. A run that is not there is dropped
// (the members are then read one by one, and may make a run again).
func (d *fastDecoder) run(n int) bool {
	p := &d.pred[n]
	end := d.i + len(p.run)
	if end <= len(d.b) && string(d.b[d.i:end]) == string(p.run) && jsonscan.Delim(d.b, end) {
		d.i = end
		return true
	}
	p.runN = 0
	return false
}

// A position whose member was not the kept one on maxMisses lines in a
// row is compared and kept on every retryEvery-th line only (source
// ports, byte counts, the endpoints of shuffled lines change every time).
const (
	maxMisses  = 8
	retryEvery = 16
)

// maxPredKeys bounds the positions predicted.
const maxPredKeys = 64

// predicted returns the prediction for the n-th key of the line when the
// bytes at d.i are that key, quoted, and consumes them.
func (d *fastDecoder) predicted(n int) *predKey {
	if n >= len(d.pred) {
		return nil
	}
	p := &d.pred[n]
	if len(p.quoted) == 0 || len(d.b)-d.i < len(p.quoted) || string(d.b[d.i:d.i+len(p.quoted)]) != p.quoted {
		return nil
	}
	d.i += len(p.quoted)
	return p
}

// remember records key (just read, without escapes) as the n-th key's
// prediction.
func (d *fastDecoder) remember(n int, key []byte, k int) {
	if n >= maxPredKeys {
		return
	}
	for len(d.pred) <= n {
		d.pred = append(d.pred, predKey{})
	}
	p := &d.pred[n]
	p.quoted, p.k, p.kv = `"`+string(key)+`"`, k, p.kv[:0]
}

// field reads the value of a known field into f.
func (d *fastDecoder) field(k int, f *FlowLog, seen uint32) bool {
	switch k {
	case kStartTime:
		return d.epoch(&f.StartTime)
	case kEndTime:
		return d.epoch(&f.EndTime)
	case kSourceIP:
		return d.strPtr(&f.SourceIP, &d.vals.srcIP)
	case kDestIP:
		return d.strPtr(&f.DestIP, &d.vals.dstIP)
	// fields Convert only compares: views of the line, no copy (the
	// FlowLog does not outlive decode)
	case kSourceType:
		return d.view(&f.SourceType)
	case kDestType:
		return d.view(&f.DestType)
	case kDestServiceNamespace:
		return d.view(&f.DestServiceNamespace)
	case kDestServiceName:
		return d.view(&f.DestServiceName)
	case kAction:
		return d.view(&f.Action)
	case kReporter:
		return d.view(&f.Reporter)
	// endpoint fields: d.endpoint copies what it keeps
	case kSourceName:
		return d.view(&f.SourceName)
	case kSourceNameAggr:
		return d.view(&f.SourceNameAggr)
	case kSourceNamespace:
		return d.view(&f.SourceNamespace)
	case kDestName:
		return d.view(&f.DestName)
	case kDestNameAggr:
		return d.view(&f.DestNameAggr)
	case kDestNamespace:
		return d.view(&f.DestNamespace)
	case kHost:
		return d.string(&f.Host)
	case kPolicies:
		// kept raw, a view (RawJSON.DeniedBy copies what it keeps)
		start := d.i
		if !d.skip(0) {
			return false
		}
		f.Policies = RawJSON(unsafe.String(&d.b[start], d.i-start))
		return true
	case kSourcePort:
		return d.intPtr(&f.SourcePort, &d.vals.srcPort)
	case kDestPort:
		return d.intPtr(&f.DestPort, &d.vals.dstPort)
	case kNumFlows:
		return d.intPtr(&f.NumFlows, &d.vals.numFlows)
	case kSourceLabels:
		return d.labelsOf(&d.src, seen, srcFields, f.SourceType, f.SourceName, f.SourceNameAggr, f.SourceNamespace, f.SourceIP)
	case kDestLabels:
		return d.labelsOf(&d.dst, seen, dstFields, f.DestType, f.DestName, f.DestNameAggr, f.DestNamespace, f.DestIP)
	case kDestDomains:
		if d.null() {
			return true
		}
		l, _, ok := d.stringList(true)
		f.DestDomains = l
		return ok
	case kProto:
		if d.null() {
			return true
		}
		if d.peek() == '"' {
			s, esc, ok := d.str2()
			if !ok || esc {
				return false
			}
			f.Proto = Proto(unsafe.String(unsafe.SliceData(s), len(s)))
			return true
		}
		n, raw, ok := d.integer()
		if !ok || n < 0 || n > 255 || (len(raw) > 1 && raw[0] == '0') {
			return false
		}
		f.Proto = Proto(unsafe.String(unsafe.SliceData(raw), len(raw)))
		return true
	}
	return false
}

// epLabels is an endpoint's label field of the line being decoded: its
// raw bytes and how many labels it holds (wep endpoints get their maps
// from the cache), and the endpoint's template when found as the field was
// read (see atLabels).
type epLabels struct {
	raw []byte
	n   int
	t   *epTemplate
}

// labelsOf reads the label field at d.i of the endpoint whose other fields
// (fields, the bits of seen that name them) are typ, name, aggr, ns and ip
// into l.
func (d *fastDecoder) labelsOf(l *epLabels, seen, fields uint32, typ, name, aggr, ns string, ip *string) bool {
	start := d.i
	if t := d.atLabels(seen, fields, typ, name, aggr, ns, ip); t != nil {
		l.raw, l.n, l.t = d.b[start:d.i], t.n, t
		return true
	}
	n, ok := d.labelField(nil, false)
	l.raw, l.n = d.b[start:d.i], n
	return ok
}

// null consumes a null literal.
func (d *fastDecoder) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" && jsonscan.Delim(d.b, d.i+4) {
		d.i += 4
		return true
	}
	return false
}

// string reads a JSON string without escapes into s (null leaves s as
// encoding/json does: unchanged).
func (d *fastDecoder) string(s *string) bool { return d.readString(s, false) }

// view is string for a value only compared during decode: it aliases the
// line.
func (d *fastDecoder) view(s *string) bool { return d.readString(s, true) }

// readString is string (alias false: s gets its own copy, interned) and
// view (alias true).
func (d *fastDecoder) readString(s *string, alias bool) bool {
	if d.null() {
		return true
	}
	v, esc, ok := d.str2()
	if !ok || esc {
		return false
	}
	if alias {
		*s = unsafe.String(unsafe.SliceData(v), len(v))
	} else {
		*s = d.str(v)
	}
	return true
}

// strPtr reads an address: only parsed during decode, so a view too,
// held in store.
func (d *fastDecoder) strPtr(p **string, store *string) bool {
	if d.null() {
		return true
	}
	if !d.view(store) {
		return false
	}
	*p = store
	return true
}

// integer reads a JSON number that is a plain integer (no fraction, no
// exponent) in int64 range.
func (d *fastDecoder) integer() (int64, []byte, bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	ds := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == ds || (d.i-ds > 1 && d.b[ds] == '0') || !jsonscan.Delim(d.b, d.i) {
		return 0, nil, false
	}
	raw := d.b[start:d.i]
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
	return n, raw, err == nil
}

func (d *fastDecoder) intPtr(p **int64, store *int64) bool {
	if d.null() {
		return true
	}
	n, _, ok := d.integer()
	if !ok {
		return false
	}
	*store = n
	*p = store
	return true
}

// epoch reads Unix seconds or milliseconds as an integer, as
// Epoch.UnmarshalJSON does.
func (d *fastDecoder) epoch(e *Epoch) bool {
	if d.null() {
		e.Time = time.Time{}
		return true
	}
	n, _, ok := d.integer()
	if !ok || n < 0 || n >= 1<<53 {
		return false
	}
	f := float64(n)
	if f > 1e12 {
		f /= 1000
	}
	sec := int64(f)
	e.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	return true
}

// labelField reads null, ["k=v",…] or {"labels":["k=v",…]}: into *l when
// build, else only validated; n is the number of labels.
func (d *fastDecoder) labelField(l *Labels, build bool) (n int, ok bool) {
	switch d.peek() {
	case 'n':
		return 0, d.null()
	case '[':
		list, n, ok := d.stringList(build)
		if build {
			*l = list
		}
		return n, ok
	case '{':
		d.i++
		d.ws()
		key, esc, ok := d.str2()
		if !ok || esc || string(key) != "labels" {
			return 0, false
		}
		d.ws()
		if d.peek() != ':' {
			return 0, false
		}
		d.i++
		d.ws()
		if d.peek() != '[' {
			return 0, false
		}
		list, n, ok := d.stringList(build)
		if !ok {
			return 0, false
		}
		d.ws()
		if d.peek() != '}' {
			return 0, false
		}
		d.i++
		if build {
			*l = list
		}
		return n, true
	}
	return 0, false
}

// stringList reads an array of strings without escapes (building the
// list when build).
func (d *fastDecoder) stringList(build bool) ([]string, int, bool) {
	if d.peek() != '[' {
		return nil, 0, false
	}
	d.i++
	d.ws()
	var out []string
	if build {
		out = []string{}
	}
	if d.peek() == ']' {
		d.i++
		return out, 0, true
	}
	for n := 1; ; n++ {
		s, esc, ok := d.str2()
		if !ok || esc {
			return nil, 0, false
		}
		if build {
			out = append(out, d.str(s))
		}
		if more, ok := d.next(']'); !more {
			if !ok {
				return nil, 0, false
			}
			return out, n, true
		}
	}
}

// str2 reads a JSON string as encoding/json's scanner accepts it (no
// control characters, valid escapes; any other byte); esc reports escapes
// and non-ASCII bytes (encoding/json replaces invalid UTF-8 when it
// unquotes: such a value is not taken as it is).
func (d *fastDecoder) str2() (s []byte, esc, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	i := d.i + 1
	start := i
	for i < len(d.b) {
		i = jsonscan.PlainRun(d.b, i)
		if i >= len(d.b) {
			break
		}
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return d.b[start:i], esc, true
		case c == '\\':
			if i+1 >= len(d.b) {
				return nil, false, false
			}
			switch d.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d.b) {
					return nil, false, false
				}
				for _, h := range d.b[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				i += 6
			default:
				return nil, false, false
			}
			esc = true
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			esc = true
			i++
		default:
			i++
		}
	}
	return nil, false, false
}

// skip validates and skips any JSON value, as encoding/json's scanner
// checks it.
func (d *fastDecoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := d.peek(); {
	case c == '"':
		_, _, ok := d.str2()
		return ok
	case c == '{':
		d.i++
		d.ws()
		if d.peek() == '}' {
			d.i++
			return true
		}
		for {
			if _, _, ok := d.str2(); !ok {
				return false
			}
			d.ws()
			if d.peek() != ':' {
				return false
			}
			d.i++
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			if more, ok := d.next('}'); !more {
				return ok
			}
		}
	case c == '[':
		d.i++
		d.ws()
		if d.peek() == ']' {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if more, ok := d.next(']'); !more {
				return ok
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.null()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return false
}

func (d *fastDecoder) literal(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s && jsonscan.Delim(d.b, d.i+len(s)) {
		d.i += len(s)
		return true
	}
	return false
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	b, i := d.b, d.i
	digits := func() int {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	if !jsonscan.Delim(d.b, i) {
		return false
	}
	d.i = i
	return true
}
