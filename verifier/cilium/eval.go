package cilium

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/verifier"
)

// flow is the per-evaluation state of both directions.
type flow struct {
	proto corev1.Protocol
	port  int32
	dst   *verifier.Peer
}

// newFlow canonicalises the protocol (TCP, UDP, SCTP in any case, empty
// meaning TCP; ICMP and ICMPv4 are ICMPv4) and takes an ICMP flow without
// a type as an echo request.
func newFlow(t *verifier.Traffic) flow {
	f := flow{proto: t.Protocol, port: t.Port, dst: &t.Dst}
	switch strings.ToUpper(string(t.Protocol)) {
	case "", "TCP":
		f.proto = corev1.ProtocolTCP
	case "UDP":
		f.proto = corev1.ProtocolUDP
	case "SCTP":
		f.proto = corev1.ProtocolSCTP
	case "ICMP", "ICMPV4":
		f.proto = "ICMPv4"
		if f.port == 0 {
			f.port = 8
		}
	case "ICMPV6":
		f.proto = "ICMPv6"
		if f.port == 0 {
			f.port = 128
		}
	}
	return f
}

// Evaluate decides whether the policies admit t: the source's egress and
// the destination's ingress (a peer that is not a pod has no policy).
func (e *Engine) Evaluate(t verifier.Traffic) verifier.Result {
	f := newFlow(&t)
	src, dst := identityOf(&t.Src), identityOf(&t.Dst)
	return verifier.Combine(&t,
		func() verifier.DirectionResult { return e.direction(&src, &dst, &t.Dst, false, &f) },
		func() verifier.DirectionResult { return e.direction(&dst, &src, &t.Src, true, &f) })
}

// Verdict is Evaluate(t).Verdict.
func (e *Engine) Verdict(t verifier.Traffic) verifier.Verdict { return e.Evaluate(t).Verdict }

// direction evaluates the rules selecting subj (the source for egress,
// the destination for ingress) against the other end.
func (e *Engine) direction(subj, other *identity, otherPeer *verifier.Peer, ingress bool, f *flow) verifier.DirectionResult {
	var dr verifier.DirectionResult
	add := func(list []string, k string) []string {
		if len(list) > 0 && list[len(list)-1] == k {
			return list
		}
		return append(list, k)
	}
	for _, rs := range [2][]*rule{e.byNamespace[subj.ns], e.clusterwide} {
		for _, r := range rs {
			allow, deny, dd := r.egress, r.egressDeny, r.egressDD
			if ingress {
				allow, deny, dd = r.ingress, r.ingressDeny, r.ingressDD
			}
			if len(allow)+len(deny) == 0 || !r.subject.matches(subj) {
				continue
			}
			dr.Policies = add(dr.Policies, r.key)
			dr.Isolated = dr.Isolated || dd
			for i := range deny {
				if deny[i].matches(other, otherPeer, f) {
					dr.Denied = add(dr.Denied, r.key)
					break
				}
			}
			for i := range allow {
				if allow[i].matches(other, otherPeer, f) {
					dr.Matched = add(dr.Matched, r.key)
					break
				}
			}
		}
	}
	for _, l := range []*[]string{&dr.Policies, &dr.Matched, &dr.Denied} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	dr.Allowed = len(dr.Denied) == 0 && (!dr.Isolated || len(dr.Matched) > 0)
	return dr
}

// matches reports whether the entry selects the peer and the flow's
// protocol and port.
func (en *entry) matches(id *identity, p *verifier.Peer, f *flow) bool {
	if en.none {
		return false
	}
	if len(en.peers) == 0 {
		if len(en.l4) == 0 {
			return false // `{}`: selects nothing
		}
	} else if !en.anyPeer(id, p) {
		return false
	}
	if len(en.l4) == 0 {
		return true // L3 only: every protocol
	}
	for i := range en.l4 {
		if en.l4[i].matches(f) {
			return true
		}
	}
	return false
}

func (en *entry) anyPeer(id *identity, p *verifier.Peer) bool {
	for i := range en.peers {
		if en.peers[i].matches(id, p) {
			return true
		}
	}
	return false
}

func (pe *peer) matches(id *identity, p *verifier.Peer) bool {
	switch pe.kind {
	case peerEndpoints:
		return pe.sel.matches(id)
	case peerEntity:
		return entityMatches(pe.entity, id)
	}
	// CIDR and FQDN identities are world's: never a pod, a node or the
	// API server
	if id.pod || !slices.Contains(id.reserved, "world") {
		return false
	}
	if pe.kind == peerFQDN {
		for _, n := range p.DNSNames {
			n = normalizeName(n)
			if pe.pattern != nil && pe.pattern.MatchString(n) || pe.pattern == nil && n == pe.fqdn {
				return true
			}
		}
		return false
	}
	return verifier.InIPBlock(p.IP, pe.cidr, pe.except)
}

func (p *port) matches(f *flow) bool {
	if p.proto != f.proto {
		return false
	}
	switch {
	case p.all:
		return true
	case p.name != "":
		np, ok := f.dst.NamedPorts[p.name]
		if !ok {
			return false
		}
		proto := np.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		return proto == f.proto && np.Port == f.port
	}
	return f.port >= p.lo && f.port <= p.hi
}
