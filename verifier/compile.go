// This file compiles NetworkPolicies into the Engine's indexed form: New,
// Normalize and the per-rule, per-peer and per-port compilation.

package verifier

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// namespacePolicies indexes one namespace's policies by direction, each slice
// sorted by name.
type namespacePolicies struct {
	ingress, egress []*compiledPolicy
	// the policies by the labels their podSelector needs (index.go)
	ingressIdx, egressIdx *selectorIndex
}

type compiledPolicy struct {
	key          string // "namespace/name"
	namespace    string
	podSelector  labels.Selector
	ingress      bool
	egress       bool
	ingressRules []compiledRule
	egressRules  []compiledRule
}

type compiledRule struct {
	allPeers bool // from/to empty: every peer
	peers    []compiledPeer
	// peerIdx narrows a long peer list to the peers a pod can match
	// (index.go); nil for short lists
	peerIdx  *selectorIndex
	allPorts bool // ports empty: every port and protocol
	ports    []compiledPort
	hasNamed bool
}

type compiledPeer struct {
	isIPBlock bool
	cidr      netip.Prefix
	except    []netip.Prefix
	// podSelector nil means every pod; nsSelector nil means only the
	// policy's namespace.
	podSelector labels.Selector
	nsSelector  labels.Selector
	// nsName is set when nsSelector selects one namespace by its name
	// label only (flowfence's peers): compared without a label lookup
	nsName string
}

type portKind uint8

const (
	portAll portKind = iota
	portNumber
	portRange
	portNamed
)

type compiledPort struct {
	protocol corev1.Protocol
	kind     portKind
	port     int32
	end      int32
	name     string
}

// New validates the policies as the API server would, normalizes them (see
// Normalize) and compiles them for evaluation. Two policies with the same
// namespace and name are an error.
func New(policies []*networkingv1.NetworkPolicy, opts Options) (*Engine, error) {
	cni := opts.CNI
	switch cni {
	case "":
		cni = CNIKubernetes
	case CNIKubernetes, CNICilium:
	default:
		return nil, fmt.Errorf("verifier: unknown CNI %q (want %q or %q)", opts.CNI, CNIKubernetes, CNICilium)
	}
	e := &Engine{cni: cni, byNamespace: make(map[string]*namespacePolicies)}
	seen := make(map[string]bool, len(policies))
	compiled, errs := compileAll(policies)
	for i := range policies {
		if errs[i] != nil {
			return nil, errs[i]
		}
		cp := compiled[i]
		if seen[cp.key] {
			return nil, fmt.Errorf("verifier: policy %d: duplicate policy %s", i, cp.key)
		}
		seen[cp.key] = true
		idx := e.byNamespace[cp.namespace]
		if idx == nil {
			idx = &namespacePolicies{}
			e.byNamespace[cp.namespace] = idx
		}
		if cp.ingress {
			idx.ingress = append(idx.ingress, cp)
		}
		if cp.egress {
			idx.egress = append(idx.egress, cp)
		}
		e.count++
	}
	byKey := func(a, b *compiledPolicy) int { return cmp.Compare(a.key, b.key) }
	for _, idx := range e.byNamespace {
		slices.SortFunc(idx.ingress, byKey)
		slices.SortFunc(idx.egress, byKey)
		idx.ingressIdx, idx.egressIdx = newSelectorIndex(idx.ingress), newSelectorIndex(idx.egress)
	}
	return e, nil
}

// Normalize returns a deep copy of np as the API server would store it:
// namespace "default" when empty, policyTypes defaulted (Ingress, plus Egress
// when there are egress rules), port protocols defaulted to TCP, and empty
// lists and maps stored as nil. np is not modified; nil yields nil.
func Normalize(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	if np == nil {
		return nil
	}
	out := np.DeepCopy()
	if out.Namespace == "" {
		out.Namespace = DefaultNamespace
	}
	spec := &out.Spec
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) > 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	normalizeSelector(&spec.PodSelector)
	if len(spec.Ingress) == 0 {
		spec.Ingress = nil
	}
	for i := range spec.Ingress {
		normalizeRule(&spec.Ingress[i].Ports, &spec.Ingress[i].From)
	}
	if len(spec.Egress) == 0 {
		spec.Egress = nil
	}
	for i := range spec.Egress {
		normalizeRule(&spec.Egress[i].Ports, &spec.Egress[i].To)
	}
	return out
}

