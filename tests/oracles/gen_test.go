package oracles

import (
	"fmt"
	"net/netip"

	"github.com/flowfence/flowfence/verifier"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// chooser is the randomness the generators draw from: *rand.Rand for the
// property test, the fuzzer's bytes for FuzzAgreement.
type chooser interface {
	IntN(n int) int
}

// byteChooser turns fuzz input into choices; exhausted input yields zeros.
type byteChooser struct {
	data []byte
}

func (b *byteChooser) IntN(n int) int {
	if n <= 1 || len(b.data) == 0 {
		return 0
	}
	v := int(b.data[0])
	b.data = b.data[1:]
	if n > 256 {
		if len(b.data) > 0 {
			v = v<<8 | int(b.data[0])
			b.data = b.data[1:]
		}
	}
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.IntN(len(xs))] }

// chance is true with probability pct percent.
func chance(c chooser, pct int) bool { return c.IntN(100) < pct }

// randomUniverse is the fixed cluster the random policies are evaluated
// against. It mixes IPv4 and IPv6 pods, labels present and absent (and one
// empty-valued), namespaces with and without the labels selectors use, the
// same port name on different numbers and protocols, and external peers
// inside and outside the pod ranges, including a node.
func randomUniverse() *universe {
	u := &universe{Namespaces: map[string]map[string]string{
		"x": nsLabels("x", map[string]string{"ns": "x", "env": "prod"}),
		"y": nsLabels("y", map[string]string{"ns": "y", "env": "dev"}),
		"z": nsLabels("z", map[string]string{"ns": "z"}),
		"w": nsLabels("w", nil),
	}}
	tcp, udp, sctp := corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP
	add := func(ns, name, ip string, labels map[string]string, ports ...containerPort) {
		u.Pods = append(u.Pods, &pod{Namespace: ns, Name: name, Labels: labels, IP: netip.MustParseAddr(ip), Ports: ports})
	}
	add("x", "a", "10.1.0.10", map[string]string{"pod": "a", "tier": "web"},
		containerPort{"http", 80, tcp}, containerPort{"serve-81-tcp", 81, tcp}, containerPort{"dns", 53, udp})
	add("x", "b", "10.1.0.11", map[string]string{"pod": "b", "tier": "db"},
		containerPort{"http", 8080, tcp}, containerPort{"metrics", 9000, sctp})
	add("x", "c", "10.1.0.12", map[string]string{"pod": "c"})
	add("y", "a", "10.1.1.10", map[string]string{"pod": "a", "tier": "web"},
		containerPort{"http", 80, tcp}, containerPort{"dns", 53, udp})
	add("y", "b", "10.1.1.20", map[string]string{"pod": "b", "tier": ""},
		containerPort{"http", 81, tcp}, containerPort{"", 8050, tcp})
	add("y", "c", "10.1.1.47", map[string]string{"pod": "c", "app": "x"},
		containerPort{"metrics", 9000, tcp})
	add("z", "a", "fd00::a", map[string]string{"pod": "a"},
		containerPort{"http", 80, tcp})
	add("z", "b", "fd00::1:b", map[string]string{"pod": "b", "tier": "db"},
		containerPort{"dns", 53, udp}, containerPort{"http", 8080, tcp})
	add("w", "a", "10.1.1.42", map[string]string{"app": "x"},
		containerPort{"http", 8080, udp})
	u.Externals = []verifier.Peer{
		{IP: netip.MustParseAddr("10.1.1.44")},
		{IP: netip.MustParseAddr("192.0.2.10")},
		{IP: netip.MustParseAddr("2001:db8::5")},
		{IP: netip.MustParseAddr("fd00::ff")},
		{IP: netip.MustParseAddr("172.16.0.1"), IsNode: true},
	}
	return u
}

var (
	labelKeys   = []string{"pod", "tier", "ns", "env", "app"}
	labelValues = []string{"a", "b", "c", "web", "db", "x", "y", "z", "prod", "dev"}
)

func randomValue(c chooser) string {
	if chance(c, 4) {
		return "" // empty label values are legal
	}
	return pick(c, labelValues...)
}

func randomSelector(c chooser) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	switch c.IntN(4) {
	case 0: // empty: selects everything
	case 1:
		s.MatchLabels = map[string]string{}
		for range 1 + c.IntN(2) {
			s.MatchLabels[pick(c, labelKeys...)] = randomValue(c)
		}
	default:
		if chance(c, 30) {
			s.MatchLabels = map[string]string{pick(c, labelKeys...): randomValue(c)}
		}
		for range 1 + c.IntN(2) {
			r := metav1.LabelSelectorRequirement{Key: pick(c, labelKeys...)}
			r.Operator = pick(c, metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
				metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist)
			if r.Operator == metav1.LabelSelectorOpIn || r.Operator == metav1.LabelSelectorOpNotIn {
				for range 1 + c.IntN(3) {
					r.Values = append(r.Values, randomValue(c))
				}
			}
			s.MatchExpressions = append(s.MatchExpressions, r)
		}
	}
	return s
}

// cidrs cover single pods, groups of pods, pod ranges holding non-pod
// addresses, both families, and everything. Some have host bits set, which
// the API server accepts and masks.
var cidrs = []string{
	"10.0.0.0/8", "10.1.0.0/16", "10.1.0.0/24", "10.1.1.0/24", "10.1.1.32/28",
	"10.1.1.40/29", "10.1.0.10/32", "10.1.1.44/30", "192.0.2.0/24", "0.0.0.0/0",
	"172.16.0.0/12", "10.1.1.5/24", "fd00::/16", "fd00::/64", "fd00::1:0/112",
	"2001:db8::/32", "::/0", "fd00::a/120",
}

