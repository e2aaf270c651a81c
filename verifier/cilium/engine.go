package cilium

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/verifier"
)

// Engine evaluates flows against a fixed set of Cilium policies. It is
// immutable after New and safe for concurrent use.
type Engine struct {
	// rules of namespaced policies by namespace (they select pods of it
	// only), and of clusterwide ones; each sorted by key
	byNamespace map[string][]*rule
	clusterwide []*rule
	count       int
}

var _ verifier.Evaluator = (*Engine)(nil)

// rule is one compiled api.Rule of a policy object.
type rule struct {
	key     string
	subject selector
	// the entries of each direction, allow and deny
	ingress, ingressDeny, egress, egressDeny []entry
	// defaultDeny per direction: the rule has entries of that direction
	// and enableDefaultDeny does not turn it off
	ingressDD, egressDD bool
}

// entry is one ingress or egress rule: peers (L3) and ports (L4).
type entry struct {
	// none: an explicitly empty peer list, which selects nothing
	none  bool
	peers []peer
	// l4 are the port and ICMP entries; without any, a rule with peers
	// admits every protocol and a rule without peers nothing
	l4 []port
}

type peerKind uint8

const (
	peerEndpoints peerKind = iota
	peerEntity
	peerCIDR
	peerFQDN
)

type peer struct {
	kind    peerKind
	sel     selector
	entity  string
	cidr    netip.Prefix
	except  []netip.Prefix
	fqdn    string         // matchName, lower case without the final dot
	pattern *regexp.Regexp // matchPattern
}

type port struct {
	proto corev1.Protocol // TCP, UDP, SCTP, ICMPv4, ICMPv6
	all   bool            // port 0: every port (ICMP: every type)
	lo    int32
	hi    int32
	name  string // a named port
}

// New compiles the policies. Two objects of the same kind and key are an
// error, as is anything New cannot evaluate; errors name the object.
func New(objs []*Object) (*Engine, error) {
	if err := verifier.DefinedTwice(objs, func(o *Object) string { return o.Kind + " " + o.Key() }); err != nil {
		return nil, err
	}
	e := &Engine{byNamespace: map[string][]*rule{}}
	for _, o := range objs {
		id := o.Kind + " " + o.Key()
		ns := o.Namespace
		if o.Kind == ciliumout.KindCiliumClusterwideNetworkPolicy {
			ns = ""
		}
		for i := range o.Rules {
			r, err := compileRule(&o.Rules[i], ns, o.Key())
			if err != nil {
				where := id
				if len(o.Rules) > 1 {
					where = fmt.Sprintf("%s: specs[%d]", id, i)
				}
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if ns == "" {
				e.clusterwide = append(e.clusterwide, r)
			} else {
				e.byNamespace[ns] = append(e.byNamespace[ns], r)
			}
		}
		e.count++
	}
	byKey := func(a, b *rule) int { return cmp.Compare(a.key, b.key) }
	slices.SortStableFunc(e.clusterwide, byKey)
	for _, rs := range e.byNamespace {
		slices.SortStableFunc(rs, byKey)
	}
	return e, nil
}

// Len returns the number of policy objects.
func (e *Engine) Len() int { return e.count }

// CNI is verifier.CNICilium.
func (e *Engine) CNI() verifier.CNI { return verifier.CNICilium }

func compileRule(r *Rule, ns, key string) (*rule, error) {
	subj, err := subjectSelector(r.EndpointSelector, ns)
	if err != nil {
		return nil, fmt.Errorf("endpointSelector: %w", err)
	}
	out := &rule{key: key, subject: subj}
	if out.ingress, err = compileAll("ingress", r.Ingress, ns, false, compileIngress); err != nil {
		return nil, err
	}
	if out.ingressDeny, err = compileAll("ingressDeny", r.IngressDeny, ns, true, compileIngress); err != nil {
		return nil, err
	}
	if out.egress, err = compileAll("egress", r.Egress, ns, false, compileEgress); err != nil {
		return nil, err
	}
	if out.egressDeny, err = compileAll("egressDeny", r.EgressDeny, ns, true, compileEgress); err != nil {
		return nil, err
	}
	dd := r.EnableDefaultDeny
	out.ingressDD = len(out.ingress)+len(out.ingressDeny) > 0 && (dd == nil || dd.Ingress == nil || *dd.Ingress)
	out.egressDD = len(out.egress)+len(out.egressDeny) > 0 && (dd == nil || dd.Egress == nil || *dd.Egress)
	return out, nil
}

// compileAll compiles each rule of the list name (deny: a deny list) of
// namespace ns; an error names the rule by its index.
func compileAll[R any](name string, rules []R, ns string, deny bool, compile func(*R, string, bool) (entry, error)) ([]entry, error) {
	var out []entry
	for i := range rules {
		en, err := compile(&rules[i], ns, deny)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		out = append(out, en)
	}
	return out, nil
}

func compileIngress(r *IngressRule, ns string, deny bool) (entry, error) {
	var en entry
	if count(len(r.FromEndpoints) > 0, len(r.FromCIDR) > 0, len(r.FromCIDRSet) > 0, len(r.FromEntities) > 0) > 1 {
		return en, errors.New("combines more than one of fromEndpoints, fromCIDR, fromCIDRSet, fromEntities (Cilium refuses it)")
	}
	for i, pr := range r.ToPorts {
		if pr.Rules != nil {
			return en, fmt.Errorf("toPorts[%d]: DNS rules on ingress (Cilium refuses them)", i)
		}
	}
	if err := en.addL3("from", ns, r.FromEndpoints, r.FromCIDR, r.FromCIDRSet, r.FromEntities); err != nil {
		return en, err
	}
	return en, en.addPorts(r.ToPorts, r.ICMPs, deny)
}

func compileEgress(r *EgressRule, ns string, deny bool) (entry, error) {
	var en entry
	if count(len(r.ToEndpoints) > 0, len(r.ToCIDR) > 0, len(r.ToCIDRSet) > 0, len(r.ToEntities) > 0, len(r.ToFQDNs) > 0) > 1 {
		return en, errors.New("combines more than one of toEndpoints, toCIDR, toCIDRSet, toEntities, toFQDNs (Cilium refuses it)")
	}
	if deny && r.ToFQDNs != nil {
		return en, errors.New("toFQDNs in a deny rule (Cilium refuses it)")
	}
	if err := en.addL3("to", ns, r.ToEndpoints, r.ToCIDR, r.ToCIDRSet, r.ToEntities); err != nil {
		return en, err
	}
	for i, f := range r.ToFQDNs {
		p, err := compileFQDN(f)
		if err != nil {
			return en, fmt.Errorf("toFQDNs[%d]: %w", i, err)
		}
		en.peers = append(en.peers, p)
	}
	return en, en.addPorts(r.ToPorts, r.ICMPs, deny)
}

// count is how many of conds hold.
func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}

