// Package cilium renders the policy model as Cilium policies (cilium.io/v2):
// one CiliumNetworkPolicy per workload and direction, a namespace
// default-deny and the DNS bundle per application namespace, and a
// CiliumClusterwideNetworkPolicy that denies the cloud credential endpoints
// to every pod without putting any pod into default-deny. Where
// NetworkPolicy falls short, this flavor says what Cilium can: nodes and the
// API server as entities (host, remote-node, kube-apiserver), the internet
// as the world entity, ICMP (icmps), and, with --fqdn, external peers by DNS
// name (toFQDNs, which needs the agent's DNS proxy). Every object is checked
// (Validate) before it is written; tests/cilium checks them again with
// Cilium's own types and sanitizer.
package cilium

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// FormatName is the --format value.
const FormatName = "cilium"

// maxPorts is Cilium's limit of ports in one PortRule.
const maxPorts = 40

// Formatter renders CiliumNetworkPolicy YAML.
type Formatter struct {
	// FQDN writes external peers with observed DNS names as toFQDNs rules
	// (and adds the DNS-proxy rule to the DNS bundle of the namespaces that
	// have them) instead of toCIDRSet /32s.
	FQDN bool
	// FQDNPatterns are matchPattern values (such as "*.stripe.com"): an
	// observed name that one of them matches is written as the pattern
	// instead of a matchName. Only with FQDN.
	FQDNPatterns []string
}

// Name returns "cilium".
func (Formatter) Name() string { return FormatName }

// Render returns <ns>/<file>.yaml and <ns>/kustomization.yaml for every
// namespace, and _cluster/ with the metadata guard.
func (f Formatter) Render(set *policy.Set) (output.Tree, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	t := output.Tree{}
	// the DNS-proxy rule is decided once per namespace
	var cur *policy.Namespace
	dnsProxy := false
	err := output.AddNamespaces(t, set, "", func(ns *policy.Namespace, p *policy.Policy) ([]byte, error) {
		if ns != cur {
			cur, dnsProxy = ns, f.FQDN && f.namespaceHasFQDN(ns, &set.Guard)
		}
		obj, notes := f.Build(p, &set.Guard, dnsProxy)
		if err := Validate(obj); err != nil {
			return nil, fmt.Errorf("generated policy %s/%s is invalid: %w", p.Namespace, p.Name, err)
		}
		return Marshal(obj, p.Comment, notes, cidrNames(p))
	})
	if err != nil {
		return nil, err
	}
	guard, comment, err := Guard(set)
	if err != nil {
		return nil, err
	}
	b, err := output.ClusterObjects([]*Object{guard}, metadataGuard, Validate, func(_ int, o *Object) ([]byte, error) { return Marshal(o, comment, nil, nil) })
	if err != nil {
		return nil, err
	}
	t[output.ClusterDir+"/"+output.GuardFile] = b
	t[output.ClusterDir+"/"+output.KustomizationFile] = output.Kustomization("", []string{output.GuardFile}, "")
	return t, nil
}

// check validates the options (config cilium.fqdn-patterns).
func (f Formatter) check() error {
	for _, p := range f.FQDNPatterns {
		if !validFQDNPattern(p) {
			return fmt.Errorf("cilium.fqdn-patterns: %q is not a DNS name pattern (letters, digits, '-', '_', '.' and '*')", p)
		}
	}
	if len(f.FQDNPatterns) > 0 && !f.FQDN {
		return fmt.Errorf("cilium.fqdn-patterns: only used with --fqdn")
	}
	return nil
}

