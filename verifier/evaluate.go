// This file evaluates one flow against a compiled Engine: Evaluate, Verdict
// and the direction, rule, peer and port matching they share.

package verifier

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// flow is the per-evaluation state shared by both directions.
type flow struct {
	protocol corev1.Protocol
	port     int32
	portful  bool // TCP, UDP or SCTP
	dst      *Peer
}

// Evaluate decides whether the policies admit t.
func (e *Engine) Evaluate(t Traffic) Result {
	protocol, portful := canonicalProtocol(t.Protocol)
	f := flow{protocol: protocol, port: t.Port, portful: portful, dst: &t.Dst}
	var res Result
	if t.Src.IsPod {
		res.Egress = e.direction(&t.Src, &t.Dst, false, &f)
	} else {
		res.Egress.Allowed = true
	}
	if t.Dst.IsPod {
		res.Ingress = e.direction(&t.Dst, &t.Src, true, &f)
	} else {
		res.Ingress.Allowed = true
	}
	switch {
	case !portful && (res.Egress.Isolated || res.Ingress.Isolated):
		res.Verdict = Inexpressible
	case !portful || res.Egress.Allowed && res.Ingress.Allowed:
		res.Verdict = Allowed
	default:
		res.Verdict = Denied
	}
	res.Reason = reason(&res, protocol)
	return res
}

// Verdict returns Evaluate(t).Verdict without explaining it: each
// direction stops at the first rule admitting the flow, and nothing is
// allocated. For replaying many flows that are expected to pass (explain
// the ones that do not with Evaluate).
func (e *Engine) Verdict(t Traffic) Verdict {
	protocol, portful := canonicalProtocol(t.Protocol)
	f := flow{protocol: protocol, port: t.Port, portful: portful, dst: &t.Dst}
	egressIsolated, egressAllowed := false, true
	if t.Src.IsPod {
		egressIsolated, egressAllowed = e.admits(&t.Src, &t.Dst, false, &f)
	}
	if portful && !egressAllowed {
		return Denied
	}
	ingressIsolated, ingressAllowed := false, true
	if t.Dst.IsPod {
		ingressIsolated, ingressAllowed = e.admits(&t.Dst, &t.Src, true, &f)
	}
	switch {
	case !portful && (egressIsolated || ingressIsolated):
		return Inexpressible
	case !portful || ingressAllowed:
		return Allowed
	}
	return Denied
}

// admits is direction's Isolated and Allowed, stopping at the first
// admitting rule.
func (e *Engine) admits(pod, peer *Peer, ingress bool, f *flow) (isolated, allowed bool) {
	idx := e.byNamespace[namespaceOf(pod)]
	if idx == nil {
		return false, true
	}
	policies, sidx := idx.egress, idx.egressIdx
	if ingress {
		policies, sidx = idx.ingress, idx.ingressIdx
	}
	podLabels := labels.Set(pod.Labels)
	// one policy: does it select the pod, does it admit the flow
	policy := func(cp *compiledPolicy) (selects, admits bool) {
		if !cp.podSelector.Matches(podLabels) {
			return false, false
		}
		rules := cp.egressRules
		if ingress {
			rules = cp.ingressRules
		}
		for i := range rules {
			if e.ruleAllows(&rules[i], cp.namespace, peer, f) {
				return true, true
			}
		}
		return true, false
	}
	// the candidates in any order: the answer does not depend on it
	for _, i := range sidx.always {
		sel, ok := policy(policies[i])
		if ok {
			return true, true
		}
		isolated = isolated || sel
	}
	sidx.each(pod.Labels, func(idx []int) bool {
		for _, i := range idx {
			sel, ok := policy(policies[i])
			if ok {
				allowed = true
				return false
			}
			isolated = isolated || sel
		}
		return true
	})
	if allowed {
		return true, true
	}
	return isolated, !isolated
}

// ruleAllows is ruleAdmits' first result, the ports (cheap) checked
// before the peers.
func (e *Engine) ruleAllows(r *compiledRule, policyNS string, peer *Peer, f *flow) bool {
	if !r.allPorts {
		if !f.portful {
			return false
		}
		ok := false
		for i := range r.ports {
			if m, _ := r.ports[i].matches(f); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return r.allPeers || e.rulePeersMatch(r, policyNS, peer)
}

// canonicalProtocol maps TCP, UDP and SCTP in any case (and empty, meaning
// TCP) to their corev1 constants and reports whether the protocol has ports
// a NetworkPolicy can express.
func canonicalProtocol(p corev1.Protocol) (corev1.Protocol, bool) {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return p, true
	case "":
		return corev1.ProtocolTCP, true
	}
	for _, c := range [...]corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		if strings.EqualFold(string(p), string(c)) {
			return c, true
		}
	}
	return p, false
}

// direction evaluates the policies of pod (the source for egress, the
// destination for ingress) against the other end, peer.
func (e *Engine) direction(pod, peer *Peer, ingress bool, f *flow) DirectionResult {
	var dr DirectionResult
	idx := e.byNamespace[namespaceOf(pod)]
	if idx == nil {
		dr.Allowed = true
		return dr
	}
	policies, sidx := idx.egress, idx.egressIdx
	if ingress {
		policies, sidx = idx.ingress, idx.ingressIdx
	}
	podLabels := labels.Set(pod.Labels)
	var buf [16]int
	for _, i := range sidx.candidates(buf[:0], pod.Labels) {
		cp := policies[i]
		if !cp.podSelector.Matches(podLabels) {
			continue
		}
		rules := cp.egressRules
		if ingress {
			rules = cp.ingressRules
		}
		if dr.Policies == nil {
			dr.Policies = make([]string, 0, len(policies))
		}
		dr.Policies = append(dr.Policies, cp.key)
		matched := false
		for i := range rules {
			ok, unknown := e.ruleAdmits(&rules[i], cp.namespace, peer, f)
			matched = matched || ok
			dr.UnknownNamedPort = dr.UnknownNamedPort || unknown
		}
		if matched {
			dr.Matched = append(dr.Matched, cp.key)
		}
	}
	dr.Isolated = len(dr.Policies) > 0
	dr.Allowed = !dr.Isolated || len(dr.Matched) > 0
	return dr
}