// addL3 adds the peers a rule lists in its members prefix+"Endpoints",
// prefix+"CIDR", prefix+"CIDRSet" and prefix+"Entities" (prefix "from" or
// "to"); one of them given but empty makes the entry select nothing.
func (en *entry) addL3(prefix, ns string, eps []ciliumout.Selector, cidrs []string, sets []ciliumout.CIDRRule, ents []string) error {
	en.none = isEmpty(eps) || isEmpty(cidrs) || isEmpty(sets) || isEmpty(ents)
	if err := en.addEndpoints(eps, ns, prefix+"Endpoints"); err != nil {
		return err
	}
	if err := en.addCIDRs(cidrs, sets, prefix); err != nil {
		return err
	}
	return en.addEntities(ents, prefix+"Entities")
}

// isEmpty reports a list given but empty: Cilium's "selects nothing".
func isEmpty[T any](s []T) bool { return s != nil && len(s) == 0 }

func (en *entry) addEndpoints(sels []ciliumout.Selector, ns, field string) error {
	for i := range sels {
		s, err := peerSelector(&sels[i], ns)
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		en.peers = append(en.peers, peer{kind: peerEndpoints, sel: s})
	}
	return nil
}

func (en *entry) addEntities(ents []string, field string) error {
	for i, e := range ents {
		if !validEntity(e) {
			return fmt.Errorf("%s[%d]: unknown entity %q", field, i, e)
		}
		en.peers = append(en.peers, peer{kind: peerEntity, entity: e})
	}
	return nil
}