// Build converts one policy into a CiliumNetworkPolicy. dnsProxy adds the
// DNS-proxy rule (rules.dns matchPattern "*") to the DNS bundle: only where
// toFQDNs rules need it, because it makes DNS depend on the agent's L7
// proxy. Peers that cannot be written are dropped with a note.
func (f Formatter) Build(p *policy.Policy, guard *policy.Guard, dnsProxy bool) (*Object, []string) {
	obj := &Object{ObjectHead: output.Head(APIVersion, KindCiliumNetworkPolicy, p.Name, p.Namespace), Spec: &Rule{}}
	r := obj.Spec
	if len(p.Subject) > 0 {
		r.EndpointSelector.MatchLabels = maps.Clone(p.Subject)
	}
	var notes []string
	note := func(n []string) { notes = append(notes, n...) }
	if p.Ingress {
		for _, pr := range p.IngressRules {
			rs, n := f.ingress(pr)
			r.Ingress = append(r.Ingress, rs...)
			note(n)
		}
		if len(r.Ingress) == 0 {
			// selected with nothing allowed: ingress default-deny
			r.Ingress = []IngressRule{{}}
		}
	}
	if p.Egress {
		for _, pr := range p.EgressRules {
			rs, n := f.egress(pr, guard, p.Kind == policy.KindDNS, dnsProxy && p.Kind == policy.KindDNS)
			r.Egress = append(r.Egress, rs...)
			note(n)
		}
		if len(r.Egress) == 0 {
			r.Egress = []EgressRule{{}}
		}
	}
	if p.Kind == policy.KindDefaultDeny {
		notes = append(notes, "ingress: [{}] and egress: [{}] select no peer: every pod of the namespace is in default-deny both ways")
	}
	if dnsProxy && p.Kind == policy.KindDNS {
		notes = append(notes, "rules.dns sends this namespace's DNS through the Cilium agent's DNS proxy, which toFQDNs rules need: DNS now depends on the L7 proxy")
	}
	return obj, dedupe(notes)
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// peers is one rule's peers split by kind: Cilium rejects a rule that
// combines two L3 kinds (toEndpoints with toCIDR, toFQDNs with anything).
type peers struct {
	endpoints []Selector
	entities  []string
	cidrs     []CIDRRule
	fqdns     []FQDNSelector
}

// classify sorts the rule's peers into kinds; egress peers with DNS names
// become toFQDNs selectors with --fqdn.
func (f Formatter) classify(ps []policy.Peer, guard *policy.Guard, egress bool) (peers, []string) {
	var out peers
	var notes []string
	addEntity := func(e ...string) {
		for _, x := range e {
			if !slices.Contains(out.entities, x) {
				out.entities = append(out.entities, x)
			}
		}
	}
	for _, pe := range ps {
		if pe.Pods != nil {
			out.endpoints = append(out.endpoints, PeerSelector(pe.Pods))
			continue
		}
		if ents, ok := Entities(pe); ok {
			addEntity(ents...)
			continue
		}
		switch {
		case pe.Entity == record.EntityHealth:
			notes = append(notes, "the Cilium health endpoint is never a policy peer: dropped")
			continue
		case len(pe.CIDRs) == 0:
			notes = append(notes, "a peer without pods, address or Cilium entity ("+string(pe.Entity)+") cannot be written: dropped")
			continue
		}
		if egress && f.FQDN {
			if sel := f.fqdnSelectors(pe, guard); len(sel) > 0 {
				for _, s := range sel {
					if !slices.Contains(out.fqdns, s) {
						out.fqdns = append(out.fqdns, s)
					}
				}
				continue
			}
		}
		for _, c := range pe.CIDRs {
			cr := CIDRRule{CIDR: c.Prefix.String()}
			for _, e := range c.Except {
				cr.Except = append(cr.Except, e.String())
			}
			out.cidrs = append(out.cidrs, cr)
		}
	}
	slices.Sort(out.entities)
	return out, notes
}

// Entities returns the Cilium entities a peer stands for, if it is one:
// a node is the entity it was observed as, host or remote-node, never both
// (admit exactly what was observed: Cilium's CIDR rules do not match node
// IPs, and a pod that called only other nodes must not reach its own),
// the API server is kube-apiserver, and "any source" (the world peer of a
// public entrypoint, 0.0.0.0/0 and ::/0) is world. Health, unmanaged and
// the other reserved identities are never peers.
func Entities(pe policy.Peer) ([]string, bool) {
	switch pe.Entity {
	case record.EntityHost:
		return []string{EntityHost}, true
	case record.EntityRemoteNode:
		return []string{EntityRemoteNode}, true
	case record.EntityKubeAPIServer:
		return []string{EntityKubeAPIServer}, true
	case record.EntityWorld:
		if len(pe.CIDRs) == 0 {
			return nil, false
		}
		for _, c := range pe.CIDRs {
			if c.Prefix.Bits() != 0 {
				return nil, false
			}
		}
		return []string{EntityWorld}, true
	}
	return nil, false
}

// PeerSelector is the endpoint selector of a pod peer: the workload's
// labels with the k8s: source prefix, and the namespace label when the peer
// is in another namespace (a selector without it is scoped to the policy's
// own namespace by Cilium).
func PeerSelector(pp *policy.PodPeer) Selector {
	s := Selector{MatchLabels: map[string]string{}}
	for k, v := range pp.Selector {
		s.MatchLabels[SourcePrefix+k] = v
	}
	if pp.Namespace != "" {
		s.MatchLabels[NamespaceKey] = pp.Namespace
	}
	return s
}

// fqdnSelectors returns the toFQDNs selectors of an external peer: one per
// observed DNS name (a configured pattern replaces the names it matches).
// A guarded address (a metadata opt-in) and a peer without valid names
// stay CIDRs.
func (f Formatter) fqdnSelectors(pe policy.Peer, guard *policy.Guard) []FQDNSelector {
	if len(pe.Names) == 0 || guard == nil {
		return nil
	}
	for _, c := range pe.CIDRs {
		if c.Prefix.Bits() != c.Prefix.Addr().BitLen() {
			return nil
		}
		for _, a := range guard.Addresses {
			if a.Addr == c.Prefix.Addr().Unmap() {
				return nil
			}
		}
	}
	var out []FQDNSelector
	for _, n := range pe.Names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if !validFQDN(n) {
			return nil
		}
		sel := FQDNSelector{MatchName: n}
		for _, p := range f.FQDNPatterns {
			if MatchPattern(p, n) {
				sel = FQDNSelector{MatchPattern: p}
				break
			}
		}
		if !slices.Contains(out, sel) {
			out = append(out, sel)
		}
	}
	return out
}