// normalizeRule normalizes the ports and peers (from or to) of one
// ingress or egress rule.
func normalizeRule(ports *[]networkingv1.NetworkPolicyPort, peers *[]networkingv1.NetworkPolicyPeer) {
	*ports = normalizePorts(*ports)
	*peers = normalizePeers(*peers)
}

func normalizeSelector(s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	if len(s.MatchLabels) == 0 {
		s.MatchLabels = nil
	}
	if len(s.MatchExpressions) == 0 {
		s.MatchExpressions = nil
	}
	for i := range s.MatchExpressions {
		if len(s.MatchExpressions[i].Values) == 0 {
			s.MatchExpressions[i].Values = nil
		}
	}
}

func normalizePorts(ports []networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort {
	if len(ports) == 0 {
		return nil
	}
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
	return ports
}

func normalizePeers(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	if len(peers) == 0 {
		return nil
	}
	for i := range peers {
		p := &peers[i]
		normalizeSelector(p.PodSelector)
		normalizeSelector(p.NamespaceSelector)
		if p.IPBlock != nil && len(p.IPBlock.Except) == 0 {
			p.IPBlock.Except = nil
		}
	}
	return peers
}

// compilePolicy validates a normalized policy and precomputes its selectors,
// CIDRs and ports.
func compilePolicy(np *networkingv1.NetworkPolicy, sels selectorCache) (*compiledPolicy, error) {
	if np.Name == "" {
		return nil, errors.New("metadata.name is empty")
	}
	key := np.Namespace + "/" + np.Name
	cp := &compiledPolicy{key: key, namespace: np.Namespace}
	sel, err := sels.compile(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("%s: spec.podSelector: %w", key, err)
	}
	cp.podSelector = sel
	for i, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			if cp.ingress {
				return nil, fmt.Errorf("%s: spec.policyTypes[%d]: duplicate %q", key, i, t)
			}
			cp.ingress = true
		case networkingv1.PolicyTypeEgress:
			if cp.egress {
				return nil, fmt.Errorf("%s: spec.policyTypes[%d]: duplicate %q", key, i, t)
			}
			cp.egress = true
		default:
			return nil, fmt.Errorf("%s: spec.policyTypes[%d]: unsupported value %q", key, i, t)
		}
	}
	for i, r := range np.Spec.Ingress {
		cr, err := compileRule(r.Ports, r.From, sels)
		if err != nil {
			return nil, fmt.Errorf("%s: spec.ingress[%d]: %w", key, i, err)
		}
		cp.ingressRules = append(cp.ingressRules, cr)
	}
	for i, r := range np.Spec.Egress {
		cr, err := compileRule(r.Ports, r.To, sels)
		if err != nil {
			return nil, fmt.Errorf("%s: spec.egress[%d]: %w", key, i, err)
		}
		cp.egressRules = append(cp.egressRules, cr)
	}
	return cp, nil
}

func compileRule(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, sels selectorCache) (compiledRule, error) {
	var cr compiledRule
	cr.allPorts = len(ports) == 0
	for i, p := range ports {
		cpt, err := compilePort(p)
		if err != nil {
			return cr, fmt.Errorf("ports[%d]: %w", i, err)
		}
		cr.hasNamed = cr.hasNamed || cpt.kind == portNamed
		cr.ports = append(cr.ports, cpt)
	}
	cr.allPeers = len(peers) == 0
	for i, p := range peers {
		cpe, err := compilePeer(p, sels)
		if err != nil {
			return cr, fmt.Errorf("peers[%d]: %w", i, err)
		}
		cr.peers = append(cr.peers, cpe)
	}
	cr.peerIdx = newPeerIndex(cr.peers)
	return cr, nil
}