func (en *entry) addCIDRs(cidrs []string, sets []ciliumout.CIDRRule, dir string) error {
	for i, c := range cidrs {
		p, err := parseCIDR(c)
		if err != nil {
			return fmt.Errorf("%sCIDR[%d]: %w", dir, i, err)
		}
		en.peers = append(en.peers, peer{kind: peerCIDR, cidr: p})
	}
	for i, s := range sets {
		p, err := parseCIDR(s.CIDR)
		if err != nil {
			return fmt.Errorf("%sCIDRSet[%d].cidr: %w", dir, i, err)
		}
		pe := peer{kind: peerCIDR, cidr: p}
		for j, x := range s.Except {
			xp, err := parseCIDR(x)
			if err != nil {
				return fmt.Errorf("%sCIDRSet[%d].except[%d]: %w", dir, i, j, err)
			}
			if xp.Addr().Is4() != p.Addr().Is4() || xp.Bits() < p.Bits() || !p.Contains(xp.Addr()) {
				return fmt.Errorf("%sCIDRSet[%d].except[%d]: %s is not within %s", dir, i, j, x, s.CIDR)
			}
			pe.except = append(pe.except, xp)
		}
		en.peers = append(en.peers, pe)
	}
	return nil
}

// parseCIDR parses a CIDR, or an address as its host prefix (Cilium
// accepts both).
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parse CIDR %q: %w", s, err)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse CIDR %q: %w", s, err)
	}
	return p.Masked(), nil
}

func compileFQDN(f ciliumout.FQDNSelector) (peer, error) {
	switch {
	case f.MatchName != "" && f.MatchPattern != "":
		return peer{}, errors.New("both matchName and matchPattern")
	case f.MatchName != "":
		return peer{kind: peerFQDN, fqdn: normalizeName(f.MatchName)}, nil
	case f.MatchPattern != "":
		re, err := patternRegexp(f.MatchPattern)
		if err != nil {
			return peer{}, err
		}
		return peer{kind: peerFQDN, pattern: re}, nil
	}
	return peer{}, errors.New("neither matchName nor matchPattern")
}

func normalizeName(n string) string { return strings.TrimSuffix(strings.ToLower(n), ".") }