func randomIPBlock(c chooser, u *universe) *networkingv1.IPBlock {
	b := &networkingv1.IPBlock{CIDR: pick(c, cidrs...)}
	prefix := netip.MustParsePrefix(b.CIDR).Masked()
	max := 32
	if prefix.Addr().Is6() {
		max = 128
	}
	// Except: strict sub-prefixes around addresses of the universe that the
	// block holds.
	var inside []netip.Addr
	for _, ep := range u.endpoints() {
		if prefix.Contains(ep.IP) {
			inside = append(inside, ep.IP)
		}
	}
	if prefix.Bits() < max && len(inside) > 0 {
		for range c.IntN(3) {
			ip := pick(c, inside...)
			bits := prefix.Bits() + 1 + c.IntN(max-prefix.Bits())
			ex := netip.PrefixFrom(ip, bits)
			if chance(c, 70) {
				ex = ex.Masked()
			}
			b.Except = append(b.Except, ex.String())
		}
	}
	return b
}

func randomPeer(c chooser, u *universe) networkingv1.NetworkPolicyPeer {
	switch c.IntN(5) {
	case 0:
		return networkingv1.NetworkPolicyPeer{PodSelector: randomSelector(c)}
	case 1:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: randomSelector(c)}
	case 2:
		return networkingv1.NetworkPolicyPeer{PodSelector: randomSelector(c), NamespaceSelector: randomSelector(c)}
	default:
		return networkingv1.NetworkPolicyPeer{IPBlock: randomIPBlock(c, u)}
	}
}

var (
	portNumbers = []int32{53, 80, 81, 443, 8050, 8080, 9000}
	portNames   = []string{"http", "dns", "metrics", "serve-81-tcp", "unknown"}
)

func randomPort(c chooser) networkingv1.NetworkPolicyPort {
	var p networkingv1.NetworkPolicyPort
	if !chance(c, 25) { // else nil: defaults to TCP
		proto := pick(c, corev1.ProtocolTCP, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
		p.Protocol = &proto
	}
	switch c.IntN(20) {
	case 0, 1, 2, 3: // nil port: all ports of the protocol
	case 4, 5, 6, 7, 8, 9, 10, 11:
		v := intstr.FromInt32(pick(c, portNumbers...))
		p.Port = &v
	case 12, 13, 14, 15, 16:
		v := intstr.FromString(pick(c, portNames...))
		p.Port = &v
	default:
		start := pick(c, int32(53), 79, 80, 8000, 8050)
		end := start + pick(c, int32(0), 1, 5, 100)
		v := intstr.FromInt32(start)
		p.Port, p.EndPort = &v, &end
	}
	return p
}

// randomList returns nil, an empty list, or 1-maxN elements.
func randomList[T any](c chooser, maxN int, gen func() T) []T {
	switch c.IntN(6) {
	case 0:
		return nil
	case 1:
		return []T{}
	default:
		out := make([]T, 1+c.IntN(maxN))
		for i := range out {
			out[i] = gen()
		}
		return out
	}
}

// randomPolicy returns a valid policy as a user could write it: without
// defaults applied, with nil or empty lists, in any namespace (sometimes an
// empty one, meaning "default").
func randomPolicy(c chooser, u *universe, name string) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: pick(c, "x", "x", "y", "y", "z", "w", ""),
	}}
	np.Spec.PodSelector = *randomSelector(c)
	switch c.IntN(5) {
	case 0, 1: // defaulted by the API server
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 3:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	default:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}
	}
	peers := func() []networkingv1.NetworkPolicyPeer {
		return randomList(c, 3, func() networkingv1.NetworkPolicyPeer { return randomPeer(c, u) })
	}
	ports := func() []networkingv1.NetworkPolicyPort {
		return randomList(c, 3, func() networkingv1.NetworkPolicyPort { return randomPort(c) })
	}
	np.Spec.Ingress = randomList(c, 3, func() networkingv1.NetworkPolicyIngressRule {
		return networkingv1.NetworkPolicyIngressRule{From: peers(), Ports: ports()}
	})
	np.Spec.Egress = randomList(c, 3, func() networkingv1.NetworkPolicyEgressRule {
		return networkingv1.NetworkPolicyEgressRule{To: peers(), Ports: ports()}
	})
	return np
}

func randomPolicies(c chooser, u *universe, maxN int) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, 1+c.IntN(maxN))
	for i := range out {
		out[i] = randomPolicy(c, u, fmt.Sprintf("p%d", i))
	}
	return out
}

var flowPorts = []int32{53, 79, 80, 81, 82, 443, 8000, 8050, 8080, 8100, 9000}

// randomFlows returns n flows with at least one pod end, mostly on port
// protocols, some ICMP.
func randomFlows(c chooser, u *universe, n int) []verifier.Traffic {
	eps := u.endpoints()
	pods := eps[:len(u.Pods)]
	out := make([]verifier.Traffic, n)
	for i := range out {
		t := verifier.Traffic{Src: pick(c, eps...), Dst: pick(c, eps...)}
		if !t.Src.IsPod && !t.Dst.IsPod {
			t.Dst = pick(c, pods...)
		}
		switch c.IntN(20) {
		case 0, 1, 2:
			t.Protocol = "ICMPv4"
			if t.Dst.IP.Is6() {
				t.Protocol = "ICMPv6"
			}
		case 3, 4, 5, 6:
			t.Protocol, t.Port = corev1.ProtocolUDP, pick(c, flowPorts...)
		case 7, 8:
			t.Protocol, t.Port = corev1.ProtocolSCTP, pick(c, flowPorts...)
		default:
			t.Protocol, t.Port = corev1.ProtocolTCP, pick(c, flowPorts...)
		}
		out[i] = t
	}
	return out
}
