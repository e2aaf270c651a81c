package calico

import (
	"fmt"
	"net/netip"
	"strings"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/verifier"
)

// Calico's labels on workload endpoints and namespaces.
const (
	labelNamespace     = "projectcalico.org/namespace"
	labelOrchestrator  = "projectcalico.org/orchestrator"
	labelNamespaceName = "projectcalico.org/name"
)

// podLabels is a workload endpoint's label set.
type podLabels struct{ p *verifier.Peer }

func (l podLabels) get(k string) (string, bool) {
	switch k {
	case labelNamespace:
		return namespaceOf(l.p), true
	case labelOrchestrator:
		return "k8s", true
	}
	v, ok := l.p.Labels[k]
	return v, ok
}
func (podLabels) global() bool { return false }

// nsLabels is a namespace's label set, as namespaceSelector sees it.
type nsLabels struct{ p *verifier.Peer }

func (l nsLabels) get(k string) (string, bool) {
	if k == labelNamespaceName {
		return namespaceOf(l.p), true
	}
	if v, ok := l.p.NamespaceLabels[k]; ok {
		return v, true
	}
	if k == verifier.NamespaceNameLabel {
		return namespaceOf(l.p), true
	}
	return "", false
}
func (nsLabels) global() bool { return false }

func namespaceOf(p *verifier.Peer) string {
	if p.Namespace == "" {
		return verifier.DefaultNamespace
	}
	return p.Namespace
}

// flow is the per-evaluation state.
type flow struct {
	proto  string // TCP, UDP, SCTP, ICMP, ICMPv6
	port   int32  // destination port, or the ICMP type
	family int    // 4, 6, or 0 when neither end has an address
	dst    *verifier.Peer
}

func newFlow(t *verifier.Traffic) flow {
	f := flow{port: t.Port, dst: &t.Dst}
	switch strings.ToUpper(string(t.Protocol)) {
	case "", "TCP":
		f.proto = "TCP"
	case "UDP":
		f.proto = "UDP"
	case "SCTP":
		f.proto = "SCTP"
	case "ICMP", "ICMPV4":
		f.proto, f.family = "ICMP", 4
		if f.port == 0 {
			f.port = 8 // the graph keeps no type: an echo request
		}
	case "ICMPV6":
		f.proto, f.family = "ICMPv6", 6
		if f.port == 0 {
			f.port = 128
		}
	default:
		f.proto = string(t.Protocol)
	}
	for _, a := range []netip.Addr{t.Src.IP, t.Dst.IP} {
		if f.family == 0 && a.IsValid() {
			f.family = 4
			if a.Is6() && !a.Is4In6() {
				f.family = 6
			}
		}
	}
	return f
}

// Evaluate decides whether the policies admit t: the source's egress and
// the destination's ingress (a peer that is not a pod has no policy).
func (e *Engine) Evaluate(t verifier.Traffic) verifier.Result {
	f := newFlow(&t)
	return verifier.Combine(&t,
		func() verifier.DirectionResult { return e.direction(&t.Src, &t.Dst, false, &f) },
		func() verifier.DirectionResult { return e.direction(&t.Dst, &t.Src, true, &f) })
}

// Verdict is Evaluate(t).Verdict.
func (e *Engine) Verdict(t verifier.Traffic) verifier.Verdict { return e.Evaluate(t).Verdict }

// direction walks the tiers for the endpoint ep (the source for egress,
// the destination for ingress).
func (e *Engine) direction(ep, other *verifier.Peer, ingress bool, f *flow) verifier.DirectionResult {
	var dr verifier.DirectionResult
	passed := ""
	for _, t := range e.tiers {
		applied := false
		decided := false
		for _, p := range t.policies(namespaceOf(ep)) {
			if ingress && !p.ingress || !ingress && !p.egress || !p.selects(ep) {
				continue
			}
			applied = true
			dr.Policies = append(dr.Policies, p.key)
			rules := p.outRules
			if ingress {
				rules = p.inRules
			}
			for i := range rules {
				r := &rules[i]
				if !r.matches(p, ep, other, f) {
					continue
				}
				dir := "egress"
				if ingress {
					dir = "ingress"
				}
				where := fmt.Sprintf("tier %s, %s rule %d of %s", t.name, dir, i, p.key)
				switch r.action {
				case caliout.ActionAllow:
					dr.Matched = []string{p.key}
					dr.Allowed, dr.Detail = true, "Allow at "+where
					dr.Isolated = true
					return dr
				case caliout.ActionDeny:
					dr.Denied = []string{p.key}
					dr.Detail = "Deny at " + where
					dr.Isolated = true
					return dr
				case caliout.ActionPass:
					passed = "passed at " + where
					decided = true
				}
				if decided {
					break
				}
			}
			if decided {
				break
			}
		}
		if !applied || decided {
			continue
		}
		if t.pass {
			passed = "tier " + t.name + " ends in Pass"
			continue
		}
		dr.Isolated = true
		dr.Detail = "end of tier " + t.name + ": no rule of its policies selecting the pod matches (Calico drops)"
		return dr
	}
	dr.Allowed = true
	switch {
	case passed != "":
		dr.Detail = passed + "; no later tier decides: the namespace profile allows"
	case len(dr.Policies) > 0:
		dr.Detail = "no tier decides: the namespace profile allows"
	}
	return dr
}

