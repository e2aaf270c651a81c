package learner

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/flowfence/flowfence/record"
)

// The inline FNV-1a of tupleHash is hash/fnv's: graphs store these hashes,
// so they must never change.
func TestTupleHashIsFNV(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		var a, b [16]byte
		for j := range a {
			a[j], b[j] = byte(r.Uint32()), byte(r.Uint32())
		}
		rec := record.Record{Proto: record.Protocol(r.IntN(6))}
		rec.Src.IP, rec.Dst.IP = netip.AddrFrom16(a), netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
		if i%3 == 0 {
			rec.Src.IP = netip.Addr{}
		}
		rec.Src.Port, rec.Dst.Port = uint16(r.Uint32()), uint16(r.Uint32())
		h := fnv.New64a()
		x := rec.Src.IP.As16()
		h.Write(x[:])
		x = rec.Dst.IP.As16()
		h.Write(x[:])
		h.Write([]byte{byte(rec.Src.Port >> 8), byte(rec.Src.Port), byte(rec.Dst.Port >> 8), byte(rec.Dst.Port), byte(rec.Proto)})
		if got, want := tupleHash(&rec), h.Sum64(); got != want {
			t.Fatalf("tuple %+v: %x, hash/fnv says %x", rec, got, want)
		}
	}
}

// nodeID (cached) agrees with computeNodeID whatever changes between two
// records of one pod: labels (same map mutated is not allowed; a new map),
// workload, cluster, entity, address.
func TestNodeIDCache(t *testing.T) {
	l := New(Options{})
	shared := map[string]string{"app": "a", "pod-template-hash": "7d4b9c8f5"}
	eps := []record.Endpoint{
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared},
		// same pod, a labels map that derives another workload
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: map[string]string{"batch.kubernetes.io/job-name": "web-job"}},
		// same pod, an equal but different map
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: map[string]string{"app": "a", "pod-template-hash": "7d4b9c8f5"}},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared, WorkloadKind: "Deployment", WorkloadName: "web"},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared, Cluster: "east"},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared, Cluster: "default"},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared, WorkloadKind: "ReplicaSet", WorkloadName: "web-7d4b9c8f5"},
		{Namespace: "ns", Pod: "web-7d4b9c8f5-*", Labels: shared, Aggregated: true},
		{Namespace: "ns", Pod: "", Labels: shared},
		{Namespace: "other", Pod: "web-7d4b9c8f5-x2x7q", Labels: shared},
		{Entity: record.EntityWorld, IP: netip.MustParseAddr("192.0.2.1")},
		{Entity: record.EntityWorld},
		{Entity: record.EntityUnknown, IP: netip.MustParseAddr("::ffff:192.0.2.1")},
		{Entity: record.EntityUnknown},
		{Entity: record.EntityHost, IP: netip.MustParseAddr("10.0.0.1")},
		{Entity: record.EntityHost},
		{Namespace: "ns", Pod: "p", Entity: record.EntityHost, IP: netip.MustParseAddr("10.0.0.1")},
		{},
	}
	// the same endpoints as a memoizing decoder gives them: one ID per
	// endpoint value, shared by its copies (those with an equal labels map
	// but another map get their own)
	n := len(eps)
	for i := range n {
		ep := eps[i]
		if ep.IsPod() {
			ep.ID = record.NewEndpointID()
			eps = append(eps, ep, ep)
		}
	}
	for round := 0; round < 3; round++ {
		for i := range eps {
			ep := &eps[i]
			id, kind, ok := l.nodeID(ep)
			wid, wkind, wok := l.computeNodeID(ep)
			if id != wid || kind != wkind || ok != wok {
				t.Fatalf("round %d endpoint %d %+v: nodeID %q %q %v, computeNodeID %q %q %v", round, i, ep, id, kind, ok, wid, wkind, wok)
			}
		}
	}
}

// uuidWindow answers as the plain ring of strings it replaced.
func TestUUIDWindowIsAStringWindow(t *testing.T) {
	const n = 50
	var ref struct {
		set  map[string]struct{}
		ring []string
		pos  int
	}
	ref.set = map[string]struct{}{}
	refSeen := func(id string) bool {
		if _, ok := ref.set[id]; ok {
			return true
		}
		if len(ref.ring) < n {
			ref.ring = append(ref.ring, id)
		} else {
			delete(ref.set, ref.ring[ref.pos])
			ref.ring[ref.pos] = id
			ref.pos = (ref.pos + 1) % len(ref.ring)
		}
		ref.set[id] = struct{}{}
		return false
	}
	w := uuidWindow{n: n}
	r := rand.New(rand.NewPCG(3, 4))
	ids := []string{"x", "", "ABCDEF01-2345-6789-abcd-ef0123456789", "abcdef01-2345-6789-abcd-ef0123456789",
		"abcdef01-2345-6789-abcd-ef012345678", "abcdef01x2345-6789-abcd-ef0123456789"}
	for i := 0; i < 200; i++ {
		ids = append(ids, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1)))
	}
	for i := 0; i < 20000; i++ {
		id := ids[r.IntN(len(ids))]
		if got, want := w.seen(id), refSeen(id); got != want {
			t.Fatalf("step %d: seen(%q) = %v, a string window says %v", i, id, got, want)
		}
	}
}

