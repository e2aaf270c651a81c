package diffcheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/learner"
	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/verifier"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
	ciliumeval "github.com/flowfence/flowfence/verifier/cilium"
)

// Elements of Cilium and Calico trees (elements.go), by the method of StaleRules:
// every allow rule is split into elements (peer × port), each compiled as a
// policy of its own with the original's subject, and an element is used
// when an observed edge matches it in its direction. Cilium: one element
// per peer (endpoint selector, entity, CIDR, CIDRSet entry, FQDN selector)
// and per port or ICMP field of an ingress or egress rule; a rule without
// peers is one "any peer" element, without ports one "any port" element;
// the default-deny's empty rules and deny rules are not allow rules. Calico:
// one element per Allow rule and destination port (the rule's source or
// destination is one peer); a rule is used when it matches an observed
// flow, whatever an earlier rule or tier decides for it. The default-deny
// and the DNS bundle are never reported, as for NetworkPolicy.

// edgeTraffic calls fn for every pair of label sets of every learned edge.
func edgeTraffic(g *learner.Graph, ports policy.PortTable, fn func(verifier.Traffic)) {
	for _, e := range learner.SortedEdges(g.Edges) {
		src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
		if src == nil || dst == nil {
			continue
		}
		proto, _ := record.ParseProtocol(e.Proto)
		t := verifier.Traffic{Protocol: corev1.Protocol(proto.String()), Port: int32(e.Port)}
		for _, sp := range Peers(src, ports) {
			t.Src = sp
			for _, dp := range Peers(dst, ports) {
				t.Dst = dp
				fn(t)
			}
		}
	}
}

// skipStale reports the policies stale rules never name: the default-deny
// and the DNS bundles, the namespace's and each workload's own (deny scope
// observed: "<workload>-dns"; workload policies otherwise end "-ingress" or
// "-egress").
func skipStale(name string) bool {
	return name == policy.NameDNS || name == policy.NameDefaultDeny || strings.HasSuffix(name, "-dns")
}

// elementPeer sets one peer on an element's rule.
type elementPeer struct {
	ingress func(*ciliumeval.IngressRule)
	egress  func(*ciliumeval.EgressRule)
}

// elementPort sets one port (or ICMP field) on an element's rule.
type elementPort struct {
	ports []ciliumout.PortRule
	icmps []ciliumeval.ICMPRule
}

func (q elementPort) applyIngress(r *ciliumeval.IngressRule) { r.ToPorts, r.ICMPs = q.ports, q.icmps }
func (q elementPort) applyEgress(r *ciliumeval.EgressRule)   { r.ToPorts, r.ICMPs = q.ports, q.icmps }

type namedPeer struct {
	name string
	set  elementPeer
}

type namedPort struct {
	name string
	set  elementPort
}

// eachElement calls fn for every peer × port; an empty list is one "any"
// element with index -1.
func eachElement(peers []namedPeer, ports []namedPort, fn func(pi, qi int, peer, port string, p elementPeer, q elementPort)) {
	if len(peers) == 0 {
		peers = []namedPeer{{name: "any peer", set: elementPeer{ingress: func(*ciliumeval.IngressRule) {}, egress: func(*ciliumeval.EgressRule) {}}}}
	}
	if len(ports) == 0 {
		ports = []namedPort{{name: "any port"}}
	}
	for pi, p := range peers {
		for qi, q := range ports {
			pidx, qidx := pi, qi
			if p.name == "any peer" {
				pidx = -1
			}
			if q.name == "any port" {
				qidx = -1
			}
			fn(pidx, qidx, p.name, q.name, p.set, q.set)
		}
	}
}

func ciliumIngressPeers(r *ciliumeval.IngressRule, ns string) []namedPeer {
	var out []namedPeer
	for _, s := range r.FromEndpoints {
		out = append(out, namedPeer{describeCiliumSelector(s, ns), elementPeer{ingress: func(e *ciliumeval.IngressRule) { e.FromEndpoints = []ciliumout.Selector{s} }}})
	}
	for _, c := range r.FromCIDR {
		out = append(out, namedPeer{c, elementPeer{ingress: func(e *ciliumeval.IngressRule) { e.FromCIDR = []string{c} }}})
	}
	for _, c := range r.FromCIDRSet {
		out = append(out, namedPeer{describeCIDRRule(c), elementPeer{ingress: func(e *ciliumeval.IngressRule) { e.FromCIDRSet = []ciliumout.CIDRRule{c} }}})
	}
	for _, en := range r.FromEntities {
		out = append(out, namedPeer{"entity " + en, elementPeer{ingress: func(e *ciliumeval.IngressRule) { e.FromEntities = []string{en} }}})
	}
	return out
}

