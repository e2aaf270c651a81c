package calico

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/verifier"
)

// DefaultTier is the tier of a policy without spec.tier, and its order.
const (
	DefaultTier      = "default"
	defaultTierOrder = 1000000
)

// Engine evaluates flows against a fixed set of Calico policies and tiers.
// It is immutable after New and safe for concurrent use.
type Engine struct {
	tiers []*tier
	count int
}

var _ verifier.Evaluator = (*Engine)(nil)

type tier struct {
	name  string
	order float64 // +Inf when unset
	pass  bool    // defaultAction Pass
	// the global policies and the namespaced ones by namespace (they
	// select endpoints of it only), each in evaluation order
	global      []*policy
	byNamespace map[string][]*policy
}

// comparePolicies is the evaluation order in a tier: spec.order (unset
// last), then the name.
func comparePolicies(a, b *policy) int {
	return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.key, b.key))
}

// policies returns the tier's policies that can select an endpoint of
// namespace ns, in evaluation order.
func (t *tier) policies(ns string) []*policy {
	local := t.byNamespace[ns]
	switch {
	case len(local) == 0:
		return t.global
	case len(t.global) == 0:
		return local
	}
	out := make([]*policy, 0, len(local)+len(t.global))
	i, j := 0, 0
	for i < len(local) && j < len(t.global) {
		if comparePolicies(local[i], t.global[j]) <= 0 {
			out = append(out, local[i])
			i++
		} else {
			out = append(out, t.global[j])
			j++
		}
	}
	out = append(out, local[i:]...)
	return append(out, t.global[j:]...)
}

type policy struct {
	key       string
	namespace string // empty: global
	order     float64
	selector  expr
	nsSel     expr // global policies: spec.namespaceSelector (nil: every namespace)
	ingress   bool
	egress    bool
	inRules   []rule
	outRules  []rule
}

type rule struct {
	action      string
	proto       string // canonical name, "" any
	notProto    string
	ipVersion   int
	icmp        *int // type
	notICMP     *int
	peer, self  side
	ports       []portRange
	notPorts    []portRange
	hasPortsSet bool
}

// side is a compiled EntityRule.
type side struct {
	nets, notNets []netip.Prefix
	sel, notSel   expr
	nsSel         expr
}

type portRange struct {
	lo, hi int32
	name   string
}

// New compiles the objects as promotion leaves them (Promote: staged
// policies are evaluated as the policies they become). A policy naming a
// tier that is neither the default tier nor among the objects is an
// error, as is an object defined twice or anything New cannot evaluate;
// errors name the object.
func New(objs []*Object) (*Engine, error) {
	e := &Engine{}
	tiers := map[string]*tier{DefaultTier: {name: DefaultTier, order: defaultTierOrder}}
	if err := verifier.DefinedTwice(objs, func(o *Object) string { return o.Kind + " " + o.Key() }); err != nil {
		return nil, err
	}
	objs, _ = Promote(objs)
	for _, o := range objs {
		if o.Tier == nil {
			continue
		}
		id := o.ID()
		t := &tier{name: o.Name, order: math.Inf(1)}
		if o.Name == DefaultTier {
			t.order = defaultTierOrder
		}
		if o.Tier.Order != nil {
			t.order = *o.Tier.Order
		}
		switch o.Tier.DefaultAction {
		case "", caliout.ActionDeny:
		case caliout.ActionPass:
			t.pass = true
		default:
			return nil, fmt.Errorf("%s: spec.defaultAction %q is not Deny or Pass", id, o.Tier.DefaultAction)
		}
		tiers[o.Name] = t
		e.count++
	}
	for _, o := range objs {
		if o.Policy == nil {
			continue
		}
		id := o.ID()
		p, err := compilePolicy(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		tn := cmp.Or(o.Policy.Tier, DefaultTier)
		t := tiers[tn]
		if t == nil {
			return nil, fmt.Errorf("%s: spec.tier %q is not defined in the tree (no Tier object)", id, tn)
		}
		if p.namespace == "" {
			t.global = append(t.global, p)
		} else {
			if t.byNamespace == nil {
				t.byNamespace = map[string][]*policy{}
			}
			t.byNamespace[p.namespace] = append(t.byNamespace[p.namespace], p)
		}
		e.count++
	}
	for _, t := range tiers {
		slices.SortFunc(t.global, comparePolicies)
		for _, ps := range t.byNamespace {
			slices.SortFunc(ps, comparePolicies)
		}
		e.tiers = append(e.tiers, t)
	}
	slices.SortFunc(e.tiers, func(a, b *tier) int { return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.name, b.name)) })
	return e, nil
}

