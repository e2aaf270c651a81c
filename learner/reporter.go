package learner

import (
	"time"

	"github.com/flowfence/flowfence/record"
)

// Connection records (Calico flow logs, Goldmane) come once per reporter:
// a connection between two endpoints Calico manages is reported by the
// source's node (reporter src) and by the destination's node (reporter
// dst). The learner merges them so a connection counts once:
//
//   - Counting: per edge (source, destination, protocol, port) and UTC hour
//     of the record's start time, the learner sums the connections each
//     reporter allowed and denied (srcAllow, srcDeny, dstAllow, dstDeny).
//     A connection the source denied never reaches the destination; one
//     the source allowed reaches it and is allowed or denied there. So the
//     connections are srcDeny + max(srcAllow, dstAllow+dstDeny), of which
//     srcDeny + dstDeny were denied and max(srcAllow−dstDeny, dstAllow)
//     flowed: a src `allow` with a dst `deny` is one denied attempt, not a
//     flow and a drop. The larger sum covers the hour where one node's logs
//     are incomplete (only the src reporter: what it allowed flowed, as far
//     as anyone knows). The counts are emitted incrementally (the change
//     of each figure), so streams need no buffering: a dst `deny` read after
//     the src `allow` of the same connections takes back the flows that
//     allow added. Felix nodes flush on their own timers: a connection
//     whose two records fall into different hours on the two nodes can be
//     counted in both.
//   - Judging: the destination's reporter is authoritative: an edge it ever
//     allowed (Record.Delivered) is learned; an edge it only denied is kept
//     apart as denied (unless --learn-dropped). Reporter records share one
//     judgement tuple per edge, since the two nodes may aggregate addresses
//     and ports differently (Felix aggregates allowed and denied flows at
//     different levels by default), so 5-tuples cannot be matched.
type reporterKey struct {
	src, dst string
	proto    record.Protocol
	port     uint16
	hour     int64
}

// reporterCount is the merge state of one reporterKey: each reporter's
// allowed and denied connections.
type reporterCount struct{ srcAllow, srcDeny, dstAllow, dstDeny uint64 }

// flowed is how many of the connections flowed: max(srcAllow−dstDeny,
// dstAllow).
func (c *reporterCount) flowed() uint64 {
	f := c.dstAllow
	if c.srcAllow > c.dstDeny {
		f = max(f, c.srcAllow-c.dstDeny)
	}
	return f
}

// denied is how many of the connections a policy denied.
func (c *reporterCount) denied() uint64 { return c.srcDeny + c.dstDeny }

// reporterTuple is the judgement tuple every reporter record of an edge
// shares.
const reporterTuple uint64 = 0x63616c69636f // "calico"

// flowDelta is what one record changes: requests (connections) counted,
// flowed requests (negative when a dst deny shows that connections the
// src reporter allowed were denied) and policy-denied requests.
type flowDelta struct {
	requests uint64
	flowed   int64
	dropped  uint64
}

// reporterFlows returns what r adds after merging it with the other
// reporter's records of the same edge and hour, and the out-edge slot it
// found the merge state in (nil when none): the edge's slot, for Add to
// take rather than look it up again. A record without a reporter adds its
// flows as they are.
func (l *Learner) reporterFlows(r *record.Record) (flowDelta, *edgeSlot) {
	n := r.Flows()
	own := flowDelta{requests: n, flowed: int64(n)}
	if r.Verdict == record.Dropped {
		own.flowed, own.dropped = 0, n
	}
	if r.Reporter == record.ReporterNone {
		return own, nil
	}
	src, ok1 := l.reporterID(&r.Src)
	dst, ok2 := l.reporterID(&r.Dst)
	if !ok1 || !ok2 {
		return own, nil
	}
	k := reporterKey{src: src, dst: dst, proto: r.Proto, port: r.Dst.Port, hour: hourOf(r.Time)}
	if !r.Proto.HasPorts() {
		k.port = 0
	}
	c, slot := l.reporterCount(&r.Src, k)
	f0, d0 := c.flowed(), c.denied()
	switch {
	case r.Reporter == record.ReporterSrc && r.Verdict == record.Dropped:
		c.srcDeny = saturatingAdd(c.srcDeny, n)
	case r.Reporter == record.ReporterSrc:
		c.srcAllow = saturatingAdd(c.srcAllow, n)
	case r.Verdict == record.Dropped:
		c.dstDeny = saturatingAdd(c.dstDeny, n)
	default:
		c.dstAllow = saturatingAdd(c.dstAllow, n)
	}
	f1, d1 := c.flowed(), c.denied()
	return flowDelta{requests: f1 + d1 - f0 - d0, flowed: int64(f1) - int64(f0), dropped: d1 - d0}, slot
}

// addFlows adds a signed flow count to an unsigned counter, never below 0
// (records of one connection that were learned apart, e.g. one skipped,
// cannot take back more than was added).
func addFlows(c *uint64, d int64) {
	if d >= 0 {
		*c = saturatingAdd(*c, uint64(d))
		return
	}
	*c -= min(*c, uint64(-d))
}

func (l *Learner) reporterID(ep *record.Endpoint) (string, bool) {
	if isUnaddressedPeer(ep) {
		return "peer:" + unaddressedPeer(ep), true
	}
	id, _, ok := l.nodeID(ep)
	return id, ok
}

// reporterCount returns the merge state of k, created when new, looked up
// in the slot of the edge among the recent out-edges of the source pod's
// node first (src is the record's source endpoint, which nodeID just
// resolved; the slot's edge has k's source, destination, protocol and
// port), and that slot (nil when there is none).
func (l *Learner) reporterCount(src *record.Endpoint, k reporterKey) (*reporterCount, *edgeSlot) {
	s := l.nodeIDs.hintFor(src, k.src).outSlots().slot(k.dst, k.proto, k.port)
	if s != nil && s.rep != nil && s.repHour == k.hour {
		return s.rep, s
	}
	if l.reported == nil {
		l.reported = map[reporterKey]*reporterCount{}
	}
	c := l.reported[k]
	if c == nil {
		c = &reporterCount{}
		l.reported[k] = c
	}
	if s != nil {
		// the learner never drops a merge state: the pointer stays the map's
		s.rep, s.repHour = c, k.hour
	}
	return c, s
}

// hourOf is the Unix time of t's UTC hour: t.UTC().Truncate(time.Hour)
// (hours since the zero time are whole hours of Unix time too).
func hourOf(t time.Time) int64 {
	u := t.Unix()
	return u - ((u%3600)+3600)%3600
}
