// Package verifier evaluates Kubernetes NetworkPolicy semantics: given a set
// of NetworkPolicies it answers whether a single flow (source peer,
// destination peer, protocol, port) is admitted, and explains which policies
// isolated each side and which rules admitted it.
//
// It is flowfence's reference oracle for generated policies. The semantics
// are those of the NetworkPolicy API as the API server defaults and validates
// it and as sigs.k8s.io/kube-network-policies enforces it:
//
//   - Egress of the source pod is checked against the policies of the
//     source's namespace that select it and whose policyTypes include Egress;
//     ingress of the destination pod against the policies of the
//     destination's namespace that select it with policyTypes including
//     Ingress. A direction no policy selects is open; a peer that is not a
//     pod has no policies of its own. Traffic is allowed when both
//     directions admit it.
//   - Empty policyTypes default to Ingress, plus Egress when the policy has
//     egress rules; an empty port protocol defaults to TCP; empty and nil
//     rule lists are the same (the API server stores both as nil), so a
//     policy type without rules denies everything in that direction.
//   - Named ports resolve through the destination pod's container ports, in
//     both directions.
//   - Namespaces carry the immutable label kubernetes.io/metadata.name set to
//     their name, as the API server sets it; Evaluate adds it when
//     Peer.NamespaceLabels lacks it.
//   - A policy or pod with an empty namespace is in namespace "default".
//
// With CNI "cilium", ipBlock peers never match a pod or a node: Cilium
// applies CIDR rules only to peers outside the cluster.
//
// Protocols other than TCP, UDP and SCTP cannot be expressed by a
// NetworkPolicy port; such traffic gets the verdict Inexpressible when a
// policy isolates either side, and Allowed when neither side is isolated.
// The ingress from a pod's own node (kubelet probes), which the API
// documentation allows implicitly, is not modelled: nodes are ordinary
// peers.
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

// CNI names the network plugin whose NetworkPolicy implementation the engine
// mimics where implementations differ.
type CNI string

const (
	// CNIKubernetes is upstream semantics, as in
	// sigs.k8s.io/kube-network-policies: ipBlock peers match any IP,
	// including pod and node IPs. It is the default.
	CNIKubernetes CNI = "kubernetes"
	// CNICilium is Cilium's semantics: ipBlock peers match only peers that
	// are neither pods nor nodes.
	CNICilium CNI = "cilium"
)

// DefaultNamespace is the namespace of a policy or pod whose namespace is
// empty.
const DefaultNamespace = "default"

// NamespaceNameLabel is the label the API server puts on every namespace,
// with the namespace's name as its value.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Options configures an Engine.
type Options struct {
	// CNI selects implementation-specific semantics; empty means
	// CNIKubernetes.
	CNI CNI
}

// NamedPort is a container port a pod declares under a name.
type NamedPort struct {
	Port     int32
	Protocol corev1.Protocol // empty means TCP, as in a container port
}

// Peer is one end of a flow.
type Peer struct {
	// IsPod marks a pod; Namespace, Labels, NamespaceLabels and NamedPorts
	// describe it. A peer that is not a pod is matched by ipBlocks only.
	IsPod           bool
	Namespace       string
	Labels          map[string]string
	NamespaceLabels map[string]string
	// IP is the peer's address, matched against ipBlocks.
	IP netip.Addr
	// IsNode marks a node address (host or remote node); it matters for
	// CNICilium, whose ipBlocks do not match nodes.
	IsNode bool
	// NamedPorts maps a container port name to its port and protocol.
	NamedPorts map[string]NamedPort
	// Entity is the reserved identity of a peer that is not a pod (world,
	// host, remote-node, kube-apiserver, health, init, unmanaged, ingress;
	// empty for a pod, and for an address outside the cluster: world). The
	// Cilium engine matches entities by it; NetworkPolicy ignores it.
	Entity string
	// DNSNames are the names observed resolving to the peer's address,
	// matched by Cilium's toFQDNs.
	DNSNames []string
}

// Traffic is one flow from Src to Dst.
type Traffic struct {
	Src, Dst Peer
	// Protocol is TCP, UDP or SCTP (case-insensitive; empty means TCP), or
	// any other value, such as "ICMPv4" or "ICMPv6", for protocols a
	// NetworkPolicy cannot express.
	Protocol corev1.Protocol
	// Port is the destination port.
	Port int32
}

// Verdict is the outcome of evaluating one flow.
type Verdict int