// Len returns the number of objects evaluated (policies as promoted,
// tiers).
func (e *Engine) Len() int { return e.count }

// CNI is verifier.CNICalico.
func (e *Engine) CNI() verifier.CNI { return verifier.CNICalico }

func compilePolicy(o *Object) (*policy, error) {
	s := o.Policy
	p := &policy{key: o.Key(), namespace: o.Namespace, order: math.Inf(1)}
	if s.Order != nil {
		p.order = *s.Order
	}
	var err error
	if p.selector, err = parseSelector(s.Selector); err != nil {
		return nil, fmt.Errorf("spec.selector: %w", err)
	}
	if s.NamespaceSelector != "" {
		if o.Namespace != "" {
			return nil, errors.New("spec.namespaceSelector: only global policies have one")
		}
		if p.nsSel, err = parseSelector(s.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("spec.namespaceSelector: %w", err)
		}
	}
	types := s.Types
	if len(types) == 0 {
		// Calico's default: Ingress, unless there are egress rules
		// (Egress, and Ingress too when there are ingress rules)
		switch {
		case len(s.Egress) == 0:
			types = []string{caliout.TypeIngress}
		case len(s.Ingress) == 0:
			types = []string{caliout.TypeEgress}
		default:
			types = []string{caliout.TypeIngress, caliout.TypeEgress}
		}
	}
	for i, t := range types {
		switch t {
		case caliout.TypeIngress:
			p.ingress = true
		case caliout.TypeEgress:
			p.egress = true
		default:
			return nil, fmt.Errorf("spec.types[%d]: %q is not Ingress or Egress", i, t)
		}
	}
	for i := range s.Ingress {
		r, err := compileRule(&s.Ingress[i], true)
		if err != nil {
			return nil, fmt.Errorf("spec.ingress[%d]: %w", i, err)
		}
		p.inRules = append(p.inRules, r)
	}
	for i := range s.Egress {
		r, err := compileRule(&s.Egress[i], false)
		if err != nil {
			return nil, fmt.Errorf("spec.egress[%d]: %w", i, err)
		}
		p.outRules = append(p.outRules, r)
	}
	return p, nil
}

func compileRule(r *Rule, ingress bool) (rule, error) {
	out := rule{action: r.Action, ipVersion: r.IPVersion}
	switch r.Action {
	case caliout.ActionAllow, caliout.ActionDeny, caliout.ActionPass, "Log":
	default:
		return out, fmt.Errorf("action %q is not Allow, Deny, Pass or Log", r.Action)
	}
	if r.IPVersion != 0 && r.IPVersion != 4 && r.IPVersion != 6 {
		return out, fmt.Errorf("ipVersion %d is not 4 or 6", r.IPVersion)
	}
	var err error
	if out.proto, err = protocolName(r.Protocol); err != nil {
		return out, fmt.Errorf("protocol: %w", err)
	}
	if out.notProto, err = protocolName(r.NotProtocol); err != nil {
		return out, fmt.Errorf("notProtocol: %w", err)
	}
	for i, f := range []*ICMPFields{r.ICMP, r.NotICMP} {
		if f == nil {
			continue
		}
		name := [...]string{"icmp", "notICMP"}[i]
		if f.Code != nil {
			return out, fmt.Errorf("%s.code: flows carry no ICMP code", name)
		}
		if out.proto != "ICMP" && out.proto != "ICMPv6" {
			return out, fmt.Errorf("%s needs protocol ICMP or ICMPv6", name)
		}
	}
	if r.ICMP != nil {
		out.icmp = r.ICMP.Type
	}
	if r.NotICMP != nil {
		out.notICMP = r.NotICMP.Type
	}
	src, dst := r.Source, r.Destination
	if src == nil {
		src = &EntityRule{}
	}
	if dst == nil {
		dst = &EntityRule{}
	}
	if len(src.Ports)+len(src.NotPorts) > 0 {
		return out, errors.New("source.ports/notPorts: flows carry no source port")
	}
	peer, self, peerName, selfName := src, dst, "source", "destination"
	if !ingress {
		peer, self, peerName, selfName = dst, src, "destination", "source"
	}
	if len(self.Nets)+len(self.NotNets) > 0 {
		return out, fmt.Errorf("%s.nets/notNets: the %s is the policy's own endpoint, whose address flows do not give", selfName, selfName)
	}
	if out.peer, err = compileSide(peer); err != nil {
		return out, fmt.Errorf("%s: %w", peerName, err)
	}
	if out.self, err = compileSide(self); err != nil {
		return out, fmt.Errorf("%s: %w", selfName, err)
	}
	if len(dst.Ports)+len(dst.NotPorts) > 0 {
		switch out.proto {
		case "TCP", "UDP", "SCTP", "UDPLite":
		default:
			return out, errors.New("destination.ports needs protocol TCP, UDP, SCTP or UDPLite")
		}
		out.hasPortsSet = len(dst.Ports) > 0
		if out.ports, err = compilePorts(dst.Ports); err != nil {
			return out, fmt.Errorf("destination.ports: %w", err)
		}
		if out.notPorts, err = compilePorts(dst.NotPorts); err != nil {
			return out, fmt.Errorf("destination.notPorts: %w", err)
		}
	}
	return out, nil
}

