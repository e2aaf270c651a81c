package verifier

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	benchNamespaces     = 1000
	benchPoliciesPerNS  = 10
	benchPodsPerNS      = 10
	benchTrafficsPerRun = 100_000
)

// benchPolicies builds benchNamespaces*benchPoliciesPerNS policies mixing
// every rule kind the engine supports.
func benchPolicies() []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for n := range benchNamespaces {
		ns := fmt.Sprintf("ns-%d", n)
		for p := range benchPoliciesPerNS {
			app := fmt.Sprintf("app-%d", p)
			name := fmt.Sprintf("pol-%d", p)
			var np *networkingv1.NetworkPolicy
			switch p % 5 {
			case 0: // ingress from a labelled namespace on a port range
				np = policy(ns, name, ml("app", app), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{nsPeer(ml("team", fmt.Sprintf("t%d", n%7)))},
					Ports: []networkingv1.NetworkPolicyPort{rangePort(nil, 8000, 8100)},
				}}, nil)
			case 1: // ingress from pods by expression, named port
				np = policy(ns, name, ml("app", app), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{podPeer(expr("tier", metav1.LabelSelectorOpIn, "web", "api"))},
					Ports: []networkingv1.NetworkPolicyPort{namedPort(nil, "http")},
				}}, nil)
			case 2: // egress to an ipBlock with except, and DNS
				np = policy(ns, name, ml("app", app), egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{ipPeer("10.0.0.0/8", "10.128.0.0/9")}},
					{Ports: []networkingv1.NetworkPolicyPort{numPort(proto(corev1.ProtocolUDP), 53)}},
				})
			case 3: // both directions, AND peers
				np = policy(ns, name, ml("app", app), bothTypes,
					from(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: ml("app", "app-1")}),
					to(nsPeer(expr("team", metav1.LabelSelectorOpNotIn, "t0"))))
			default: // deny all ingress for a tier
				np = policy(ns, name, expr("tier", metav1.LabelSelectorOpExists), ingressOnly, nil, nil)
			}
			out = append(out, np)
		}
	}
	return out
}

func benchTraffics(n int) []Traffic {
	r := rand.New(rand.NewPCG(1, 2))
	tiers := []string{"web", "api", "db"}
	pod := func() Peer {
		ns := r.IntN(benchNamespaces)
		p := r.IntN(benchPodsPerNS)
		return Peer{
			IsPod:           true,
			Namespace:       fmt.Sprintf("ns-%d", ns),
			Labels:          map[string]string{"app": fmt.Sprintf("app-%d", p), "tier": tiers[p%3]},
			NamespaceLabels: map[string]string{"team": fmt.Sprintf("t%d", ns%7)},
			IP:              netip.AddrFrom4([4]byte{10, byte(ns >> 8), byte(ns), byte(p)}),
			NamedPorts:      map[string]NamedPort{"http": {Port: 8080, Protocol: corev1.ProtocolTCP}},
		}
	}
	ports := []int32{53, 80, 443, 8080, 8050}
	out := make([]Traffic, n)
	for i := range out {
		t := Traffic{Src: pod(), Dst: pod(), Protocol: corev1.ProtocolTCP, Port: ports[r.IntN(len(ports))]}
		switch r.IntN(10) {
		case 0:
			t.Dst = Peer{IP: netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), 0, 1})}
		case 1:
			t.Protocol = corev1.ProtocolUDP
		}
		out[i] = t
	}
	return out
}

// BenchmarkEvaluate measures one Evaluate against 10,000 policies in 1,000
// namespaces, cycling through 100,000 generated flows.
func BenchmarkEvaluate(b *testing.B) {
	e := mustNew(b, benchPolicies(), Options{})
	traffics := benchTraffics(benchTrafficsPerRun)
	var verdicts [4]int
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		verdicts[e.Evaluate(traffics[i]).Verdict]++
		i++
		if i == len(traffics) {
			i = 0
		}
	}
	b.ReportMetric(float64(verdicts[Allowed])/float64(b.N), "allowed/op")
}

// BenchmarkNew measures compiling the 10,000 policies.
func BenchmarkNew(b *testing.B) {
	policies := benchPolicies()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(policies, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchFixture keeps the benchmark's inputs valid and varied without
// running the benchmark.
func TestBenchFixture(t *testing.T) {
	e := mustNew(t, benchPolicies(), Options{})
	if e.Len() != benchNamespaces*benchPoliciesPerNS {
		t.Fatalf("Len() = %d", e.Len())
	}
	counts := map[Verdict]int{}
	for _, tr := range benchTraffics(2000) {
		counts[e.Evaluate(tr).Verdict]++
	}
	tests := []struct {
		verdict Verdict
	}{{Allowed}, {Denied}}
	for _, tc := range tests {
		if counts[tc.verdict] == 0 {
			t.Errorf("no %v flows in the benchmark fixture: %v", tc.verdict, counts)
		}
	}
}

// Verdict gives Evaluate's verdict on the benchmark's flows, also for
// protocols without ports and with Cilium's semantics.
func TestVerdictIsEvaluate(t *testing.T) {
	for _, cni := range []CNI{CNIKubernetes, CNICilium} {
		e := mustNew(t, benchPolicies(), Options{CNI: cni})
		counts := map[Verdict]int{}
		for i, tr := range benchTraffics(20000) {
			switch i % 13 {
			case 0:
				tr.Protocol = "ICMPv4"
			case 1:
				tr.Src = Peer{IP: tr.Src.IP}
			case 2:
				tr.Protocol = "udp"
			}
			want := e.Evaluate(tr).Verdict
			if got := e.Verdict(tr); got != want {
				t.Fatalf("%s flow %d %+v: Verdict %v, Evaluate %v", cni, i, tr, got, want)
			}
			counts[want]++
		}
		if len(counts) != 3 {
			t.Errorf("%s: verdicts %v, want all three", cni, counts)
		}
	}
}
