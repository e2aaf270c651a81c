package cilium

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	anp "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output/guardrails"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// TestGuardrailsDecode: --guardrails --baseline-deny in the k8s flavor
// writes AdminNetworkPolicies and the BaselineAdminNetworkPolicy that
// decode strictly into sigs.k8s.io/network-policy-api's types, with the
// fields a reviewer checks: the guard denies every guarded address to every
// namespace after passing the DNS ports, the opt-in passes exactly its
// workload's address and port at a higher precedence, the baseline denies
// the application namespaces by default.
func TestGuardrailsDecode(t *testing.T) {
	g := learn(t, sampleGlob)
	optIns := []policy.OptIn{
		{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
		{Namespace: "shop", Workload: "catalog", Address: "169.254.169.254"},
	}
	set, tree := render(t, g, "k8s", pipeline.FormatterOptions{Guardrails: true, BaselineDeny: true}, synth.Options{Cloud: "gcp", MetadataAllow: optIns})
	var anps []anp.AdminNetworkPolicy
	for _, d := range docs(tree["_cluster/01-metadata-guard.yaml"]) {
		var a anp.AdminNetworkPolicy
		if err := yaml.UnmarshalStrict(d, &a); err != nil {
			t.Fatalf("strict decode: %v", err)
		}
		if a.APIVersion != "policy.networking.k8s.io/v1alpha1" || a.Kind != "AdminNetworkPolicy" {
			t.Errorf("%s/%s", a.APIVersion, a.Kind)
		}
		anps = append(anps, a)
	}
	if len(anps) != 3 {
		t.Fatalf("%d AdminNetworkPolicies, want two opt-ins and the guard", len(anps))
	}
	guard := anps[2]
	if guard.Name != guardrails.GuardName || guard.Spec.Priority != guardrails.GuardPriority {
		t.Errorf("guard %s priority %d", guard.Name, guard.Spec.Priority)
	}
	if ns := guard.Spec.Subject.Namespaces; ns == nil || len(ns.MatchLabels)+len(ns.MatchExpressions) != 0 || guard.Spec.Subject.Pods != nil {
		t.Errorf("guard subject %+v: want every namespace", guard.Spec.Subject)
	}
	eg := guard.Spec.Egress
	if len(eg) != 2 {
		t.Fatalf("guard egress rules %+v", eg)
	}
	pass, deny := eg[0], eg[1]
	if pass.Action != anp.AdminNetworkPolicyRuleActionPass || !slices.Equal(pass.To[0].Networks, []anp.CIDR{"169.254.169.254/32"}) ||
		pass.Ports == nil || len(*pass.Ports) != 2 || (*pass.Ports)[0].PortNumber.Port != 53 {
		t.Errorf("first rule %+v: want Pass of 169.254.169.254 on port 53 (GKE Cloud DNS)", pass)
	}
	var want []anp.CIDR
	for _, a := range set.Guard.Addresses {
		want = append(want, anp.CIDR(a.Addr.String()+map[bool]string{true: "/32", false: "/128"}[a.Addr.Is4()]))
	}
	slices.Sort(want)
	if deny.Action != anp.AdminNetworkPolicyRuleActionDeny || deny.Ports != nil || len(deny.To) != 1 || !slices.Equal(deny.To[0].Networks, want) {
		t.Errorf("last rule %+v: want Deny of %v on every port", deny, want)
	}
	fraud := anps[0]
	if !strings.Contains(fraud.Name, "payments-fraud") || fraud.Spec.Priority >= guard.Spec.Priority {
		t.Errorf("opt-in %s priority %d: must precede the guard (%d)", fraud.Name, fraud.Spec.Priority, guard.Spec.Priority)
	}
	pods := fraud.Spec.Subject.Pods
	if pods == nil || pods.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "payments" || pods.PodSelector.MatchLabels["app"] != "fraud" {
		t.Errorf("opt-in subject %+v: want payments/fraud's pods", fraud.Spec.Subject)
	}
	r := fraud.Spec.Egress
	if len(r) != 1 || r[0].Action != anp.AdminNetworkPolicyRuleActionPass || !slices.Equal(r[0].To[0].Networks, []anp.CIDR{"169.254.169.254/32"}) ||
		r[0].Ports == nil || (*r[0].Ports)[0].PortNumber.Port != 80 || (*r[0].Ports)[0].PortNumber.Protocol != corev1.ProtocolTCP {
		t.Errorf("opt-in rules %+v: want Pass of 169.254.169.254 TCP/UDP 80", r)
	}
	if catalog := anps[1]; catalog.Spec.Egress[0].Ports != nil {
		t.Errorf("opt-in without a port: want every port, got %+v", catalog.Spec.Egress[0].Ports)
	}

	var banp anp.BaselineAdminNetworkPolicy
	if err := yaml.UnmarshalStrict(tree["_cluster/02-baseline-default-deny.yaml"], &banp); err != nil {
		t.Fatalf("strict decode BANP: %v", err)
	}
	if banp.Kind != "BaselineAdminNetworkPolicy" || banp.Name != "default" {
		t.Errorf("BANP %s %s", banp.Kind, banp.Name)
	}
	var nss []string
	for _, ns := range set.Namespaces {
		nss = append(nss, ns.Name)
	}
	slices.Sort(nss)
	subj := banp.Spec.Subject.Namespaces
	if subj == nil || len(subj.MatchExpressions) != 1 || subj.MatchExpressions[0].Key != "kubernetes.io/metadata.name" || !slices.Equal(subj.MatchExpressions[0].Values, nss) {
		t.Errorf("BANP subject %+v: want the application namespaces %v", banp.Spec.Subject, nss)
	}
	if len(banp.Spec.Ingress) != 1 || banp.Spec.Ingress[0].Action != anp.BaselineAdminNetworkPolicyRuleActionDeny || banp.Spec.Ingress[0].From[0].Namespaces == nil {
		t.Errorf("BANP ingress %+v: want Deny from every namespace", banp.Spec.Ingress)
	}
	if len(banp.Spec.Egress) != 1 || banp.Spec.Egress[0].Action != anp.BaselineAdminNetworkPolicyRuleActionDeny ||
		!slices.Equal(banp.Spec.Egress[0].To[0].Networks, []anp.CIDR{"0.0.0.0/0", "::/0"}) {
		t.Errorf("BANP egress %+v: want Deny to every address", banp.Spec.Egress)
	}
}