func compileSide(er *EntityRule) (side, error) {
	var s side
	var err error
	for i, n := range er.Nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return s, fmt.Errorf("nets[%d]: %w", i, err)
		}
		s.nets = append(s.nets, p.Masked())
	}
	for i, n := range er.NotNets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return s, fmt.Errorf("notNets[%d]: %w", i, err)
		}
		s.notNets = append(s.notNets, p.Masked())
	}
	if er.Selector != "" {
		if s.sel, err = parseSelector(er.Selector); err != nil {
			return s, fmt.Errorf("selector: %w", err)
		}
	}
	if er.NotSelector != "" {
		if s.notSel, err = parseSelector(er.NotSelector); err != nil {
			return s, fmt.Errorf("notSelector: %w", err)
		}
	}
	if er.NamespaceSelector != "" {
		if s.nsSel, err = parseSelector(er.NamespaceSelector); err != nil {
			return s, fmt.Errorf("namespaceSelector: %w", err)
		}
	}
	return s, nil
}

// protocolName canonicalises a Calico protocol (name or number).
func protocolName(raw Protocol) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	names := map[string]string{"TCP": "TCP", "UDP": "UDP", "ICMP": "ICMP", "ICMPV6": "ICMPv6", "SCTP": "SCTP", "UDPLITE": "UDPLite"}
	numbers := map[float64]string{6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6", 132: "SCTP", 136: "UDPLite"}
	switch t := v.(type) {
	case string:
		if n, ok := names[strings.ToUpper(t)]; ok {
			return n, nil
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			if n, ok := numbers[f]; ok {
				return n, nil
			}
		}
	case float64:
		if n, ok := numbers[t]; ok {
			return n, nil
		}
		if t >= 0 && t <= 255 && t == math.Trunc(t) {
			return strconv.Itoa(int(t)), nil
		}
	}
	return "", fmt.Errorf("%s is not TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number", string(raw))
}

func compilePorts(raw []json.RawMessage) ([]portRange, error) {
	var out []portRange
	for i, r := range raw {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		var pr portRange
		switch t := v.(type) {
		case float64:
			if t < 0 || t > 65535 || t != math.Trunc(t) {
				return nil, fmt.Errorf("[%d]: port %v is outside 0-65535", i, t)
			}
			pr.lo, pr.hi = int32(t), int32(t)
		case string:
			lo, hi, isRange := strings.Cut(t, ":")
			a, errA := strconv.ParseUint(lo, 10, 16)
			switch {
			case isRange:
				b, errB := strconv.ParseUint(hi, 10, 16)
				if errA != nil || errB != nil || b < a {
					return nil, fmt.Errorf("[%d]: port range %q is not lo:hi within 0-65535", i, t)
				}
				pr.lo, pr.hi = int32(a), int32(b)
			case errA == nil:
				pr.lo, pr.hi = int32(a), int32(a)
			default:
				pr.name = t
			}
		default:
			return nil, fmt.Errorf("[%d]: %s is not a port", i, string(r))
		}
		out = append(out, pr)
	}
	return out, nil
}
