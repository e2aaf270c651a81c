package k8s_test

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

func valid() *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	port := intstr.FromInt32(8080)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "api-ingress", Namespace: "payments"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
}

// TestValidateRejectsWhatTheAPIServerRejects: each mutation must be
// refused, with the offending field named.
func TestValidateRejectsWhatTheAPIServerRejects(t *testing.T) {
	if err := k8s.Validate(valid()); err != nil {
		t.Fatalf("valid policy rejected: %v", err)
	}
	icmp := corev1.Protocol("ICMP")
	str := intstr.FromString("http_web")
	big := intstr.FromInt32(70000)
	p80 := intstr.FromInt32(80)
	end := int32(79)
	for _, c := range []struct {
		name, field string
		mut         func(*networkingv1.NetworkPolicy)
	}{
		{"name not DNS-1123", "metadata.name", func(n *networkingv1.NetworkPolicy) { n.Name = "Api_Ingress" }},
		{"no namespace", "metadata.namespace", func(n *networkingv1.NetworkPolicy) { n.Namespace = "" }},
		{"bad label value", "spec.podSelector", func(n *networkingv1.NetworkPolicy) { n.Spec.PodSelector.MatchLabels["app"] = "no spaces allowed" }},
		{"bad protocol", "protocol", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].Ports[0].Protocol = &icmp }},
		{"port out of range", "port", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].Ports[0].Port = &big }},
		{"bad port name", "port", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].Ports[0].Port = &str }},
		{"endPort below port", "endPort", func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].Ports[0].Port, n.Spec.Ingress[0].Ports[0].EndPort = &p80, &end
		}},
		{"endPort without port", "endPort", func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].Ports[0].Port, n.Spec.Ingress[0].Ports[0].EndPort = nil, &end
		}},
		{"non-canonical cidr", "cidr", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0].IPBlock.CIDR = "10.0.0.1/8" }},
		{"garbage cidr", "cidr", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0].IPBlock.CIDR = "ten/8" }},
		{"except outside cidr", "except", func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].From[0].IPBlock.Except = []string{"192.168.0.0/16"}
		}},
		{"except equal to cidr", "except", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0].IPBlock.Except = []string{"10.0.0.0/8"} }},
		{"empty peer", "must specify a peer", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} }},
		{"ipBlock with selector", "ipBlock", func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].From[0].PodSelector = &metav1.LabelSelector{}
		}},
		{"bad policy type", "policyTypes", func(n *networkingv1.NetworkPolicy) { n.Spec.PolicyTypes = []networkingv1.PolicyType{"Sideways"} }},
		{"duplicate policy type", "policyTypes", func(n *networkingv1.NetworkPolicy) {
			n.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeIngress}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			np := valid()
			c.mut(np)
			err := k8s.Validate(np)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %v, want a rejection naming %q", err, c.field)
			}
		})
	}
}

// TestBuildNeverWidens: a rule whose ports or peers cannot be expressed is
// dropped whole; it must never become an empty port list or an empty peer
// list, which NetworkPolicy reads as "everything".
func TestBuildNeverWidens(t *testing.T) {
	redis := policy.Peer{Pods: &policy.PodPeer{Selector: map[string]string{"app": "redis"}}}
	apiserver := policy.Peer{Entity: record.EntityKubeAPIServer} // no IP known
	p := &policy.Policy{Name: "frontend-egress", Namespace: "shop", Kind: policy.KindEgress, Egress: true,
		Subject: map[string]string{"app": "frontend"},
		EgressRules: []policy.Rule{
			{Peers: []policy.Peer{redis}, Ports: []policy.Port{{Proto: record.ICMPv4}}},
			{Peers: []policy.Peer{apiserver}, Ports: []policy.Port{{Proto: record.TCP, Port: 6443}}},
			{Peers: []policy.Peer{redis}, Ports: []policy.Port{{Proto: record.TCP, Port: 6379}, {Proto: record.ICMPv4}}},
		}}
	np, notes := k8s.Build(p)
	if len(np.Spec.Egress) != 1 {
		t.Fatalf("want only the expressible rule, got %d rules: %+v", len(np.Spec.Egress), np.Spec.Egress)
	}
	r := np.Spec.Egress[0]
	if len(r.To) != 1 || len(r.Ports) != 1 || r.Ports[0].Port.IntValue() != 6379 {
		t.Fatalf("rule = %+v, want redis on TCP/6379 only", r)
	}
	if len(notes) != 3 {
		t.Errorf("notes = %v, want one per dropped part", notes)
	}
	if len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeEgress {
		t.Errorf("policyTypes = %v", np.Spec.PolicyTypes)
	}
}

func TestMarshalCommentsAndRoundTrip(t *testing.T) {
	ext := policy.Peer{CIDRs: []policy.CIDR{{Prefix: netip.MustParsePrefix("198.51.100.10/32")}}, Names: []string{"api.stripe.com"}}
	p := &policy.Policy{Name: "worker-egress", Namespace: "payments", Kind: policy.KindEgress, Egress: true,
		Subject: map[string]string{"app": "worker"}, Comment: []string{"Whom payments/worker calls."},
		EgressRules: []policy.Rule{{Peers: []policy.Peer{ext}, Ports: []policy.Port{{Proto: record.TCP, Port: 443}}}}}
	np, notes := k8s.Build(p)
	b, err := k8s.Marshal(np, p, notes)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "# Whom payments/worker calls.\n") || !strings.Contains(s, "cidr: 198.51.100.10/32 # api.stripe.com\n") {
		t.Errorf("missing header or DNS comment:\n%s", s)
	}
	back, err := k8s.Decode("worker-egress.yaml", b)
	if err != nil || len(back) != 1 || back[0].Spec.Egress[0].To[0].IPBlock.CIDR != "198.51.100.10/32" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if _, err := k8s.Decode("x.yaml", []byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: b}\nspec: {podSelecter: {}}\n")); err == nil {
		t.Error("strict decode accepted an unknown field")
	}
}