func ciliumEgressPeers(r *ciliumeval.EgressRule, ns string) []namedPeer {
	var out []namedPeer
	for _, s := range r.ToEndpoints {
		out = append(out, namedPeer{describeCiliumSelector(s, ns), elementPeer{egress: func(e *ciliumeval.EgressRule) { e.ToEndpoints = []ciliumout.Selector{s} }}})
	}
	for _, c := range r.ToCIDR {
		out = append(out, namedPeer{c, elementPeer{egress: func(e *ciliumeval.EgressRule) { e.ToCIDR = []string{c} }}})
	}
	for _, c := range r.ToCIDRSet {
		out = append(out, namedPeer{describeCIDRRule(c), elementPeer{egress: func(e *ciliumeval.EgressRule) { e.ToCIDRSet = []ciliumout.CIDRRule{c} }}})
	}
	for _, en := range r.ToEntities {
		out = append(out, namedPeer{"entity " + en, elementPeer{egress: func(e *ciliumeval.EgressRule) { e.ToEntities = []string{en} }}})
	}
	for _, f := range r.ToFQDNs {
		name := "fqdn " + f.MatchName
		if f.MatchPattern != "" {
			name = "fqdn pattern " + f.MatchPattern
		}
		out = append(out, namedPeer{name, elementPeer{egress: func(e *ciliumeval.EgressRule) { e.ToFQDNs = []ciliumout.FQDNSelector{f} }}})
	}
	return out
}

func ciliumPorts(prs []ciliumout.PortRule, icmps []ciliumeval.ICMPRule) []namedPort {
	var out []namedPort
	for _, pr := range prs {
		for _, pp := range pr.Ports {
			proto := strings.ToUpper(pp.Protocol)
			if proto == "" {
				proto = "ANY"
			}
			name := proto
			switch {
			case pp.Port != "" && pp.Port != "0" && pp.EndPort != 0:
				name = fmt.Sprintf("%s/%s-%d", proto, pp.Port, pp.EndPort)
			case pp.Port != "" && pp.Port != "0":
				name = proto + "/" + pp.Port
			}
			one := ciliumout.PortRule{Ports: []ciliumout.PortProtocol{pp}, Rules: pr.Rules}
			out = append(out, namedPort{name, elementPort{ports: []ciliumout.PortRule{one}}})
		}
	}
	for _, ir := range icmps {
		for _, f := range ir.Fields {
			fam := "ICMPv4"
			if f.Family == "IPv6" {
				fam = "ICMPv6"
			}
			out = append(out, namedPort{fam + " " + f.Type.String(), elementPort{icmps: []ciliumeval.ICMPRule{{Fields: []ciliumeval.ICMPField{f}}}}})
		}
	}
	return out
}

// describeCiliumSelector renders a peer selector: "data/{app=redis}" (the
// namespace from the selector or the policy's), "{app=x}" in a clusterwide
// policy.
func describeCiliumSelector(s ciliumout.Selector, ns string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		key := strings.TrimPrefix(strings.TrimPrefix(k, "k8s:"), "any:")
		if key == "io.kubernetes.pod.namespace" {
			ns = s.MatchLabels[k]
			continue
		}
		parts = append(parts, key+"="+s.MatchLabels[k])
	}
	for _, e := range s.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(e.Operator), strings.Join(e.Values, ", ")))
	}
	sel := "{" + strings.Join(parts, ",") + "}"
	if len(parts) == 0 {
		sel = "{*}"
	}
	if ns == "" {
		return sel
	}
	return ns + "/" + sel
}

func describeCIDRRule(c ciliumout.CIDRRule) string {
	if len(c.Except) == 0 {
		return c.CIDR
	}
	return c.CIDR + " except " + strings.Join(c.Except, ", ")
}

// anySource reports a peer of nothing but /0 nets (no selector): one
// family of flowfence's "any source".
func anySource(er *calicoeval.EntityRule) bool {
	if er == nil || len(er.Nets) == 0 || er.Selector != "" || er.NamespaceSelector != "" || er.NotSelector != "" {
		return false
	}
	for _, n := range er.Nets {
		if !strings.HasSuffix(n, "/0") {
			return false
		}
	}
	return true
}

func calicoProto(r calicoeval.Rule) string {
	return strings.Trim(string(r.Protocol), `"`)
}

// describeCalicoPeer renders a rule's peer side: "data/app == 'db'",
// "nets 0.0.0.0/0 except …", "any peer".
func describeCalicoPeer(er *calicoeval.EntityRule, ns string) string {
	if er == nil || er.Selector == "" && er.NamespaceSelector == "" && len(er.Nets) == 0 && er.NotSelector == "" {
		return "any peer"
	}
	var parts []string
	if er.NamespaceSelector != "" {
		parts = append(parts, "namespaces "+er.NamespaceSelector)
	} else if er.Selector != "" && ns != "" {
		parts = append(parts, "namespace "+ns)
	}
	if er.Selector != "" {
		parts = append(parts, er.Selector)
	}
	if er.NotSelector != "" {
		parts = append(parts, "not "+er.NotSelector)
	}
	if len(er.Nets) > 0 {
		s := strings.Join(er.Nets, ", ")
		if len(er.NotNets) > 0 {
			s += " except " + strings.Join(er.NotNets, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ": ")
}
