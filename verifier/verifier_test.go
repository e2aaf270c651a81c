package verifier

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Builders keep the tables short.

func policy(ns, name string, sel *metav1.LabelSelector, types []networkingv1.PolicyType,
	ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: types,
			Ingress:     ingress,
			Egress:      egress,
		},
	}
	if sel != nil {
		np.Spec.PodSelector = *sel
	}
	return np
}

// mustNew compiles policies or fails the test.
func mustNew(tb testing.TB, policies []*networkingv1.NetworkPolicy, opts Options) *Engine {
	tb.Helper()
	e, err := New(policies, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

func ml(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	bothTypes   = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
)

func from(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyIngressRule {
	return []networkingv1.NetworkPolicyIngressRule{{From: peers}}
}

func to(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyEgressRule {
	return []networkingv1.NetworkPolicyEgressRule{{To: peers}}
}

func podPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel}
}

func nsPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: sel}
}

func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func proto(p corev1.Protocol) *corev1.Protocol { return &p }

func numPort(p *corev1.Protocol, port int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(port)
	return networkingv1.NetworkPolicyPort{Protocol: p, Port: &v}
}

func rangePort(p *corev1.Protocol, port, end int32) networkingv1.NetworkPolicyPort {
	np := numPort(p, port)
	np.EndPort = &end
	return np
}

func namedPort(p *corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: p, Port: &v}
}

