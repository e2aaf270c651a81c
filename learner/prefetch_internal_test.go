package learner

import (
	"net/netip"
	"testing"
	"time"

	"github.com/flowfence/flowfence/record"
)

// TestPrefetchTargets: what Prefetch asks for is what Add reads: the
// entries of the record's pods, the slot of its edge (found by its tag
// alone, then verified) holding the learned edge and its reporter merge
// state, and the dedupe set's slot of its uuid. Records it cannot place
// (replies, no memo, another learner's memo, an edge in no slot) ask for
// nothing.
func TestPrefetchTargets(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	memos := map[string]*record.EndpointMemo{}
	ep := func(pod string, port uint16) record.Endpoint {
		e := record.Endpoint{Namespace: "shop", Pod: pod, IP: netip.MustParseAddr("10.0.0.1"), Port: port,
			Labels: map[string]string{"app": pod[:len(pod)-2]}}
		if memos[pod] == nil {
			memos[pod] = &record.EndpointMemo{}
		}
		e.SetMemo(memos[pod])
		return e
	}
	req := func(src, dst string, port uint16) *record.Record {
		return &record.Record{Time: at, Src: ep(src, 40000), Dst: ep(dst, port), Proto: record.TCP,
			Verdict: record.Forwarded, Direction: record.Request, Reporter: record.ReporterSrc, Count: 1}
	}
	l := New(Options{})
	// the first record makes the edge, the second puts it in a slot, the
	// third its merge state
	l.Add(req("web-1", "db-1", 5432))
	l.Add(req("web-1", "db-1", 5432))
	// a uuid, for the dedupe window
	withUUID := req("web-1", "db-1", 5432)
	withUUID.UUID = "6c1a7e0e-8f7a-4b5e-9c2d-3f4e5a6b7c8d"
	l.Add(withUUID)
	// records made again: their endpoints now note the learner's entries
	r := req("web-1", "db-1", 5432)

	src, dst := l.prefetchRef(r, &r.Src), l.prefetchRef(r, &r.Dst)
	if want := l.nodeIDs.pods[podRefKey{"shop", "web-1"}]; src == nil || src != want {
		t.Fatalf("source entry %p, the learner's %p", src, want)
	}
	if want := l.nodeIDs.pods[podRefKey{"shop", "db-1"}]; dst == nil || dst != want {
		t.Fatalf("destination entry %p, the learner's %p", dst, want)
	}
	e := l.g.Edges[EdgeKey{Src: src.id, Dst: dst.id, Proto: record.TCP, Port: 5432}]
	if e == nil {
		t.Fatal("the edge was not learned")
	}
	tagged, verified := l.prefetchSlot(r, false), l.prefetchSlot(r, true)
	if verified == nil || verified.e != e || tagged != verified {
		t.Fatalf("slots by tag %p and verified %p; want the one of the edge", tagged, verified)
	}
	if verified.rep == nil || verified.rep != l.reported[reporterKey{src: src.id, dst: dst.id, proto: record.TCP, port: 5432, hour: hourOf(at)}] {
		t.Fatal("the slot's merge state is not the edge's")
	}
	k, ok := parseUUID(withUUID.UUID)
	if s := &l.uuids.canon; !ok || s.slots[s.slot(k)] != k {
		t.Fatal("the uuid is not in the slot Prefetch asks for")
	}

	for _, c := range []struct {
		name string
		r    *record.Record
	}{
		{"a reply", func() *record.Record { r := req("db-1", "web-1", 40000); r.Direction = record.Reply; return r }()},
		{"no memos", func() *record.Record { r := req("web-1", "db-1", 5432); r.Src.Memo, r.Dst.Memo = nil, nil; return r }()},
		{"another learner's memos", func() *record.Record {
			r := req("web-1", "db-1", 5432)
			New(Options{}).Add(r)
			return req("web-1", "db-1", 5432)
		}()},
		{"an edge in no slot", req("web-1", "db-1", 6432)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "an edge in no slot" && (l.prefetchRef(c.r, &c.r.Src) != nil || l.prefetchRef(c.r, &c.r.Dst) != nil) {
				t.Error("an entry to find the edge slot of a record whose edge Add does not look up in the slots")
			}
			if l.prefetchSlot(c.r, true) != nil {
				t.Error("a slot for an edge Add looks up otherwise")
			}
			l.Prefetch([]*record.Record{c.r}) // and nothing breaks
		})
	}
}
