package learner

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flowfence/flowfence/record"
)

// SkipUnaddressed counts flows between a workload and an external peer
// whose address the source did not record: kept apart in
// Graph.Unaddressed and reported, never learned as an edge.
const SkipUnaddressed = "flows with an external peer without an address (Calico pub/pvt/NetworkSet aggregates, Goldmane): reported, never widened to 0.0.0.0/0"

// Unaddressed is traffic between a workload and a peer the source names
// but gives no address for — Calico's aggregated `pub`/`pvt` networks,
// NetworkSets and host endpoints with null IPs, and every external peer of
// Goldmane, which records no IPs at all. Such a peer cannot become an
// ipBlock and is never widened to 0.0.0.0/0: it is kept apart from the
// learned edges and reported, so the user can add the addresses (or a
// NetworkSet rule) themselves.
type Unaddressed struct {
	// Workload is the graph node id of the workload side.
	Workload string `json:"workload"`
	// Direction is egress when the workload called the peer, ingress when
	// the peer called the workload.
	Direction string `json:"direction"`
	// Peer names the peer as the source did: "pub", "pvt",
	// "NetworkSet ns/name", "GlobalNetworkSet name", "HostEndpoint name".
	Peer string `json:"peer"`
	// Names are DNS names the source knew for the peer (Calico dest_domains).
	Names     []string  `json:"names,omitempty"`
	Proto     string    `json:"proto"`
	Port      uint16    `json:"port,omitempty"`
	Flows     uint64    `json:"flows"`
	Dropped   uint64    `json:"dropped,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// Unaddressed directions.
const (
	DirEgress  = "egress"
	DirIngress = "ingress"
)

// UnaddressedKey identifies an Unaddressed entry.
type UnaddressedKey struct {
	Workload, Direction, Peer, Proto string
	Port                             uint16
}

// Key returns u's key.
func (u *Unaddressed) Key() UnaddressedKey {
	return UnaddressedKey{Workload: u.Workload, Direction: u.Direction, Peer: u.Peer, Proto: u.Proto, Port: u.Port}
}

// SortedUnaddressed returns the entries sorted by key.
func SortedUnaddressed(m map[UnaddressedKey]*Unaddressed) []*Unaddressed {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b *Unaddressed) int {
		return cmp.Or(cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Peer, b.Peer),
			cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port))
	})
	return out
}

// isUnaddressedPeer reports an endpoint that is neither a pod nor an
// address: a peer an aggregating source only names.
func isUnaddressedPeer(ep *record.Endpoint) bool {
	return !ep.IsPod() && !ep.IP.IsValid() && ep.Aggregated && ep.WorkloadName != ""
}

// unaddressedPeer is how an unaddressed peer is named in the graph: the
// source's kind and name ("pub", "NetworkSet ns/name").
func unaddressedPeer(ep *record.Endpoint) string {
	name := ep.WorkloadName
	if ep.Namespace != "" && !strings.Contains(name, "/") {
		name = ep.Namespace + "/" + name
	}
	if ep.WorkloadKind == "" {
		return name
	}
	return ep.WorkloadKind + " " + name
}

// addUnaddressed records r when exactly one side is a pod and the other an
// unaddressed peer; it reports whether it took the record.
func (l *Learner) addUnaddressed(r *record.Record, at time.Time, d flowDelta) bool {
	var pod, peer *record.Endpoint
	dir := DirEgress
	switch {
	case isUnaddressedPeer(&r.Dst) && r.Src.IsPod():
		pod, peer = &r.Src, &r.Dst
	case isUnaddressedPeer(&r.Src) && r.Dst.IsPod():
		pod, peer, dir = &r.Dst, &r.Src, DirIngress
	default:
		return false
	}
	id, kind, ok := l.nodeID(pod)
	if !ok {
		return false
	}
	l.touch(pod, id, kind, at)
	port := r.Dst.Port
	if !r.Proto.HasPorts() {
		port = 0
	}
	u := &Unaddressed{Workload: id, Direction: dir, Peer: unaddressedPeer(peer), Proto: r.Proto.String(), Port: port, FirstSeen: at, LastSeen: at}
	k := u.Key()
	if cur := l.g.Unaddressed[k]; cur != nil {
		u = cur
	} else {
		l.g.Unaddressed[k] = u
	}
	u.FirstSeen = minTime(u.FirstSeen, at)
	u.LastSeen = maxTime(u.LastSeen, at)
	addFlows(&u.Flows, d.flowed)
	u.Dropped = saturatingAdd(u.Dropped, d.dropped)
	for _, n := range peer.Names {
		u.Names = insertSorted(u.Names, strings.TrimSuffix(n, "."), maxNames)
	}
	l.g.Stats.skip(SkipUnaddressed, d.requests)
	return true
}

func mergeUnaddressed(dst, src map[UnaddressedKey]*Unaddressed, id func(string) string) {
	for _, u := range SortedUnaddressed(src) {
		c := *u
		c.Names = slices.Clone(u.Names)
		if id != nil {
			c.Workload = id(u.Workload)
		}
		k := c.Key()
		cur, ok := dst[k]
		if !ok {
			dst[k] = &c
			continue
		}
		cur.Flows = saturatingAdd(cur.Flows, c.Flows)
		cur.Dropped = saturatingAdd(cur.Dropped, c.Dropped)
		cur.FirstSeen = minTime(cur.FirstSeen, c.FirstSeen)
		cur.LastSeen = maxTime(cur.LastSeen, c.LastSeen)
		cur.Names = unionCapped(cur.Names, c.Names, maxNames)
	}
}

func readUnaddressed(name string, g *Graph, us []*Unaddressed) error {
	for i, u := range us {
		if u == nil {
			return fmt.Errorf("%s: unaddressed %d is null", name, i)
		}
		if _, ok := record.ParseProtocol(u.Proto); !ok {
			return fmt.Errorf("%s: unaddressed %d: unknown protocol %q", name, i, u.Proto)
		}
		if g.Nodes[u.Workload] == nil {
			return fmt.Errorf("%s: unaddressed %d names an unknown node %s", name, i, u.Workload)
		}
		if u.Direction != DirEgress && u.Direction != DirIngress {
			return fmt.Errorf("%s: unaddressed %d: direction %q (want egress or ingress)", name, i, u.Direction)
		}
		g.Unaddressed[u.Key()] = u
	}
	return nil
}
