package oracles

import (
	"fmt"
	"testing"

	"github.com/flowfence/flowfence/verifier"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Known deviations of the oracles from upstream NetworkPolicy semantics.
// Each is pinned by a case below so that an oracle upgrade that fixes (or
// changes) one is noticed, and the skip or normalization it justifies can be
// revisited.
//
// kube-network-policies v1.1.1 (pkg/networkpolicy):
//
//   - K1 (removed by normalization): EvaluatePolicyDirection denies a
//     direction only when spec.ingress/spec.egress is nil; evaluateIngress
//     and evaluateEgress admit everything when the list is empty but
//     non-nil. The API server stores an empty list as nil (deny all).
//   - K2 (removed by normalization): it iterates spec.policyTypes as given,
//     so a policy with empty policyTypes isolates nothing; the API server
//     defaults them to Ingress (plus Egress when there are egress rules).
//   - K3 (removed by normalization): evaluatePorts dereferences
//     NetworkPolicyPort.Protocol and panics when it is nil; the API server
//     defaults it to TCP.
//   - K4 (avoided by construction): evaluatePorts compares the flow's port
//     with Port.IntValue(), which is 0 for a named port, so a named-port
//     rule admits destination port 0 whatever the name. The comparisons
//     never use port 0 with TCP, UDP or SCTP (it is not a valid destination
//     port).
//
// cyclonus v0.5.6 (pkg/matcher, pkg/kube):
//
//   - C1 (skipped precisely): IsMatchExpressionMatchForLabels returns false
//     for NotIn when the key is absent; Kubernetes selects such objects.
//   - C2 (skipped precisely): IsLabelsMatchLabelSelector tests matchLabels
//     with labels[key] != value, so {key: ""} matches objects without the
//     key; Kubernetes requires the key. Flows for which a selector holding
//     such a NotIn or empty-valued key is evaluated against a pod or
//     namespace lacking the key are not compared with cyclonus
//     (cyclonusHazards.hit); they are still compared with
//     kube-network-policies.
//   - C3 (removed by normalization): BuildTarget panics on empty
//     policyTypes instead of defaulting them.
//   - C4 (equivalent by construction, not a deviation in practice): cyclonus
//     matches a named port against the name the destination gives the
//     flow's port and protocol (Traffic.ResolvedPortName) instead of
//     resolving the rule's name on the pod; the two agree while a pod
//     declares at most one name per port and protocol, as every test pod
//     does.
//
// Protocols NetworkPolicy cannot express (ICMP): both oracles evaluate them
// like any protocol, admitted only by rules without ports. The verifier
// reports Inexpressible when a side is isolated; the comparison then checks
// the oracles' answer against the verifier's per-direction Allowed.

type rawAnswer struct {
	allowed  bool
	panicked bool
}

func (a rawAnswer) String() string {
	if a.panicked {
		return "panic"
	}
	return fmt.Sprintf("allowed=%v", a.allowed)
}

func knpRaw(policies []*networkingv1.NetworkPolicy, u *universe, t verifier.Traffic) (ans rawAnswer) {
	defer func() {
		if recover() != nil {
			ans = rawAnswer{panicked: true}
		}
	}()
	k, err := newKNPOracle(policies, u)
	if err != nil {
		panic(err)
	}
	o, err := k.outcome(t)
	if err != nil {
		panic(err)
	}
	return rawAnswer{allowed: o.allowed}
}

func cyclonusRaw(policies []*networkingv1.NetworkPolicy, _ *universe, t verifier.Traffic) (ans rawAnswer) {
	defer func() {
		if recover() != nil {
			ans = rawAnswer{panicked: true}
		}
	}()
	return rawAnswer{allowed: matcher.BuildNetworkPolicies(false, deepCopies(policies)).IsTrafficAllowed(cyclonusTraffic(t)).IsAllowed()}
}

func TestKnownDeviations(t *testing.T) {
	u := randomUniverse()
	xa, ya, yc := u.podPeer("x", "a"), u.podPeer("y", "a"), u.podPeer("y", "c")
	flow := func(src, dst verifier.Peer, port int32) verifier.Traffic {
		return verifier.Traffic{Src: src, Dst: dst, Protocol: corev1.ProtocolTCP, Port: port}
	}
	ingress := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	named := intstr.FromString("unknown")
	num80 := intstr.FromInt32(80)
	tcp := corev1.ProtocolTCP
	pol := func(sel metav1.LabelSelector, types []networkingv1.PolicyType, rules []networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "y", Name: "p"},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types, Ingress: rules},
		}
	}
	tests := []struct {
		id     string
		oracle func([]*networkingv1.NetworkPolicy, *universe, verifier.Traffic) rawAnswer
		policy *networkingv1.NetworkPolicy
		flow   verifier.Traffic
		// raw is the oracle's answer on the policy as written; normalized
		// its answer on verifier.Normalize(policy); want the verifier's
		// (upstream) answer.
		raw, normalized rawAnswer
		want            verifier.Verdict
	}{
		{
			id: "K1 empty ingress list admits all", oracle: knpRaw,
			policy: pol(metav1.LabelSelector{}, ingress, []networkingv1.NetworkPolicyIngressRule{}),
			flow:   flow(xa, ya, 80),
			raw:    rawAnswer{allowed: true}, normalized: rawAnswer{allowed: false}, want: verifier.Denied,
		},
		{
			id: "K2 empty policyTypes isolate nothing", oracle: knpRaw,
			policy: pol(metav1.LabelSelector{}, nil, nil),
			flow:   flow(xa, ya, 80),
			raw:    rawAnswer{allowed: true}, normalized: rawAnswer{allowed: false}, want: verifier.Denied,
		},
		{
			id: "K3 nil protocol panics", oracle: knpRaw,
			policy: pol(metav1.LabelSelector{}, ingress, []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &num80}}}}),
			flow: flow(xa, ya, 80),
			raw:  rawAnswer{panicked: true}, normalized: rawAnswer{allowed: true}, want: verifier.Allowed,
		},
		{
			id: "K4 named port admits port 0", oracle: knpRaw,
			policy: pol(metav1.LabelSelector{}, ingress, []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &named}}}}),
			flow: flow(xa, ya, 0),
			raw:  rawAnswer{allowed: true}, normalized: rawAnswer{allowed: true}, want: verifier.Denied,
		},
		{
			id: "C1 NotIn does not select a pod without the key", oracle: cyclonusRaw,
			policy: pol(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}}}}, ingress, nil),
			flow: flow(xa, yc, 80), // y/c has no tier label: selected, so isolated
			raw:  rawAnswer{allowed: true}, normalized: rawAnswer{allowed: true}, want: verifier.Denied,
		},
		{
			id: "C2 empty matchLabels value selects a pod without the key", oracle: cyclonusRaw,
			policy: pol(metav1.LabelSelector{MatchLabels: map[string]string{"tier": ""}}, ingress, nil),
			flow:   flow(xa, yc, 80), // y/c has no tier label: not selected, so open
			raw:    rawAnswer{allowed: false}, normalized: rawAnswer{allowed: false}, want: verifier.Allowed,
		},
		{
			id: "C3 empty policyTypes panic", oracle: cyclonusRaw,
			policy: pol(metav1.LabelSelector{}, nil, nil),
			flow:   flow(xa, ya, 80),
			raw:    rawAnswer{panicked: true}, normalized: rawAnswer{allowed: false}, want: verifier.Denied,
		},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			policies := []*networkingv1.NetworkPolicy{tc.policy}
			if got := tc.oracle(policies, u, tc.flow); got != tc.raw {
				t.Errorf("oracle on the policy as written: %v, documented %v", got, tc.raw)
			}
			normalized := []*networkingv1.NetworkPolicy{verifier.Normalize(tc.policy)}
			if got := tc.oracle(normalized, u, tc.flow); got != tc.normalized {
				t.Errorf("oracle on the normalized policy: %v, documented %v", got, tc.normalized)
			}
			e, err := verifier.New(policies, verifier.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Evaluate(tc.flow).Verdict; got != tc.want {
				t.Errorf("verifier: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHazardDetection checks that the cyclonus skip fires exactly where C1
// and C2 can change the answer.
func TestHazardDetection(t *testing.T) {
	u := randomUniverse()
	xa, ya, yc := u.podPeer("x", "a"), u.podPeer("y", "a"), u.podPeer("y", "c")
	notIn := func(key string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"v"}}}}
	}
	mk := func(ns string, sel *metav1.LabelSelector, from ...networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
		return verifier.Normalize(&networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: *sel, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: from}}},
		})
	}
	tcp := func(src, dst verifier.Peer) verifier.Traffic {
		return verifier.Traffic{Src: src, Dst: dst, Protocol: corev1.ProtocolTCP, Port: 80}
	}
	tests := []struct {
		name   string
		policy *networkingv1.NetworkPolicy
		flow   verifier.Traffic
		hit    bool
	}{
		{"target key present", mk("y", notIn("tier")), tcp(xa, ya), false},
		{"target key absent", mk("y", notIn("tier")), tcp(xa, yc), true},
		{"policy in another namespace", mk("x", notIn("tier")), tcp(xa, yc), false},
		{"ingress policy not consulted for egress", mk("y", notIn("tier")), tcp(yc, xa), false},
		{"peer pod key absent", mk("y", &metav1.LabelSelector{}, networkingv1.NetworkPolicyPeer{PodSelector: notIn("app")}), tcp(xa, ya), true},
		{"peer namespace key present", mk("y", &metav1.LabelSelector{}, networkingv1.NetworkPolicyPeer{NamespaceSelector: notIn("env")}), tcp(xa, ya), false},
		{"peer namespace key absent", mk("x", &metav1.LabelSelector{}, networkingv1.NetworkPolicyPeer{NamespaceSelector: notIn("app")}), tcp(ya, xa), true},
		{"empty matchLabels value", mk("y", &metav1.LabelSelector{MatchLabels: map[string]string{"tier": ""}}), tcp(xa, yc), true},
		{"non-empty matchLabels value", mk("y", &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}), tcp(xa, yc), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := findCyclonusHazards([]*networkingv1.NetworkPolicy{tc.policy}).hit(tc.flow) != ""
			if got != tc.hit {
				t.Errorf("hit = %v, want %v", got, tc.hit)
			}
		})
	}
}