// uuidSet behaves as a set under random adds and removes (collisions
// forced by a tiny table).
func TestUUIDSet(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var s uuidSet
	ref := map[uuidKey]bool{}
	keys := make([]uuidKey, 300)
	for i := range keys {
		keys[i] = uuidKey{r.Uint64() % 50, r.Uint64() % 3}
	}
	keys[0] = uuidKey{}
	for i := 0; i < 100000; i++ {
		k := keys[r.IntN(len(keys))]
		if s.has(k) != ref[k] {
			t.Fatalf("step %d: has(%v) = %v, want %v", i, k, s.has(k), ref[k])
		}
		if ref[k] {
			s.remove(k)
			delete(ref, k)
		} else {
			s.add(k, 8)
			ref[k] = true
		}
	}
}

func TestParseUUID(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for range 1000 {
		a, b := r.Uint64(), r.Uint64()
		s := fmt.Sprintf("%016x%016x", a, b)
		s = s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
		k, ok := parseUUID(s)
		if !ok || k != (uuidKey{a, b}) {
			t.Fatalf("parseUUID(%q) = %x, %v; want %x %x", s, k, ok, a, b)
		}
		// every single-byte corruption is rejected: another digit case,
		// a non-hex byte, a dash moved
		for i := range len(s) {
			for _, c := range []byte{'A', 'F', 'g', '-', ' ', 0, 0xff} {
				if c == s[i] {
					continue
				}
				bad := []byte(s)
				bad[i] = c
				if _, ok := parseUUID(string(bad)); ok {
					t.Fatalf("parseUUID(%q) accepted a corrupt uuid", bad)
				}
			}
		}
	}
	for _, s := range []string{"", "086f9e76-8a25-49a0-8b56-19b25f478ac", "086f9e76-8a25-49a0-8b56-19b25f478acbb", "086f9e768a2549a08b5619b25f478acb"} {
		if _, ok := parseUUID(s); ok {
			t.Errorf("parseUUID(%q) accepted", s)
		}
	}
}

// The learner's shortcuts for lists it already holds an entry in (a pod in
// its node's Pods, an observing node in an edge's NodesSeen) keep the
// lists' capped semantics: the smallest names, whatever the order, when
// more pods and nodes than the caps stream by, repeatedly and interleaved.
func TestCappedListsWithShortcuts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const pods, nodes = maxPods + 40, maxNodesSeen + 30
	server := podEP("db", "db-0", "10.1.0.1", 5432, map[string]string{"app": "db"})
	labels := map[string]string{"app": "web"}
	var recs []*record.Record
	for i := range 6000 {
		p := r.IntN(pods)
		// an ID per pod, as a decoder gives: the ID path of nodeID too
		src := podEP("web", fmt.Sprintf("web-7d4b9c8f5-%05d", p), "10.0.0.1", 40000, labels)
		src.WorkloadKind, src.WorkloadName = "Deployment", "web"
		rec := flow(at(i), src, server, record.TCP, record.Request, record.Forwarded, fmt.Sprintf("node-%03d", r.IntN(nodes)))
		recs = append(recs, rec)
	}
	ids := map[string]*record.EndpointID{}
	for _, rec := range recs {
		if ids[rec.Src.Pod] == nil {
			ids[rec.Src.Pod] = record.NewEndpointID()
		}
	}
	for _, withID := range []bool{false, true} {
		l := New(Options{})
		seenPods, seenNodes := map[string]bool{}, map[string]bool{}
		for _, rec := range recs {
			c := *rec
			if withID {
				c.Src.ID = ids[c.Src.Pod]
			}
			l.Add(&c)
			seenPods[c.Src.Pod], seenNodes[c.Node] = true, true
		}
		g := l.Graph()
		smallest := func(set map[string]bool, n int) []string {
			all := slices.Sorted(maps.Keys(set))
			return all[:min(n, len(all))]
		}
		web := g.Nodes["pod:web/web"]
		if web == nil || !slices.Equal(web.Pods, smallest(seenPods, maxPods)) {
			t.Fatalf("IDs %v: pods %v, want the %d smallest of %d", withID, web, maxPods, len(seenPods))
		}
		for _, e := range g.Edges {
			if !slices.Equal(e.NodesSeen, smallest(seenNodes, maxNodesSeen)) {
				t.Fatalf("IDs %v: nodes seen %v, want the %d smallest of %d", withID, e.NodesSeen, maxNodesSeen, len(seenNodes))
			}
		}
	}
}