// selects reports whether the policy applies to the endpoint.
func (p *policy) selects(ep *verifier.Peer) bool {
	if p.namespace != "" && namespaceOf(ep) != p.namespace {
		return false
	}
	if p.nsSel != nil && !p.nsSel.eval(nsLabels{ep}) {
		return false
	}
	return p.selector.eval(podLabels{ep})
}

// matches reports whether a rule of p matches the flow between the
// policy's endpoint ep and the other end.
func (r *rule) matches(p *policy, ep, other *verifier.Peer, f *flow) bool {
	if r.proto != "" && r.proto != f.proto || r.notProto != "" && r.notProto == f.proto {
		return false
	}
	if r.ipVersion != 0 && f.family != 0 && r.ipVersion != f.family {
		return false
	}
	if r.icmp != nil && int32(*r.icmp) != f.port || r.notICMP != nil && int32(*r.notICMP) == f.port {
		return false
	}
	if !r.self.matches(p.namespace, ep) || !r.peer.matches(p.namespace, other) {
		return false
	}
	if r.hasPortsSet && !anyPort(r.ports, f) || anyPort(r.notPorts, f) {
		return false
	}
	return true
}

func anyPort(ps []portRange, f *flow) bool {
	for _, p := range ps {
		if p.name != "" {
			np, ok := f.dst.NamedPorts[p.name]
			proto := string(np.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			if ok && np.Port == f.port && proto == f.proto {
				return true
			}
			continue
		}
		if f.port >= p.lo && f.port <= p.hi {
			return true
		}
	}
	return false
}

// matches reports whether the peer satisfies an entity rule of a policy in
// namespace policyNS (empty: global).
func (s *side) matches(policyNS string, p *verifier.Peer) bool {
	if len(s.nets) > 0 && !inAny(s.nets, p.IP) {
		return false
	}
	if len(s.notNets) > 0 && inAny(s.notNets, p.IP) {
		return false
	}
	if s.sel != nil || s.nsSel != nil {
		if !p.IsPod {
			return false
		}
		switch {
		case s.nsSel != nil:
			if !s.nsSel.eval(nsLabels{p}) {
				return false
			}
		case policyNS != "" && namespaceOf(p) != policyNS:
			return false
		}
		if s.sel != nil && !s.sel.eval(podLabels{p}) {
			return false
		}
	}
	if s.notSel != nil && p.IsPod && (policyNS == "" || namespaceOf(p) == policyNS) && s.notSel.eval(podLabels{p}) {
		return false
	}
	return true
}

func inAny(nets []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// MatchingAllows lists, per direction, the policies selecting the end of
// t with an Allow rule that matches it, whatever the tiers and earlier
// rules decide: what a rule admits, for stale-rule detection (a rule no
// observed flow matches is stale).
func (e *Engine) MatchingAllows(t verifier.Traffic) (egress, ingress []string) {
	f := newFlow(&t)
	collect := func(ep, other *verifier.Peer, in bool) []string {
		var out []string
		for _, tr := range e.tiers {
			for _, p := range tr.policies(namespaceOf(ep)) {
				if in && !p.ingress || !in && !p.egress || !p.selects(ep) {
					continue
				}
				rules := p.outRules
				if in {
					rules = p.inRules
				}
				for i := range rules {
					if rules[i].action == caliout.ActionAllow && rules[i].matches(p, ep, other, &f) {
						out = append(out, p.key)
						break
					}
				}
			}
		}
		return out
	}
	if t.Src.IsPod {
		egress = collect(&t.Src, &t.Dst, false)
	}
	if t.Dst.IsPod {
		ingress = collect(&t.Dst, &t.Src, true)
	}
	return egress, ingress
}