func compilePort(p networkingv1.NetworkPolicyPort) (compiledPort, error) {
	cpt := compiledPort{protocol: corev1.ProtocolTCP}
	if p.Protocol != nil {
		cpt.protocol = *p.Protocol
	}
	switch cpt.protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		return cpt, fmt.Errorf("protocol %q is not TCP, UDP or SCTP", cpt.protocol)
	}
	switch {
	case p.Port == nil:
		if p.EndPort != nil {
			return cpt, errors.New("endPort requires a numeric port")
		}
		cpt.kind = portAll
	case p.Port.Type == intstr.String:
		if p.EndPort != nil {
			return cpt, fmt.Errorf("endPort cannot be used with named port %q", p.Port.StrVal)
		}
		if msgs := validation.IsValidPortName(p.Port.StrVal); len(msgs) > 0 {
			return cpt, fmt.Errorf("port name %q: %s", p.Port.StrVal, strings.Join(msgs, "; "))
		}
		cpt.kind = portNamed
		cpt.name = p.Port.StrVal
	default:
		if p.Port.IntVal < 1 || p.Port.IntVal > 65535 {
			return cpt, fmt.Errorf("port %d is outside 1-65535", p.Port.IntVal)
		}
		cpt.kind = portNumber
		cpt.port = p.Port.IntVal
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal || *p.EndPort > 65535 {
				return cpt, fmt.Errorf("endPort %d must be within %d-65535", *p.EndPort, p.Port.IntVal)
			}
			cpt.kind = portRange
			cpt.end = *p.EndPort
		}
	}
	return cpt, nil
}

func compilePeer(p networkingv1.NetworkPolicyPeer, sels selectorCache) (compiledPeer, error) {
	var cpe compiledPeer
	if p.IPBlock != nil {
		if p.PodSelector != nil || p.NamespaceSelector != nil {
			return cpe, errors.New("ipBlock cannot be combined with podSelector or namespaceSelector")
		}
		cidr, err := parseCIDR(p.IPBlock.CIDR)
		if err != nil {
			return cpe, fmt.Errorf("ipBlock.cidr: %w", err)
		}
		cpe.isIPBlock = true
		cpe.cidr = cidr
		for i, s := range p.IPBlock.Except {
			ex, err := parseCIDR(s)
			if err != nil {
				return cpe, fmt.Errorf("ipBlock.except[%d]: %w", i, err)
			}
			if ex.Addr().Is4() != cidr.Addr().Is4() || ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()) {
				return cpe, fmt.Errorf("ipBlock.except[%d]: %s must be a strict subset of %s", i, s, p.IPBlock.CIDR)
			}
			cpe.except = append(cpe.except, ex)
		}
		return cpe, nil
	}
	if p.PodSelector == nil && p.NamespaceSelector == nil {
		return cpe, errors.New("a peer needs podSelector, namespaceSelector or ipBlock")
	}
	if p.PodSelector != nil {
		s, err := sels.compile(p.PodSelector)
		if err != nil {
			return cpe, fmt.Errorf("podSelector: %w", err)
		}
		cpe.podSelector = s
	}
	if p.NamespaceSelector != nil {
		s, err := sels.compile(p.NamespaceSelector)
		if err != nil {
			return cpe, fmt.Errorf("namespaceSelector: %w", err)
		}
		cpe.nsSelector = s
		if ml, ok := s.(matchLabels); ok && len(ml.pairs) == 1 && ml.pairs[0].key == NamespaceNameLabel {
			cpe.nsName = ml.pairs[0].value
		}
	}
	return cpe, nil
}

// parseCIDR parses a CIDR the way the API server accepts it, masking host
// bits ("10.0.0.1/8" is 10.0.0.0/8).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse CIDR %q: %w", s, err)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("parse CIDR %q: IPv4-mapped IPv6 prefixes are not supported", s)
	}
	return p.Masked(), nil
}