func portsIn(ports ...networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyIngressRule {
	return []networkingv1.NetworkPolicyIngressRule{{Ports: ports}}
}

func portsOut(ports ...networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyEgressRule {
	return []networkingv1.NetworkPolicyEgressRule{{Ports: ports}}
}

// The test universe: pods a (namespace x) and b, b2 (namespace y), an
// external host, a node and IPv6 peers.
var (
	podA = Peer{IsPod: true, Namespace: "x", Labels: map[string]string{"app": "a"},
		NamespaceLabels: map[string]string{"team": "x"}, IP: netip.MustParseAddr("10.0.0.1"),
		NamedPorts: map[string]NamedPort{"http": {Port: 80, Protocol: corev1.ProtocolTCP}}}
	podB = Peer{IsPod: true, Namespace: "y", Labels: map[string]string{"app": "b", "tier": "web"},
		NamespaceLabels: map[string]string{"team": "y"}, IP: netip.MustParseAddr("10.0.1.1"),
		NamedPorts: map[string]NamedPort{
			"http": {Port: 8080},
			"dns":  {Port: 53, Protocol: corev1.ProtocolUDP},
		}}
	podB2 = Peer{IsPod: true, Namespace: "y", Labels: map[string]string{"app": "a"},
		NamespaceLabels: map[string]string{"team": "y"}, IP: netip.MustParseAddr("10.0.1.2")}
	podDefault = Peer{IsPod: true, Labels: map[string]string{"app": "d"}, IP: netip.MustParseAddr("10.0.2.1")}
	pod6       = Peer{IsPod: true, Namespace: "x", Labels: map[string]string{"app": "v6"},
		NamespaceLabels: map[string]string{"team": "x"}, IP: netip.MustParseAddr("fd00::10:5")}
	external  = Peer{IP: netip.MustParseAddr("192.0.2.10")}
	external6 = Peer{IP: netip.MustParseAddr("2001:db8::1")}
	node      = Peer{IsNode: true, IP: netip.MustParseAddr("172.16.0.5")}
)

func tcp(src, dst Peer, port int32) Traffic {
	return Traffic{Src: src, Dst: dst, Protocol: corev1.ProtocolTCP, Port: port}
}

func withProto(t Traffic, p corev1.Protocol) Traffic {
	t.Protocol = p
	return t
}

func TestEvaluate(t *testing.T) {
	denyIngressY := policy("y", "deny", &metav1.LabelSelector{}, ingressOnly, nil, nil)
	allowAllIngressY := policy("y", "allow-all", &metav1.LabelSelector{}, ingressOnly,
		[]networkingv1.NetworkPolicyIngressRule{{}}, nil)

	open := &DirectionResult{Allowed: true}
	tests := []struct {
		name     string
		cni      CNI
		policies []*networkingv1.NetworkPolicy
		traffic  Traffic
		want     check
	}{
		{
			name:    "no policies: allowed, nothing isolated",
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Allowed, egress: open, ingress: open},
		},
		{
			name:     "deny-all ingress isolates the destination",
			policies: []*networkingv1.NetworkPolicy{denyIngressY},
			traffic:  tcp(podA, podB, 80),
			want: check{verdict: Denied, egress: open,
				ingress: &DirectionResult{Isolated: true, Policies: []string{"y/deny"}}},
		},
		{
			name:     "policy in another namespace does not select the destination",
			policies: []*networkingv1.NetworkPolicy{policy("z", "deny", &metav1.LabelSelector{}, ingressOnly, nil, nil)},
			traffic:  tcp(podA, podB, 80),
			want:     check{verdict: Allowed, egress: open, ingress: open},
		},
		{
			name:     "podSelector not selecting the destination leaves it open",
			policies: []*networkingv1.NetworkPolicy{policy("y", "deny", ml("app", "other"), ingressOnly, nil, nil)},
			traffic:  tcp(podA, podB, 80),
			want:     check{verdict: Allowed, ingress: open},
		},
		{
			name: "policyTypes default: egress rules present imply Egress",
			policies: []*networkingv1.NetworkPolicy{policy("x", "eg", ml("app", "a"), nil, nil,
				to(podPeer(ml("app", "nobody"))))},
			traffic: tcp(podA, podB, 80),
			want: check{verdict: Denied,
				egress:  &DirectionResult{Isolated: true, Policies: []string{"x/eg"}},
				ingress: open},
		},
		{
			name: "policyTypes default: no egress rules means Ingress only",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny", &metav1.LabelSelector{}, nil, nil,
				[]networkingv1.NetworkPolicyEgressRule{})},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Allowed, egress: open, ingress: open},
		},
		{
			name: "policyTypes default: the Ingress-only default still isolates ingress",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny", &metav1.LabelSelector{}, nil, nil,
				[]networkingv1.NetworkPolicyEgressRule{})},
			traffic: tcp(podB, podA, 80),
			want:    check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"x/deny"}}},
		},
		{
			name: "ingress-only policy ignores its egress rules and leaves egress open",
			policies: []*networkingv1.NetworkPolicy{policy("x", "in", &metav1.LabelSelector{}, ingressOnly,
				[]networkingv1.NetworkPolicyIngressRule{{}}, to(podPeer(ml("app", "nobody"))))},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Allowed, egress: open},
		},
		{
			name:     "Egress type with nil egress denies all egress",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny-eg", &metav1.LabelSelector{}, egressOnly, nil, nil)},
			traffic:  tcp(podA, podB, 80),
			want:     check{verdict: Denied, egress: &DirectionResult{Isolated: true, Policies: []string{"x/deny-eg"}}, ingress: open},
		},
		{
			name: "Egress type with empty (non-nil) egress list denies all like nil",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny-eg", &metav1.LabelSelector{}, egressOnly, nil,
				[]networkingv1.NetworkPolicyEgressRule{})},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Denied},
		},
		{
			name: "Ingress type with empty (non-nil) ingress list denies all like nil",
			policies: []*networkingv1.NetworkPolicy{policy("y", "deny", &metav1.LabelSelector{}, ingressOnly,
				[]networkingv1.NetworkPolicyIngressRule{}, nil)},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Denied},
		},
		{
			name:     "an empty rule allows everything",
			policies: []*networkingv1.NetworkPolicy{allowAllIngressY},
			traffic:  tcp(external, podB, 9999),
			want: check{verdict: Allowed, egress: open, ingress: &DirectionResult{Isolated: true, Allowed: true,
				Policies: []string{"y/allow-all"}, Matched: []string{"y/allow-all"}}},
		},
		{
			name: "empty from list matches all peers (with ports)",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{},
					Ports: []networkingv1.NetworkPolicyPort{numPort(nil, 80)}}}, nil)},
			traffic: tcp(external, podB, 80),
			want:    check{verdict: Allowed},
		},
		{
			name: "nil from list with ports: other port denied",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				portsIn(numPort(nil, 80)), nil)},
			traffic: tcp(external, podB, 81),
			want:    check{verdict: Denied},
		},
		{
			name: "two peers are ORed",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				from(podPeer(ml("app", "zzz")), nsPeer(ml("team", "x"))), nil)},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Allowed},
		},
		{
			name: "egress ipBlock to a pod IP under CNI cilium is denied",
			cni:  CNICilium,
			policies: []*networkingv1.NetworkPolicy{policy("x", "eg", nil, egressOnly, nil,
				to(ipPeer("10.0.0.0/8")))},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Denied},
		},
		{
			name: "IPv6 egress ipBlock to an IPv6 pod (CNI kubernetes)",
			policies: []*networkingv1.NetworkPolicy{policy("y", "eg", nil, egressOnly, nil,
				to(ipPeer("fd00::/16", "fd00:1::/32")))},
			traffic: tcp(podB, pod6, 443),
			want:    check{verdict: Allowed},
		},
		{
			name:     "named port on ingress resolves on the destination",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly, portsIn(namedPort(nil, "http")), nil)},
			traffic:  tcp(podA, podB, 8080),
			want: check{verdict: Allowed, ingress: &DirectionResult{Isolated: true, Allowed: true,
				Policies: []string{"y/p"}, Matched: []string{"y/p"}}},
		},
		{
			name:     "named port does not resolve on the source",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly, portsIn(namedPort(nil, "http")), nil)},
			traffic:  tcp(podA, podB, 80), // 80 is http on podA (the source), 8080 on podB
			want:     check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/p"}}},
		},
		{
			name: "named port on egress resolves on the destination",
			policies: []*networkingv1.NetworkPolicy{policy("x", "eg", nil, egressOnly, nil,
				portsOut(namedPort(nil, "http")))},
			traffic: tcp(podA, podB, 8080),
			want:    check{verdict: Allowed},
		},
		{
			name: "named port on egress: source's own port number denied",
			policies: []*networkingv1.NetworkPolicy{policy("x", "eg", nil, egressOnly, nil,
				portsOut(namedPort(nil, "http")))},
			traffic: tcp(podA, podB, 80),
			want:    check{verdict: Denied, egress: &DirectionResult{Isolated: true, Policies: []string{"x/eg"}}},
		},
		{
			name:     "named port unknown on the destination: no match, flagged",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly, portsIn(namedPort(nil, "metrics")), nil)},
			traffic:  tcp(podA, podB, 9090),
			want: check{verdict: Denied, ingress: &DirectionResult{Isolated: true,
				Policies: []string{"y/p"}, UnknownNamedPort: true}},
		},
		{
			name: "named port unknown but another port entry admits: allowed, still flagged",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				portsIn(numPort(nil, 9090), namedPort(nil, "metrics")), nil)},
			traffic: tcp(podA, podB, 9090),
			want: check{verdict: Allowed, ingress: &DirectionResult{Isolated: true, Allowed: true,
				Policies: []string{"y/p"}, Matched: []string{"y/p"}, UnknownNamedPort: true}},
		},
		{
			name: "named port of another protocol is not flagged",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				portsIn(namedPort(proto(corev1.ProtocolUDP), "metrics")), nil)},
			traffic: tcp(podA, podB, 9090),
			want:    check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/p"}}},
		},
		{
			name: "named port unknown is not flagged when the rule's peers do not match",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{podPeer(ml("app", "zzz"))},
					Ports: []networkingv1.NetworkPolicyPort{namedPort(nil, "metrics")}}}, nil)},
			traffic: tcp(podA, podB, 9090),
			want:    check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/p"}}},
		},
		{
			name: "named port whose container port has another protocol does not match",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly,
				portsIn(namedPort(nil, "dns")), nil)},
			traffic: tcp(podA, podB, 53),
			want:    check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/p"}}},
		},
		{
			name: "egress named port to a non-pod destination is unknown",
			policies: []*networkingv1.NetworkPolicy{policy("x", "eg", nil, egressOnly, nil,
				portsOut(namedPort(nil, "http")))},
			traffic: tcp(podA, external, 80),
			want: check{verdict: Denied, egress: &DirectionResult{Isolated: true,
				Policies: []string{"x/eg"}, UnknownNamedPort: true}, ingress: open},
		},
		{
			name:    "ICMP with nothing isolated is allowed",
			traffic: withProto(tcp(podA, podB, 0), "ICMPv4"),
			want:    check{verdict: Allowed, egress: open, ingress: open},
		},
		{
			name:     "ICMP to an isolated pod is inexpressible",
			policies: []*networkingv1.NetworkPolicy{denyIngressY},
			traffic:  withProto(tcp(podA, podB, 0), "ICMPv4"),
			want:     check{verdict: Inexpressible, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/deny"}}},
		},
		{
			name:     "ICMPv6 admitted by a rule without ports is still inexpressible",
			policies: []*networkingv1.NetworkPolicy{allowAllIngressY},
			traffic:  withProto(tcp(external6, podB, 0), "ICMPv6"),
			want: check{verdict: Inexpressible, ingress: &DirectionResult{Isolated: true, Allowed: true,
				Policies: []string{"y/allow-all"}, Matched: []string{"y/allow-all"}}},
		},
		{
			name:     "ICMP is never admitted by a rule with ports",
			policies: []*networkingv1.NetworkPolicy{policy("y", "p", nil, ingressOnly, portsIn(networkingv1.NetworkPolicyPort{}), nil)},
			traffic:  withProto(tcp(podA, podB, 0), "ICMPv4"),
			want:     check{verdict: Inexpressible, ingress: &DirectionResult{Isolated: true, Policies: []string{"y/p"}}},
		},
		{
			name:     "non-pod source: only the destination's ingress is checked",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny-eg", &metav1.LabelSelector{}, egressOnly, nil, nil)},
			traffic:  tcp(external, podA, 80),
			want:     check{verdict: Allowed, egress: open, ingress: open},
		},
		{
			name:     "non-pod destination: only the source's egress is checked",
			policies: []*networkingv1.NetworkPolicy{policy("x", "deny-eg", &metav1.LabelSelector{}, egressOnly, nil, nil)},
			traffic:  tcp(podA, external, 80),
			want:     check{verdict: Denied, ingress: open},
		},
		{
			name: "egress allowed but ingress denied is denied",
			policies: []*networkingv1.NetworkPolicy{
				policy("x", "eg", nil, egressOnly, nil, to(nsPeer(ml("team", "y")))),
				denyIngressY,
			},
			traffic: tcp(podA, podB, 80),
			want: check{verdict: Denied,
				egress:  &DirectionResult{Isolated: true, Allowed: true, Policies: []string{"x/eg"}, Matched: []string{"x/eg"}},
				ingress: &DirectionResult{Isolated: true, Policies: []string{"y/deny"}}},
		},
		{
			name: "both directions admitted by one policy each",
			policies: []*networkingv1.NetworkPolicy{
				policy("x", "both", nil, bothTypes, from(ipPeer("0.0.0.0/0")), to(nsPeer(ml("team", "y")))),
				policy("y", "in", ml("tier", "web"), nil, from(podPeer(&metav1.LabelSelector{}), nsPeer(ml("team", "x"))), nil),
			},
			traffic: tcp(podA, podB, 80),
			want: check{verdict: Allowed,
				egress:  &DirectionResult{Isolated: true, Allowed: true, Policies: []string{"x/both"}, Matched: []string{"x/both"}},
				ingress: &DirectionResult{Isolated: true, Allowed: true, Policies: []string{"y/in"}, Matched: []string{"y/in"}}},
		},
		{
			name: "policies are additive and reported sorted",
			policies: []*networkingv1.NetworkPolicy{
				policy("y", "z-deny", nil, ingressOnly, nil, nil),
				policy("y", "m-other-port", nil, ingressOnly, portsIn(numPort(nil, 443)), nil),
				policy("y", "a-allow", nil, ingressOnly, portsIn(numPort(nil, 80)), nil),
			},
			traffic: tcp(podA, podB, 80),
			want: check{verdict: Allowed, ingress: &DirectionResult{Isolated: true, Allowed: true,
				Policies: []string{"y/a-allow", "y/m-other-port", "y/z-deny"}, Matched: []string{"y/a-allow"}}},
		},
		{
			name:     "empty namespace means default for policies and pods",
			policies: []*networkingv1.NetworkPolicy{policy("", "deny", nil, ingressOnly, nil, nil)},
			traffic:  tcp(podA, podDefault, 80),
			want:     check{verdict: Denied, ingress: &DirectionResult{Isolated: true, Policies: []string{"default/deny"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkEvaluate(t, tc.policies, tc.cni, tc.traffic, tc.want) })
	}
}

// TestEvaluatePeers: which sources the one ingress rule of y/p admits
// into podB on TCP/80, by the rule's from peer and the CNI.
func TestEvaluatePeers(t *testing.T) {
	mapped := Peer{IP: netip.MustParseAddr("::ffff:192.0.2.10")}
	renamedNS := Peer{IsPod: true, Namespace: "x", NamespaceLabels: map[string]string{NamespaceNameLabel: "other"}}
	for _, tc := range []struct {
		name string
		cni  CNI
		peer networkingv1.NetworkPolicyPeer
		src  Peer
		want Verdict
	}{
		{"podSelector alone: pods of the policy's namespace only (other namespace denied)", "", podPeer(ml("app", "a")), podA, Denied},
		{"podSelector alone: same-namespace pod allowed", "", podPeer(ml("app", "a")), podB2, Allowed},
		{"empty podSelector alone: every pod of the namespace, not external IPs", "", podPeer(&metav1.LabelSelector{}), external, Denied},
		{"namespaceSelector alone: all pods of matching namespaces", "", nsPeer(ml("team", "x")), podA, Allowed},
		{"namespaceSelector alone: non-matching namespace denied", "", nsPeer(ml("team", "x")), podB2, Denied},
		{"empty namespaceSelector: every namespace", "", nsPeer(&metav1.LabelSelector{}), podA, Allowed},
		{"namespaceSelector and podSelector in one peer are ANDed (pod mismatch)", "", networkingv1.NetworkPolicyPeer{NamespaceSelector: ml("team", "x"), PodSelector: ml("app", "zzz")}, podA, Denied},
		{"namespaceSelector and podSelector in one peer are ANDed (both match)", "", networkingv1.NetworkPolicyPeer{NamespaceSelector: ml("team", "x"), PodSelector: ml("app", "a")}, podA, Allowed},
		{"kubernetes.io/metadata.name is implied on namespaces", "", nsPeer(ml(NamespaceNameLabel, "x")), podA, Allowed},
		{"explicit kubernetes.io/metadata.name label is used as given", "", nsPeer(ml(NamespaceNameLabel, "x")), renamedNS, Denied},
		{"matchExpressions in a peer namespaceSelector (NotIn)", "", nsPeer(expr("team", metav1.LabelSelectorOpNotIn, "y")), podA, Allowed},
		{"ipBlock matches a pod IP under CNI kubernetes", "", ipPeer("10.0.0.0/24"), podA, Allowed},
		{"ipBlock does not match a pod IP under CNI cilium", CNICilium, ipPeer("10.0.0.0/24"), podA, Denied},
		{"ipBlock matches an external IP under CNI cilium", CNICilium, ipPeer("192.0.2.0/24"), external, Allowed},
		{"ipBlock does not match a node IP under CNI cilium", CNICilium, ipPeer("172.16.0.0/12"), node, Denied},
		{"ipBlock matches a node IP under CNI kubernetes", "", ipPeer("172.16.0.0/12"), node, Allowed},
		{"ipBlock except carves out the peer", "", ipPeer("192.0.2.0/24", "192.0.2.8/29"), external, Denied},
		{"ipBlock except elsewhere leaves the peer matched", "", ipPeer("192.0.2.0/24", "192.0.2.128/25"), external, Allowed},
		{"ipBlock with non-canonical CIDR is masked like the API server", "", ipPeer("192.0.2.77/24"), external, Allowed},
		{"IPv6 ipBlock matches an IPv6 peer", "", ipPeer("2001:db8::/32"), external6, Allowed},
		{"IPv6 ipBlock except", "", ipPeer("2001:db8::/32", "2001:db8::/64"), external6, Denied},
		{"IPv4 ipBlock does not match an IPv6 peer", "", ipPeer("0.0.0.0/0"), external6, Denied},
		{"IPv4-mapped IPv6 peer address matches an IPv4 ipBlock", "", ipPeer("192.0.2.0/24"), mapped, Allowed},
		{"peer without an IP never matches an ipBlock", "", ipPeer("0.0.0.0/0"), Peer{}, Denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy("y", "p", nil, ingressOnly, from(tc.peer), nil)
			checkEvaluate(t, []*networkingv1.NetworkPolicy{p}, tc.cni, tcp(tc.src, podB, 80), check{verdict: tc.want})
		})
	}
}

