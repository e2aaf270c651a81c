package guardrails

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

func set(t *testing.T, cloud string, optIns []policy.OptIn, sels map[string]map[string]string, nss ...string) *policy.Set {
	t.Helper()
	g, err := synth.NewGuard(cloud, optIns)
	if err != nil {
		t.Fatal(err)
	}
	g.OptInSelectors = sels
	s := &policy.Set{Guard: g}
	for _, n := range nss {
		s.Namespaces = append(s.Namespaces, &policy.Namespace{Name: n})
	}
	return s
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name      string
		cloud     string
		optIns    []policy.OptIn
		sels      map[string]map[string]string
		wantPass  []string // networks of the DNS-port Pass rule
		wantOptIn []string // names of the opt-in policies
	}{
		{name: "aws: the shared IMDS address keeps its DNS port", cloud: "aws", wantPass: []string{"169.254.169.254/32"}},
		{name: "alibaba", cloud: "alibaba", wantPass: []string{"169.254.169.254/32"}},
		{name: "gcp: Cloud DNS on 53 passes", cloud: "gcp", wantPass: []string{"169.254.169.254/32"}},
		{name: "generic: GCP and Azure DNS", cloud: "generic", wantPass: []string{"168.63.129.16/32", "169.254.169.254/32"}},
		{
			name:  "opt-ins in two namespaces; one unselectable",
			cloud: "aws",
			optIns: []policy.OptIn{
				{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
				{Namespace: "kube-system", Workload: "ebs-csi", Address: "169.254.169.254"},
				{Namespace: "data", Workload: "ghost", Address: "169.254.169.254"},
			},
			sels:      map[string]map[string]string{"payments/fraud": {"app": "fraud"}, "kube-system/ebs-csi": {"app": "ebs-csi-controller"}},
			wantPass:  []string{"169.254.169.254/32"},
			wantOptIn: []string{"flowfence-metadata-opt-in-kube-system-ebs-csi", "flowfence-metadata-opt-in-payments-fraud"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := set(t, tt.cloud, tt.optIns, tt.sels)
			objs, comments := Guard(s)
			if len(objs) != len(comments) || len(objs) != len(tt.wantOptIn)+1 {
				t.Fatalf("%d objects, %d comments", len(objs), len(comments))
			}
			for _, o := range objs {
				if err := Validate(o); err != nil {
					t.Fatalf("%s: %v", o.Metadata.Name, err)
				}
			}
			guard := objs[len(objs)-1]
			if guard.Metadata.Name != GuardName || *guard.Spec.Priority != GuardPriority || guard.Spec.Subject.Namespaces == nil {
				t.Errorf("guard %+v", guard)
			}
			rules := guard.Spec.Egress
			last := rules[len(rules)-1]
			var all []string
			for _, a := range s.Guard.Addresses {
				all = append(all, a.Addr.String())
			}
			if last.Action != ActionDeny || last.Ports != nil || len(last.To[0].Networks) != len(all) {
				t.Errorf("last rule %+v: want Deny of every guarded address on every port", last)
			}
			var pass []string
			for _, r := range rules[:len(rules)-1] {
				if r.Action != ActionPass || r.Ports == nil {
					t.Errorf("rule %+v before the deny: want a Pass on DNS ports", r)
				}
				pass = append(pass, r.To[0].Networks...)
				for _, p := range *r.Ports {
					if p.PortNumber.Port != 53 {
						t.Errorf("Pass on port %d", p.PortNumber.Port)
					}
				}
			}
			if !slices.Equal(pass, tt.wantPass) {
				t.Errorf("DNS Pass for %v, want %v", pass, tt.wantPass)
			}
			var optIns []string
			for _, o := range objs[:len(objs)-1] {
				optIns = append(optIns, o.Metadata.Name)
				if *o.Spec.Priority >= GuardPriority || o.Spec.Subject.Pods == nil {
					t.Errorf("opt-in %s: priority %d, subject %+v", o.Metadata.Name, *o.Spec.Priority, o.Spec.Subject)
				}
				for _, r := range o.Spec.Egress {
					if r.Action != ActionPass {
						t.Errorf("opt-in %s: action %s, want Pass (NetworkPolicy decides)", o.Metadata.Name, r.Action)
					}
				}
			}
			if !slices.Equal(optIns, tt.wantOptIn) {
				t.Errorf("opt-in policies %v, want %v", optIns, tt.wantOptIn)
			}
			if tt.optIns != nil && !strings.Contains(strings.Join(comments[len(comments)-1], "\n"), "data/ghost") {
				t.Errorf("unselectable opt-in not in the guard's header")
			}
		})
	}
}

