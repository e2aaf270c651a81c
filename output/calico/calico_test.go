package calico_test

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

func sampleTree(t *testing.T, f calico.Formatter, opts synth.Options) output.Tree {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{"../../testdata/flows/*.json*"}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.CNI = synth.CNICalico
	_, tree, err := pipeline.RenderWith(g, opts, f)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestGolden: the sample scenario's trees, byte for byte, and the same on
// a second run (-update rewrites testdata/golden).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		dir string
		f   calico.Formatter
	}{
		{"default", calico.Formatter{}},
		{"tier-staged", calico.Formatter{Tier: "apps", Staged: true}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			tree := sampleTree(t, tc.f, synth.Options{})
			again := sampleTree(t, tc.f, synth.Options{})
			for _, p := range tree.Paths() {
				if string(tree[p]) != string(again[p]) {
					t.Errorf("%s: two runs differ", p)
				}
			}
			golden.Compare(t, golden.Dir(t, tc.dir), tree)
		})
	}
}

// TestTreeShape is what a user checks in the sample trees.
func TestTreeShape(t *testing.T) {
	optIn := []policy.OptIn{{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80}}
	tree := sampleTree(t, calico.Formatter{Tier: "apps", Staged: true}, synth.Options{MetadataAllow: optIn})
	objs, err := calico.DecodeTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	find := func(kind, ns, name string) *calico.Object {
		for _, o := range objs {
			if o.Kind == kind && o.Metadata.Namespace == ns && o.Metadata.Name == name {
				return o
			}
		}
		t.Fatalf("no %s %s/%s in %v", kind, ns, name, tree.Paths())
		return nil
	}
	dd := find(calico.KindStagedNetworkPolicy, "shop", "apps.default-deny").Spec.(*calico.PolicySpec)
	if dd.Selector != "all()" || !slices.Equal(dd.Types, []string{"Ingress", "Egress"}) || len(dd.Ingress)+len(dd.Egress) != 0 ||
		dd.Tier != "apps" || dd.StagedAction != "Set" {
		t.Errorf("default-deny %+v: want all(), Ingress+Egress, no rules, tier apps, stagedAction Set", dd)
	}
	fe := find(calico.KindStagedNetworkPolicy, "shop", "apps.frontend-egress").Spec.(*calico.PolicySpec)
	var icmp, cross bool
	for _, r := range fe.Egress {
		if r.Protocol == "ICMP" && r.Destination.Selector == "app == 'redis'" && r.Destination.NamespaceSelector == "projectcalico.org/name == 'data'" {
			icmp = true
		}
		if r.Protocol == "TCP" && r.Destination.NamespaceSelector == "projectcalico.org/name == 'payments'" && slices.Equal(r.Destination.Ports, []calico.Port{calico.Num(8443)}) {
			cross = true
		}
	}
	if !icmp || !cross {
		t.Errorf("frontend egress %+v: want ICMP to data/redis (expressible in Calico) and TCP 8443 to payments/api by namespaceSelector", fe.Egress)
	}
	if fe.Selector != "app.kubernetes.io/name == 'frontend'" {
		t.Errorf("selector %q", fe.Selector)
	}
	guard := find(calico.KindStagedGlobalNetworkPolicy, "", "flowfence-metadata-guard.deny-cloud-metadata").Spec.(*calico.PolicySpec)
	var actions []string
	for _, r := range guard.Egress {
		actions = append(actions, r.Action)
	}
	last := guard.Egress[len(guard.Egress)-1]
	if actions[0] != "Pass" || !slices.Contains(actions, "Deny") || last.Action != "Pass" || last.Destination != nil || last.Protocol != "" {
		t.Errorf("guard rules %v: want Pass for DNS, Deny to the guarded addresses, then Pass everything", actions)
	}
	if !strings.Contains(guard.Selector, "!(projectcalico.org/namespace == 'payments' && app == 'fraud')") ||
		!strings.HasPrefix(guard.Selector, "projectcalico.org/namespace in {") {
		t.Errorf("guard selector %q: want the application namespaces minus the opt-in", guard.Selector)
	}
	for _, r := range guard.Egress {
		if r.Action == "Pass" && r.Destination != nil && slices.Contains(r.Destination.Nets, "169.254.169.254/32") && !slices.Equal(r.Destination.Ports, []calico.Port{calico.Num(53)}) {
			t.Errorf("DNS pass rule %+v: only port 53", r)
		}
	}
	tiers := map[string]float64{}
	for _, o := range objs {
		if o.Kind == calico.KindTier {
			tiers[o.Metadata.Name] = *o.Spec.(*calico.TierSpec).Order
		}
	}
	if tiers["flowfence-metadata-guard"] >= tiers["apps"] || tiers["apps"] == 0 {
		t.Errorf("tiers %v: the guard tier comes before the workload tier", tiers)
	}
	if !strings.HasPrefix(string(tree["ROLLOUT.md"]), "# Rollout plan") || !strings.Contains(string(tree["ROLLOUT.md"]), "kubectl delete stagednetworkpolicies.projectcalico.org") {
		t.Errorf("ROLLOUT.md lacks the staged promotion")
	}
}