// TestEvaluatePorts: which protocol and port from podA the one ingress
// rule of y/p admits into podB, by the rule's port entry.
func TestEvaluatePorts(t *testing.T) {
	udp, sctp := proto(corev1.ProtocolUDP), proto(corev1.ProtocolSCTP)
	for _, tc := range []struct {
		name     string
		port     networkingv1.NetworkPolicyPort
		protocol corev1.Protocol
		number   int32
		want     Verdict
	}{
		{"port protocol defaults to TCP: UDP denied", numPort(nil, 80), corev1.ProtocolUDP, 80, Denied},
		{"port protocol defaults to TCP: TCP allowed", numPort(nil, 80), corev1.ProtocolTCP, 80, Allowed},
		{"nil port: every port of that protocol", networkingv1.NetworkPolicyPort{Protocol: udp}, corev1.ProtocolUDP, 31337, Allowed},
		{"nil port: other protocol denied", networkingv1.NetworkPolicyPort{Protocol: udp}, corev1.ProtocolTCP, 31337, Denied},
		{"SCTP port", numPort(sctp, 80), corev1.ProtocolSCTP, 80, Allowed},
		{"lower-case traffic protocol is canonicalized", numPort(udp, 53), "udp", 53, Allowed},
		{"endPort: lower bound included", rangePort(nil, 8000, 8080), corev1.ProtocolTCP, 8000, Allowed},
		{"endPort: upper bound included", rangePort(nil, 8000, 8080), corev1.ProtocolTCP, 8080, Allowed},
		{"endPort: above range denied", rangePort(nil, 8000, 8080), corev1.ProtocolTCP, 8081, Denied},
		{"endPort: below range denied", rangePort(nil, 8000, 8080), corev1.ProtocolTCP, 7999, Denied},
		{"endPort: protocol must match too", rangePort(udp, 8000, 8080), corev1.ProtocolTCP, 8040, Denied},
		{"named port with matching protocol (UDP)", namedPort(udp, "dns"), corev1.ProtocolUDP, 53, Allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy("y", "p", nil, ingressOnly, portsIn(tc.port), nil)
			checkEvaluate(t, []*networkingv1.NetworkPolicy{p}, "", withProto(tcp(podA, podB, tc.number), tc.protocol), check{verdict: tc.want})
		})
	}
}