// namespaceHasFQDN reports whether any policy of ns gets a toFQDNs rule.
func (f Formatter) namespaceHasFQDN(ns *policy.Namespace, guard *policy.Guard) bool {
	for _, p := range ns.Policies {
		if p.Kind == policy.KindDNS {
			continue
		}
		for _, r := range p.EgressRules {
			for _, pe := range r.Peers {
				if pe.Pods == nil && len(pe.CIDRs) > 0 {
					if _, ent := Entities(pe); !ent && len(f.fqdnSelectors(pe, guard)) > 0 {
						return true
					}
				}
			}
		}
	}
	return false
}

// ports splits a rule's ports into L4 ports and ICMP fields (Cilium allows
// no rule with both).
func ports(ps []policy.Port) ([]PortProtocol, []ICMPField, []string) {
	var l4 []PortProtocol
	var icmp []ICMPField
	var notes []string
	for _, p := range ps {
		switch p.Proto {
		case record.TCP, record.UDP, record.SCTP:
			port := strconv.Itoa(int(p.Port))
			if p.Name != "" {
				// every pod the port can reach names it so (synth proves it)
				port = p.Name
			}
			l4 = append(l4, PortProtocol{Port: port, Protocol: p.Proto.String()})
		case record.ICMPv4, record.ICMPv6:
			// the graph keeps no ICMP type; the learner learns only
			// requests, which in practice are echo requests (ping)
			fam := "IPv4"
			if p.Proto == record.ICMPv6 {
				fam = "IPv6"
			}
			fld := ICMPField{Family: fam, Type: "EchoRequest"}
			if !slices.Contains(icmp, fld) {
				icmp = append(icmp, fld)
			}
			notes = append(notes, "ICMP is written as echo requests (ping): the flow graph keeps no ICMP type")
		default:
			notes = append(notes, "protocol "+p.Proto.String()+" cannot be written: dropped")
		}
	}
	return l4, icmp, notes
}

// portRules chunks ports into PortRules of at most maxPorts.
func portRules(l4 []PortProtocol, l7 *L7Rules) []PortRule {
	var out []PortRule
	for c := range slices.Chunk(l4, maxPorts) {
		out = append(out, PortRule{Ports: c, Rules: l7})
	}
	return out
}

// portHalves is a Cilium rule that carries ports: ingress and egress rules
// take their L4 ports and ICMP types the same way.
type portHalves[R any] interface {
	withPorts([]PortRule) R
	withICMPs([]ICMPRule) R
}

func (x IngressRule) withPorts(p []PortRule) IngressRule { x.ToPorts = p; return x }
func (x IngressRule) withICMPs(i []ICMPRule) IngressRule { x.ICMPs = i; return x }
func (x EgressRule) withPorts(p []PortRule) EgressRule   { x.ToPorts = p; return x }
func (x EgressRule) withICMPs(i []ICMPRule) EgressRule   { x.ICMPs = i; return x }

// appendHalves appends the rules for one peer kind (base): base itself when
// the model rule has no ports, else one copy with the L4 ports (and l7 on
// them) and one with the ICMP types.
func appendHalves[R portHalves[R]](out []R, base R, r policy.Rule, l4 []PortProtocol, l7 *L7Rules, icmp []ICMPField) []R {
	if len(r.Ports) == 0 {
		return append(out, base)
	}
	if len(l4) > 0 {
		out = append(out, base.withPorts(portRules(l4, l7)))
	}
	if len(icmp) > 0 {
		out = append(out, base.withICMPs([]ICMPRule{{Fields: icmp}}))
	}
	return out
}