func TestBuildRules(t *testing.T) {
	pfx := netip.MustParsePrefix
	p := &policy.Policy{Name: "api-ingress", Namespace: "web", Workload: "api", Subject: map[string]string{"app": "api"}, Ingress: true,
		IngressRules: []policy.Rule{
			{Peers: []policy.Peer{{CIDRs: []policy.CIDR{{Prefix: pfx("0.0.0.0/0"), Except: []netip.Prefix{pfx("169.254.0.0/16")}}, {Prefix: pfx("::/0")}}}},
				Ports: []policy.Port{{Proto: record.TCP, Port: 443}, {Proto: record.TCP, Port: 80}, {Proto: record.ICMPv4}}},
			{Peers: []policy.Peer{{Entity: record.EntityKubeAPIServer}}, Ports: []policy.Port{{Proto: record.TCP, Port: 9443}}},
		}}
	obj, notes := calico.Formatter{}.Build(p)
	if err := calico.Validate(obj); err != nil {
		t.Fatal(err)
	}
	spec := obj.Spec.(*calico.PolicySpec)
	var got []string
	for _, r := range spec.Ingress {
		var ports []string
		if r.Destination != nil {
			for _, p := range r.Destination.Ports {
				ports = append(ports, strconv.Itoa(int(p.Number)))
			}
		}
		got = append(got, r.Protocol+" "+strings.Join(r.Source.Nets, ",")+" !"+strings.Join(r.Source.NotNets, ",")+" "+strings.Join(ports, ","))
	}
	want := []string{"TCP 0.0.0.0/0 !169.254.0.0/16 80,443", "ICMP 0.0.0.0/0 !169.254.0.0/16 ", "TCP ::/0 ! 80,443"}
	if !slices.Equal(got, want) {
		t.Errorf("rules %q, want %q (one rule per CIDR and protocol; ICMP never with an IPv6 net)", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "kube-apiserver") {
		t.Errorf("notes %v: the entity-only rule is dropped and said so", notes)
	}
}

func TestValidateRejects(t *testing.T) {
	ok := func() *calico.Object {
		return &calico.Object{ObjectHead: output.ObjectHead{APIVersion: calico.APIVersion, Kind: calico.KindNetworkPolicy, Metadata: output.Metadata{Name: "a", Namespace: "web"}},
			Spec: &calico.PolicySpec{Selector: "all()", Types: []string{"Egress"}, Egress: []calico.Rule{{Action: "Allow", Protocol: "TCP",
				Destination: &calico.EntityRule{Nets: []string{"10.0.0.0/8"}, NotNets: []string{"10.1.0.0/16"}, Ports: []calico.Port{calico.Num(443)}}}}}}
	}
	if err := calico.Validate(ok()); err != nil {
		t.Fatalf("valid object rejected: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		mut        func(o *calico.Object)
	}{
		{"policy in a tier without the tier prefix", "tier", func(o *calico.Object) { o.Spec.(*calico.PolicySpec).Tier = "apps" }},
		{"notNets outside nets", "notNets", func(o *calico.Object) {
			o.Spec.(*calico.PolicySpec).Egress[0].Destination.NotNets = []string{"192.168.0.0/16"}
		}},
		{"ports without TCP/UDP/SCTP", "ports", func(o *calico.Object) { o.Spec.(*calico.PolicySpec).Egress[0].Protocol = "ICMP" }},
		{"stagedAction on an enforced kind", "stagedAction", func(o *calico.Object) { o.Spec.(*calico.PolicySpec).StagedAction = "Set" }},
		{"no types", "types", func(o *calico.Object) { o.Spec.(*calico.PolicySpec).Types = nil }},
		{"mixed families", "mixes", func(o *calico.Object) {
			o.Spec.(*calico.PolicySpec).Egress[0].Destination.Nets = []string{"10.0.0.0/8", "::/0"}
			o.Spec.(*calico.PolicySpec).Egress[0].Destination.NotNets = nil
		}},
		{"bad name", "metadata.name", func(o *calico.Object) { o.Metadata.Name = "Api_Ingress" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok()
			tc.mut(o)
			if err := calico.Validate(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}

// TestSelectorInjectionRefused: a label value or key that would close its
// quoted string in a Calico selector (and select every pod) is refused
// before anything is rendered.
func TestSelectorInjectionRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject map[string]string
		peerNS  string
	}{
		{"a value closing its quote", map[string]string{"app": "x' || all() || app == 'y"}, ""},
		{"a key with an operator", map[string]string{"all() || app": "x"}, ""},
		{"a peer namespace closing its quote", map[string]string{"app": "x"}, "b' || all() || a == 'c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &policy.Policy{Name: "w-egress", Namespace: "shop", Kind: policy.KindEgress, Subject: tc.subject, Egress: true,
				EgressRules: []policy.Rule{{Peers: []policy.Peer{{Pods: &policy.PodPeer{Namespace: tc.peerNS, Selector: map[string]string{"app": "db"}}}}}}}
			set := &policy.Set{Namespaces: []*policy.Namespace{{Name: "shop", Policies: []*policy.Policy{p}}}}
			if tree, err := (calico.Formatter{}).Render(set); err == nil {
				t.Fatalf("rendered:\n%s", tree["shop/w-egress.yaml"])
			} else if !strings.Contains(err.Error(), "shop/w-egress") || !strings.Contains(err.Error(), "not a valid Kubernetes") {
				t.Errorf("error %q: want the policy and the reason", err)
			}
		})
	}
}