// TestEvaluateSelectors: whether the podSelector of the deny-all y/deny
// selects podB (app=b, tier=web), seen as TCP/80 from podA being denied.
func TestEvaluateSelectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  *metav1.LabelSelector
		want Verdict
	}{
		{"matchExpressions In selects the destination", expr("app", metav1.LabelSelectorOpIn, "b", "c"), Denied},
		{"matchExpressions NotIn: listed value not selected", expr("app", metav1.LabelSelectorOpNotIn, "b"), Allowed},
		{"matchExpressions NotIn: a missing key is selected", expr("color", metav1.LabelSelectorOpNotIn, "red"), Denied},
		{"matchExpressions Exists", expr("tier", metav1.LabelSelectorOpExists), Denied},
		{"matchExpressions DoesNotExist", expr("tier", metav1.LabelSelectorOpDoesNotExist), Allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy("y", "deny", tc.sel, ingressOnly, nil, nil)
			checkEvaluate(t, []*networkingv1.NetworkPolicy{p}, "", tcp(podA, podB, 80), check{verdict: tc.want})
		})
	}
}

// check is what an Evaluate test expects: the verdict always, each
// direction's result in full when set.
type check struct {
	verdict Verdict
	egress  *DirectionResult
	ingress *DirectionResult
}

// checkEvaluate compiles policies for cni, evaluates traffic and compares
// the result with want; Verdict must agree with Evaluate and every result
// carries a reason.
func checkEvaluate(t *testing.T, policies []*networkingv1.NetworkPolicy, cni CNI, traffic Traffic, want check) {
	t.Helper()
	e := mustNew(t, policies, Options{CNI: cni})
	got := e.Evaluate(traffic)
	if got.Verdict != want.verdict {
		t.Errorf("verdict = %v, want %v (reason: %s)", got.Verdict, want.verdict, got.Reason)
	}
	if v := e.Verdict(traffic); v != got.Verdict {
		t.Errorf("Verdict = %v, Evaluate's verdict %v", v, got.Verdict)
	}
	if want.egress != nil && !reflect.DeepEqual(got.Egress, *want.egress) {
		t.Errorf("egress = %+v, want %+v", got.Egress, *want.egress)
	}
	if want.ingress != nil && !reflect.DeepEqual(got.Ingress, *want.ingress) {
		t.Errorf("ingress = %+v, want %+v", got.Ingress, *want.ingress)
	}
	if got.Reason == "" {
		t.Error("empty reason")
	}
}