const (
	// Allowed means both directions admit the flow.
	Allowed Verdict = iota + 1
	// Denied means a policy isolates a side and no rule admits the flow.
	Denied
	// Inexpressible means the flow uses a protocol NetworkPolicy cannot
	// express and a side is isolated: it is counted, not a failure.
	Inexpressible
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "Allowed"
	case Denied:
		return "Denied"
	case Inexpressible:
		return "Inexpressible"
	default:
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
}

// DirectionResult explains one direction (egress of the source or ingress of
// the destination).
type DirectionResult struct {
	// Isolated is true when at least one policy selects the pod for this
	// direction.
	Isolated bool
	// Allowed is true when the direction is not isolated or a rule admits
	// the flow. For protocols NetworkPolicy cannot express, only rules
	// without a ports list can admit it (such rules match every protocol in
	// kube-network-policies and cyclonus); the Verdict is then
	// Inexpressible all the same.
	Allowed bool
	// Policies are the "namespace/name" of the policies selecting the pod
	// in this direction, sorted.
	Policies []string
	// Matched are the policies, among Policies, with a rule admitting the
	// flow, sorted.
	Matched []string
	// UnknownNamedPort is true when a rule whose peers admit the flow names
	// a port (of the flow's protocol) the destination does not declare, so
	// that port entry could not match.
	UnknownNamedPort bool
	// Denied are the policies, among Policies, whose deny rule matches the
	// flow (Cilium ingressDeny/egressDeny, Calico action Deny): a deny wins
	// over every allow. NetworkPolicy has none.
	Denied []string
	// Detail says how a flavor with ordered rules reached the decision
	// (Calico: the tier and the deciding rule, or the end of a tier); empty
	// for NetworkPolicy.
	Detail string
}

// Result is the evaluation of one flow.
type Result struct {
	Verdict Verdict
	Egress  DirectionResult
	Ingress DirectionResult
	// Reason is a one-line human explanation of the verdict.
	Reason string
}

// Engine evaluates flows against a fixed set of NetworkPolicies. It is
// immutable after New and safe for concurrent use.
type Engine struct {
	cni         CNI
	byNamespace map[string]*namespacePolicies
	count       int
}

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

// Len returns the number of policies in the engine.
func (e *Engine) Len() int { return e.count }

// CNI returns the CNI semantics the engine applies.
func (e *Engine) CNI() CNI { return e.cni }

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
		r := &spec.Ingress[i]
		r.Ports = normalizePorts(r.Ports)
		r.From = normalizePeers(r.From)
	}
	if len(spec.Egress) == 0 {
		spec.Egress = nil
	}
	for i := range spec.Egress {
		r := &spec.Egress[i]
		r.Ports = normalizePorts(r.Ports)
		r.To = normalizePeers(r.To)
	}
	return out
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

func (e *Engine) peerMatches(cp *compiledPeer, policyNS string, peer *Peer) bool {
	if cp.isIPBlock {
		if e.cni == CNICilium && (peer.IsPod || peer.IsNode) {
			return false
		}
		if !peer.IP.IsValid() {
			return false
		}
		ip := peer.IP.Unmap().WithZone("")
		if !cp.cidr.Contains(ip) {
			return false
		}
		for _, ex := range cp.except {
			if ex.Contains(ip) {
				return false
			}
		}
		return true
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

func reason(r *Result, protocol corev1.Protocol) string {
	var b strings.Builder
	b.Grow(160)
	switch r.Verdict {
	case Inexpressible:
		fmt.Fprintf(&b, "inexpressible: protocol %q cannot be expressed by NetworkPolicy ports", protocol)
	case Allowed:
		b.WriteString("allowed")
	default:
		b.WriteString("denied")
	}
	b.WriteString(": egress ")
	describe(&b, &r.Egress)
	b.WriteString("; ingress ")
	describe(&b, &r.Ingress)
	return b.String()
}

func describe(b *strings.Builder, d *DirectionResult) {
	switch {
	case len(d.Denied) > 0:
		b.WriteString("denied by a deny rule of ")
		b.WriteString(strings.Join(d.Denied, ", "))
	case !d.Isolated && d.Detail != "":
	case !d.Isolated:
		b.WriteString("not isolated")
	case len(d.Matched) > 0:
		b.WriteString("admitted by ")
		b.WriteString(strings.Join(d.Matched, ", "))
	default:
		b.WriteString("isolated by ")
		b.WriteString(strings.Join(d.Policies, ", "))
		b.WriteString(" and no rule admits it")
		if d.UnknownNamedPort {
			b.WriteString(" (a named port is not declared by the destination)")
		}
	}
	if d.Detail != "" {
		if len(d.Denied) > 0 || d.Isolated {
			b.WriteString(": ")
		}
		b.WriteString(d.Detail)
	}
}