// ruleAdmits reports whether a rule of a policy in policyNS admits the flow
// from or to peer, and whether the rule's peers matched but one of its named
// ports could not be resolved on the destination.
func (e *Engine) ruleAdmits(r *compiledRule, policyNS string, peer *Peer, f *flow) (admits, unknownNamed bool) {
	if !r.allPeers && !e.rulePeersMatch(r, policyNS, peer) {
		return false, false
	}
	if r.allPorts {
		return true, false
	}
	if !f.portful {
		return false, false
	}
	for i := range r.ports {
		ok, unknown := r.ports[i].matches(f)
		unknownNamed = unknownNamed || unknown
		if ok {
			admits = true
			if !r.hasNamed {
				break // no later entry can set unknownNamed
			}
		}
	}
	return admits, unknownNamed
}

// rulePeersMatch reports whether one of the rule's peers matches peer,
// looking only at the peers the rule's index says can match.
func (e *Engine) rulePeersMatch(r *compiledRule, policyNS string, peer *Peer) bool {
	x := r.peerIdx
	if x == nil {
		return e.anyPeerMatches(r.peers, policyNS, peer)
	}
	for _, i := range x.always {
		if e.peerMatches(&r.peers[i], policyNS, peer) {
			return true
		}
	}
	if !peer.IsPod {
		return false // the indexed peers select pods
	}
	found := false
	x.each(peer.Labels, func(idx []int) bool {
		for _, i := range idx {
			if e.peerMatches(&r.peers[i], policyNS, peer) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

func (e *Engine) anyPeerMatches(peers []compiledPeer, policyNS string, peer *Peer) bool {
	for i := range peers {
		if e.peerMatches(&peers[i], policyNS, peer) {
			return true
		}
	}
	return false
}

// InIPBlock reports whether ip lies in cidr and in none of except: how an
// ipBlock (and a Cilium CIDR set) matches a peer. An IPv4-mapped IPv6
// address matches as its IPv4 address, a zone is ignored, and a peer
// without an address matches no block.
func InIPBlock(ip netip.Addr, cidr netip.Prefix, except []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if !cidr.Contains(ip) {
		return false
	}
	for _, x := range except {
		if x.Contains(ip) {
			return false
		}
	}
	return true
}

func (e *Engine) peerMatches(cp *compiledPeer, policyNS string, peer *Peer) bool {
	if cp.isIPBlock {
		if e.cni == CNICilium && (peer.IsPod || peer.IsNode) {
			return false
		}
		return InIPBlock(peer.IP, cp.cidr, cp.except)
	}
	if !peer.IsPod {
		return false
	}
	ns := namespaceOf(peer)
	switch {
	case cp.nsSelector == nil:
		if ns != policyNS {
			return false
		}
	case cp.nsName != "":
		// what nsSelector.Matches(namespaceLabels(...)) answers
		name, ok := peer.NamespaceLabels[NamespaceNameLabel]
		if !ok {
			name = ns
		}
		if name != cp.nsName {
			return false
		}
	case !cp.nsSelector.Matches(namespaceLabels(peer.NamespaceLabels, ns)):
		return false
	}
	return cp.podSelector == nil || cp.podSelector.Matches(labels.Set(peer.Labels))
}

// matches reports whether the port entry admits the flow, and whether it is
// a named port of the flow's protocol the destination does not declare.
func (p *compiledPort) matches(f *flow) (ok, unknownNamed bool) {
	if p.protocol != f.protocol {
		return false, false
	}
	switch p.kind {
	case portAll:
		return true, false
	case portNumber:
		return f.port == p.port, false
	case portRange:
		return f.port >= p.port && f.port <= p.end, false
	default: // portNamed
		np, found := f.dst.NamedPorts[p.name]
		if !found {
			return false, true
		}
		proto := np.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		return proto == f.protocol && np.Port == f.port, false
	}
}

func namespaceOf(p *Peer) string {
	if p.Namespace == "" {
		return DefaultNamespace
	}
	return p.Namespace
}

// namespaceLabels returns the namespace's labels including
// NamespaceNameLabel, without copying when it is already present.
func namespaceLabels(m map[string]string, ns string) labels.Labels {
	if _, ok := m[NamespaceNameLabel]; ok {
		return labels.Set(m)
	}
	return nsLabels{m: m, name: ns}
}

// nsLabels adds NamespaceNameLabel to a namespace's label map.
type nsLabels struct {
	m    map[string]string
	name string
}

func (l nsLabels) Has(key string) bool {
	_, ok := l.Lookup(key)
	return ok
}

func (l nsLabels) Get(key string) string {
	v, _ := l.Lookup(key)
	return v
}

func (l nsLabels) Lookup(key string) (string, bool) {
	if key == NamespaceNameLabel {
		return l.name, true
	}
	v, ok := l.m[key]
	return v, ok
}