func TestReason(t *testing.T) {
	e := mustNew(t, []*networkingv1.NetworkPolicy{
		policy("y", "deny", nil, ingressOnly, nil, nil),
		policy("x", "allow", nil, egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{}}),
	}, Options{})
	tests := []struct {
		name    string
		traffic Traffic
		want    string
	}{
		{"denied", tcp(podA, podB, 80), "denied: egress admitted by x/allow; ingress isolated by y/deny and no rule admits it"},
		{"allowed", tcp(podB, podA, 80), "allowed: egress not isolated; ingress not isolated"},
		{"inexpressible", withProto(tcp(podA, podB, 0), "ICMPv4"), `inexpressible: protocol "ICMPv4" cannot be expressed by NetworkPolicy ports: egress admitted by x/allow; ingress isolated by y/deny and no rule admits it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Evaluate(tc.traffic).Reason; got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	sctp := proto(corev1.ProtocolSCTP)
	icmp := proto("ICMP")
	end := int32(79)
	badEnd := func(p networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyPort { p.EndPort = &end; return p }
	tests := []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		opts     Options
		wantErr  string
	}{
		{"unknown CNI", nil, Options{CNI: "calico"}, `unknown CNI "calico"`},
		{"nil policy", []*networkingv1.NetworkPolicy{nil}, Options{}, "policy 0 is nil"},
		{"no name", []*networkingv1.NetworkPolicy{policy("x", "", nil, nil, nil, nil)}, Options{}, "metadata.name is empty"},
		{"duplicate", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, nil, nil), policy("x", "p", nil, nil, nil, nil)}, Options{}, "duplicate policy x/p"},
		{"bad policy type", []*networkingv1.NetworkPolicy{policy("x", "p", nil, []networkingv1.PolicyType{"Sideways"}, nil, nil)}, Options{}, `unsupported value "Sideways"`},
		{"duplicate policy type", []*networkingv1.NetworkPolicy{policy("x", "p", nil, []networkingv1.PolicyType{"Ingress", "Ingress"}, nil, nil)}, Options{}, "duplicate"},
		{"bad operator", []*networkingv1.NetworkPolicy{policy("x", "p", expr("a", "Near", "b"), nil, nil, nil)}, Options{}, "spec.podSelector"},
		{"In without values", []*networkingv1.NetworkPolicy{policy("x", "p", expr("a", metav1.LabelSelectorOpIn), nil, nil, nil)}, Options{}, "spec.podSelector"},
		{"bad peer selector", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(nsPeer(expr("a", metav1.LabelSelectorOpExists, "v"))), nil)}, Options{}, "spec.ingress[0]: peers[0]: namespaceSelector"},
		{"empty peer", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(networkingv1.NetworkPolicyPeer{}), nil)}, Options{}, "needs podSelector"},
		{"ipBlock with selector", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(networkingv1.NetworkPolicyPeer{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: &metav1.LabelSelector{}}), nil)}, Options{}, "cannot be combined"},
		{"bad CIDR", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(ipPeer("10.0.0.0/33")), nil)}, Options{}, "ipBlock.cidr"},
		{"except outside", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(ipPeer("10.0.0.0/8", "11.0.0.0/16")), nil)}, Options{}, "strict subset"},
		{"except equal", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(ipPeer("10.0.0.0/8", "10.0.0.0/8")), nil)}, Options{}, "strict subset"},
		{"except other family", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(ipPeer("10.0.0.0/8", "fd00::/64")), nil)}, Options{}, "strict subset"},
		{"bad except", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, from(ipPeer("10.0.0.0/8", "nope")), nil)}, Options{}, "except[0]"},
		{"protocol ICMP", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(numPort(icmp, 1)), nil)}, Options{}, "not TCP, UDP or SCTP"},
		{"port 0", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(numPort(sctp, 0)), nil)}, Options{}, "outside 1-65535"},
		{"endPort below port", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(rangePort(nil, 80, 79)), nil)}, Options{}, "endPort 79"},
		{"endPort with named port", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(badEnd(namedPort(nil, "http"))), nil)}, Options{}, "named port"},
		{"endPort without port", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(badEnd(networkingv1.NetworkPolicyPort{})), nil)}, Options{}, "requires a numeric port"},
		{"bad port name", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, portsIn(namedPort(nil, "Not_A_Name")), nil)}, Options{}, "port name"},
		{"egress error path", []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, nil, to(ipPeer("bad")))}, Options{}, "x/p: spec.egress[0]: peers[0]: ipBlock.cidr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.policies, tc.opts)
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want CNI
	}{
		{"empty is kubernetes", Options{}, CNIKubernetes},
		{"kubernetes", Options{CNI: CNIKubernetes}, CNIKubernetes},
		{"cilium", Options{CNI: CNICilium}, CNICilium},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, []*networkingv1.NetworkPolicy{policy("x", "p", nil, nil, nil, nil)}, tc.opts)
			if e.CNI() != tc.want || e.Len() != 1 {
				t.Errorf("CNI() = %q, Len() = %d; want %q, 1", e.CNI(), e.Len(), tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tcpP := proto(corev1.ProtocolTCP)
	udpP := proto(corev1.ProtocolUDP)
	tests := []struct {
		name string
		in   *networkingv1.NetworkPolicy
		want *networkingv1.NetworkPolicy
	}{
		{"nil", nil, nil},
		{
			name: "ingress only by default",
			in:   policy("", "p", nil, nil, []networkingv1.NetworkPolicyIngressRule{}, []networkingv1.NetworkPolicyEgressRule{}),
			want: policy("default", "p", nil, ingressOnly, nil, nil),
		},
		{
			name: "egress rules add Egress; protocols default to TCP; empty lists become nil",
			in: policy("x", "p", &metav1.LabelSelector{MatchLabels: map[string]string{}}, nil,
				[]networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{numPort(nil, 80)}, From: []networkingv1.NetworkPolicyPeer{}}},
				[]networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{ipPeer("10.0.0.0/8")}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: udpP}}}}),
			want: policy("x", "p", nil, bothTypes,
				[]networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{numPort(tcpP, 80)}}},
				[]networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{ipPeer("10.0.0.0/8")}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: udpP}}}}),
		},
		{
			name: "explicit policyTypes are kept",
			in:   policy("x", "p", nil, egressOnly, nil, nil),
			want: policy("x", "p", nil, egressOnly, nil, nil),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *networkingv1.NetworkPolicy
			if tc.in != nil {
				before = tc.in.DeepCopy()
			}
			got := Normalize(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Normalize = %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.in, before) {
				t.Error("Normalize modified its input")
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	tests := []struct {
		v    Verdict
		want string
	}{
		{Allowed, "Allowed"}, {Denied, "Denied"}, {Inexpressible, "Inexpressible"}, {0, "Verdict(0)"},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", int(tc.v), got, tc.want)
		}
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	e := mustNew(t, []*networkingv1.NetworkPolicy{
		policy("y", "p", nil, ingressOnly, from(nsPeer(ml("team", "x"))), nil),
	}, Options{})
	tests := []struct {
		name    string
		traffic Traffic
		want    Verdict
	}{
		{"allowed", tcp(podA, podB, 80), Allowed},
		{"denied", tcp(podB2, podB, 80), Denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for range 200 {
				if got := e.Evaluate(tc.traffic).Verdict; got != tc.want {
					t.Fatalf("verdict = %v, want %v", got, tc.want)
				}
			}
		})
	}
}