func TestBaseline(t *testing.T) {
	obj, _ := Baseline(set(t, "generic", nil, nil, "shop", "data"))
	if err := Validate(obj); err != nil {
		t.Fatal(err)
	}
	if obj.Kind != KindBANP || obj.Metadata.Name != "default" || obj.Spec.Priority != nil {
		t.Errorf("%s %s", obj.Kind, obj.Metadata.Name)
	}
	if e := obj.Spec.Subject.Namespaces.MatchExpressions; len(e) != 1 || !slices.Equal(e[0].Values, []string{"data", "shop"}) {
		t.Errorf("subject %+v", obj.Spec.Subject)
	}
	if r := obj.Spec.Egress; len(r) != 1 || r[0].Action != ActionDeny || !slices.Equal(r[0].To[0].Networks, []string{"0.0.0.0/0", "::/0"}) {
		t.Errorf("egress %+v", r)
	}
	if r := obj.Spec.Ingress; len(r) != 1 || r[0].Action != ActionDeny || r[0].From[0].Namespaces == nil {
		t.Errorf("ingress %+v", r)
	}
	empty, _ := Baseline(set(t, "generic", nil, nil))
	if empty.Spec.Subject.Namespaces.MatchLabels == nil {
		t.Errorf("no application namespace: the subject must select none, got %+v", empty.Spec.Subject)
	}
	bad := *obj
	bad.Metadata.Name = "other"
	if err := Validate(&bad); err == nil {
		t.Error("a BaselineAdminNetworkPolicy not named default was accepted")
	}
}

// TestFormatter: the wrapper keeps the base tree and name, adds _cluster/
// with a kustomization, and its YAML carries the header.
func TestFormatter(t *testing.T) {
	base := fakeFormatter{}
	f := Formatter{Base: base, Options: Options{Guard: true, Baseline: true}}
	if f.Name() != "k8s" {
		t.Errorf("name %s", f.Name())
	}
	tree, err := f.Render(set(t, "gcp", nil, nil, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"_cluster/01-metadata-guard.yaml", "_cluster/02-baseline-default-deny.yaml", "_cluster/kustomization.yaml", "shop/x.yaml"}
	if !slices.Equal(tree.Paths(), want) {
		t.Errorf("paths %v", tree.Paths())
	}
	var anp ANP
	if err := yaml.UnmarshalStrict(tree["_cluster/01-metadata-guard.yaml"], &anp); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(tree["_cluster/01-metadata-guard.yaml"]), "# Cluster-wide metadata guard") {
		t.Errorf("header missing")
	}
	notes := string(f.RolloutNotes(set(t, "gcp", nil, nil, "shop")))
	for _, s := range []string{"not by Cilium", "kubectl apply -k _cluster", "priority 10", "BaselineAdminNetworkPolicy `default`"} {
		if !strings.Contains(notes, s) {
			t.Errorf("ROLLOUT notes lack %q", s)
		}
	}
}

type fakeFormatter struct{}

func (fakeFormatter) Name() string { return "k8s" }
func (fakeFormatter) Render(*policy.Set) (output.Tree, error) {
	return output.Tree{"shop/x.yaml": []byte("x\n")}, nil
}

// TestValidateRefusesInvalidLabels: an opt-in selector whose label key or
// value breaks Kubernetes' syntax (a line break, a space) is invalid.
func TestValidateRefusesInvalidLabels(t *testing.T) {
	for _, sel := range []map[string]string{{"app": "x\n- y"}, {"a b": "x"}} {
		obj := &ANP{ObjectHead: output.ObjectHead{APIVersion: APIVersion, Kind: KindANP, Metadata: output.Metadata{Name: "x"}},
			Spec: Spec{Priority: new(int32), Subject: Subject{Pods: &NamespacedPods{PodSelector: metav1.LabelSelector{MatchLabels: sel}}}}}
		if err := Validate(obj); err == nil || !strings.Contains(err.Error(), "not a valid label") {
			t.Errorf("%q: err = %v, want an invalid label", sel, err)
		}
	}
}