// ingress renders one model rule as Cilium ingress rules: one per peer
// kind, and per L4/ICMP half.
func (f Formatter) ingress(r policy.Rule) ([]IngressRule, []string) {
	ps, notes := f.classify(r.Peers, nil, false)
	l4, icmp, pn := ports(r.Ports)
	notes = append(notes, pn...)
	var out []IngressRule
	emit := func(base IngressRule) { out = appendHalves(out, base, r, l4, nil, icmp) }
	if len(ps.endpoints) > 0 {
		emit(IngressRule{FromEndpoints: ps.endpoints})
	}
	if len(ps.entities) > 0 {
		emit(IngressRule{FromEntities: ps.entities})
	}
	if len(ps.cidrs) > 0 {
		emit(IngressRule{FromCIDRSet: ps.cidrs})
	}
	return out, notes
}

// egress renders one model rule as Cilium egress rules. dns marks the DNS
// bundle (plain CIDRs as toCIDR); dnsProxy adds rules.dns to its ports.
func (f Formatter) egress(r policy.Rule, guard *policy.Guard, dns, dnsProxy bool) ([]EgressRule, []string) {
	g := guard
	if dns {
		g = nil
	}
	ff := f
	if dns {
		ff.FQDN = false // the resolvers themselves are never FQDN peers
	}
	ps, notes := ff.classify(r.Peers, g, true)
	l4, icmp, pn := ports(r.Ports)
	notes = append(notes, pn...)
	var l7 *L7Rules
	if dnsProxy && len(l4) > 0 {
		l7 = &L7Rules{DNS: []FQDNSelector{{MatchPattern: "*"}}}
	}
	var out []EgressRule
	emit := func(base EgressRule) { out = appendHalves(out, base, r, l4, l7, icmp) }
	if len(ps.endpoints) > 0 {
		emit(EgressRule{ToEndpoints: ps.endpoints})
	}
	if len(ps.entities) > 0 {
		emit(EgressRule{ToEntities: ps.entities})
	}
	if len(ps.cidrs) > 0 {
		if dns && plainCIDRs(ps.cidrs) {
			var c []string
			for _, x := range ps.cidrs {
				c = append(c, x.CIDR)
			}
			emit(EgressRule{ToCIDR: c})
		} else {
			emit(EgressRule{ToCIDRSet: ps.cidrs})
		}
	}
	if len(ps.fqdns) > 0 {
		emit(EgressRule{ToFQDNs: ps.fqdns})
	}
	return out, notes
}

func plainCIDRs(cs []CIDRRule) bool {
	for _, c := range cs {
		if len(c.Except) > 0 {
			return false
		}
	}
	return true
}

// cidrNames maps the CIDRs of a policy's peers to the DNS names seen for
// them, and the names to their CIDRs (comments in the YAML: toCIDRSet
// entries say the name, toFQDNs entries the addresses observed).
func cidrNames(p *policy.Policy) map[string]string {
	names := map[string]string{}
	addrs := map[string][]string{}
	output.EachNamedCIDR(p, func(c policy.CIDR, observed []string) {
		names[c.Prefix.String()] = strings.Join(observed, ", ")
		for _, n := range observed {
			k := "matchName: " + strings.ToLower(strings.TrimSuffix(n, "."))
			if !slices.Contains(addrs[k], c.Prefix.Addr().String()) {
				addrs[k] = append(addrs[k], c.Prefix.Addr().String())
			}
		}
	})
	for k, a := range addrs {
		slices.Sort(a)
		names[k] = "observed at " + strings.Join(a, ", ")
	}
	return names
}

// metadataGuard names the guard in the error of an invalid one.
func metadataGuard(*Object) string { return "metadata guard" }

// Marshal renders the object with its provenance header and DNS-name
// comments on CIDRs.
func Marshal(obj *Object, comment, notes []string, names map[string]string) ([]byte, error) {
	annotate := func(line string) (string, bool) {
		trimmed := strings.TrimPrefix(strings.TrimSpace(line), "- ")
		if n, ok := names[trimmed]; ok { // matchName: <name>
			return n, true
		}
		n, ok := names[strings.TrimPrefix(trimmed, "cidr: ")]
		return n, ok
	}
	return output.Marshal(obj, obj.Kind, obj.Metadata.Name, comment, notes, output.Generated, annotate)
}