// patternRegexp is Cilium's matchpattern: "*" alone matches every name,
// a leading "**." one or more labels, any other "*" zero or more
// characters of one label.
func patternRegexp(p string) (*regexp.Regexp, error) {
	p = normalizeName(p)
	if p == "*" {
		return regexp.MustCompile(`^.*$`), nil
	}
	var b strings.Builder
	b.WriteString("^")
	if rest, ok := strings.CutPrefix(p, "**."); ok {
		b.WriteString(`([-a-z0-9_]+\.)+`)
		p = rest
	}
	for i, part := range strings.Split(p, "*") {
		if i > 0 {
			b.WriteString(`[-a-z0-9_]*`)
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("matchPattern %q: %w", p, err)
	}
	return re, nil
}

func (en *entry) addPorts(prs []ciliumout.PortRule, icmps []ICMPRule, deny bool) error {
	for i, pr := range prs {
		if deny && pr.Rules != nil {
			return fmt.Errorf("toPorts[%d]: L7 rules in a deny rule (Cilium refuses it)", i)
		}
		if len(pr.Ports) == 0 {
			// a port rule without ports adds nothing, but still makes
			// the rule a port-restricted one
			en.l4 = append(en.l4, port{proto: "none"})
		}
		for j, pp := range pr.Ports {
			ps, err := compilePort(pp)
			if err != nil {
				return fmt.Errorf("toPorts[%d].ports[%d]: %w", i, j, err)
			}
			en.l4 = append(en.l4, ps...)
		}
	}
	if len(prs) > 0 && len(icmps) > 0 {
		return errors.New("toPorts and icmps in one rule (Cilium refuses it)")
	}
	for i, ir := range icmps {
		if len(ir.Fields) == 0 {
			en.l4 = append(en.l4, port{proto: "none"})
		}
		for j, f := range ir.Fields {
			p, err := compileICMP(f)
			if err != nil {
				return fmt.Errorf("icmps[%d].fields[%d]: %w", i, j, err)
			}
			en.l4 = append(en.l4, p)
		}
	}
	return nil
}

func compilePort(pp ciliumout.PortProtocol) ([]port, error) {
	var protos []corev1.Protocol
	switch strings.ToUpper(pp.Protocol) {
	case "", "ANY":
		protos = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	case "TCP", "UDP", "SCTP":
		protos = []corev1.Protocol{corev1.Protocol(strings.ToUpper(pp.Protocol))}
	case "ICMP":
		protos = []corev1.Protocol{"ICMPv4"}
	case "ICMPV6":
		protos = []corev1.Protocol{"ICMPv6"}
	default:
		return nil, fmt.Errorf("unknown protocol %q", pp.Protocol)
	}
	var p port
	switch n, err := strconv.ParseUint(pp.Port, 10, 16); {
	case pp.Port == "" || err == nil && n == 0:
		if pp.EndPort != 0 {
			return nil, fmt.Errorf("endPort %d without a port", pp.EndPort)
		}
		p.all = true
	case err == nil:
		p.lo, p.hi = int32(n), int32(n)
		if pp.EndPort != 0 {
			if pp.EndPort < p.lo || pp.EndPort > 65535 {
				return nil, fmt.Errorf("endPort %d must be within %d-65535", pp.EndPort, p.lo)
			}
			p.hi = pp.EndPort
		}
	default:
		if pp.EndPort != 0 {
			return nil, fmt.Errorf("endPort with the named port %q", pp.Port)
		}
		if _, err := strconv.Atoi(pp.Port); err == nil {
			return nil, fmt.Errorf("port %s is outside 0-65535", pp.Port)
		}
		p.name = strings.ToLower(pp.Port)
	}
	out := make([]port, 0, len(protos))
	for _, pr := range protos {
		p.proto = pr
		out = append(out, p)
	}
	return out, nil
}

// icmpTypes are Cilium's ICMP type names (pkg/policy/api/icmp.go).
func icmpType(family, name string) (int32, bool) {
	v4 := map[string]int32{"EchoReply": 0, "DestinationUnreachable": 3, "Redirect": 5, "Echo": 8, "EchoRequest": 8,
		"RouterAdvertisement": 9, "RouterSelection": 10, "TimeExceeded": 11, "ParameterProblem": 12, "Timestamp": 13,
		"TimestampReply": 14, "Photuris": 40, "ExtendedEchoRequest": 42, "ExtendedEchoReply": 43}
	v6 := map[string]int32{"DestinationUnreachable": 1, "PacketTooBig": 2, "TimeExceeded": 3, "ParameterProblem": 4,
		"EchoRequest": 128, "EchoReply": 129, "MulticastListenerQuery": 130, "MulticastListenerReport": 131,
		"MulticastListenerDone": 132, "RouterSolicitation": 133, "RouterAdvertisement": 134, "NeighborSolicitation": 135,
		"NeighborAdvertisement": 136, "RedirectMessage": 137, "RouterRenumbering": 138, "ICMPNodeInformationQuery": 139,
		"ICMPNodeInformationResponse": 140, "InverseNeighborDiscoverySolicitation": 141,
		"InverseNeighborDiscoveryAdvertisement": 142, "HomeAgentAddressDiscoveryRequest": 144,
		"HomeAgentAddressDiscoveryReply": 145, "MobilePrefixSolicitation": 146, "MobilePrefixAdvertisement": 147,
		"DuplicateAddressRequestCodeSuffix": 157, "DuplicateAddressConfirmationCodeSuffix": 158,
		"ExtendedEchoRequest": 160, "ExtendedEchoReply": 161}
	m := v4
	if family == "IPv6" {
		m = v6
	}
	t, ok := m[name]
	return t, ok
}

func compileICMP(f ICMPField) (port, error) {
	p := port{proto: "ICMPv4"}
	switch f.Family {
	case "", "IPv4":
	case "IPv6":
		p.proto = "ICMPv6"
	default:
		return p, fmt.Errorf("family %q is not IPv4 or IPv6", f.Family)
	}
	var t int32
	if f.Type.Type == intstr.Int {
		t = f.Type.IntVal
	} else if n, err := strconv.Atoi(f.Type.StrVal); err == nil {
		t = int32(n)
	} else {
		var ok bool
		if t, ok = icmpType(f.Family, f.Type.StrVal); !ok {
			return p, fmt.Errorf("ICMP type %q is not a type of family %s", f.Type.StrVal, cmp.Or(f.Family, "IPv4"))
		}
	}
	if t < 0 || t > 255 {
		return p, fmt.Errorf("ICMP type %d is outside 0-255", t)
	}
	// Cilium keys ICMP by type as a port: 0 is every type
	p.all = t == 0
	p.lo, p.hi = t, t
	return p, nil
}
