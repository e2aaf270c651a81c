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
//   - Counting: per edge (source, destination, protocol, port), verdict
//     (flowed or denied) and UTC hour of the record's start time, the
//     connections are the larger of the two reporters' sums. The reporters
//     normally agree, so this is the src reporter's count when both exist
//     and the one present otherwise; the larger sum covers the hour where
//     one node's logs are incomplete. The count is emitted incrementally
//     (the increase of that maximum), so streams need no buffering. Felix
//     nodes flush on their own timers: a connection whose two records fall
//     into different hours on the two nodes can be counted in both.
//   - Judging: a src `allow` with a dst `deny` for the same edge is a denied
//     attempt. The destination's reporter is authoritative: an edge it ever
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
	dropped  bool
}

type reporterCount struct{ src, dst uint64 }

// reporterTuple is the judgement tuple every reporter record of an edge
// shares.
const reporterTuple uint64 = 0x63616c69636f // "calico"

// reporterFlows returns how many new flows r adds after merging it with
// the other reporter's records of the same edge, verdict and hour.
func (l *Learner) reporterFlows(r *record.Record) uint64 {
	n := r.Flows()
	l.repSlot = nil
	if r.Reporter == record.ReporterNone {
		return n
	}
	src, ok1 := l.reporterID(&r.Src)
	dst, ok2 := l.reporterID(&r.Dst)
	if !ok1 || !ok2 {
		return n
	}
	k := reporterKey{src: src, dst: dst, proto: r.Proto, port: r.Dst.Port, hour: hourOf(r.Time), dropped: r.Verdict == record.Dropped}
	if !r.Proto.HasPorts() {
		k.port = 0
	}
	c := l.reporterCount(&r.Src, k)
	before := max(c.src, c.dst)
	if r.Reporter == record.ReporterSrc {
		c.src = saturatingAdd(c.src, n)
	} else {
		c.dst = saturatingAdd(c.dst, n)
	}
	return max(c.src, c.dst) - before
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
// port).
func (l *Learner) reporterCount(src *record.Endpoint, k reporterKey) *reporterCount {
	s := l.nodeIDs.hintFor(src, k.src).outSlots().slot(k.dst, k.proto, k.port)
	l.repSlot = s
	if s != nil && s.rep != nil && s.repHour == k.hour && s.repDropped == k.dropped {
		return s.rep
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
		s.rep, s.repHour, s.repDropped = c, k.hour, k.dropped
	}
	return c
}

// hourOf is the Unix time of t's UTC hour: t.UTC().Truncate(time.Hour)
// (hours since the zero time are whole hours of Unix time too).
func hourOf(t time.Time) int64 {
	u := t.Unix()
	return u - ((u%3600)+3600)%3600
}
