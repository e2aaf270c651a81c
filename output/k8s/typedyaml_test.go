package k8s

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// randomPolicy is a NetworkPolicy of every shape the typed paths handle
// (and some they hand on): nil and empty selectors, slices and maps, rules
// without ports or peers, string and int ports, endPorts, ipBlocks with
// excepts, mostly strings YAML writes plain.
func randomPolicy(r *rand.Rand) *networkingv1.NetworkPolicy {
	words := []string{"web", "kube-dns", "TCP", "UDP", "SCTP", "10.0.0.0/8", "10.1.2.3/32", "app.kubernetes.io/name", "k8s-app", "a9", "a10",
		"A", "x_y", "api-v2", "payments", "no", "", "1.0", "8080", "2001:db8::/32", "a b", "é"}
	safe := words[:15]
	w := func() string {
		if r.IntN(20) == 0 {
			return words[r.IntN(len(words))]
		}
		return safe[r.IntN(len(safe))]
	}
	labels := func() map[string]string {
		switch r.IntN(6) {
		case 0:
			return nil
		case 1:
			return map[string]string{}
		}
		m := map[string]string{}
		n := r.IntN(4)
		if r.IntN(10) == 0 {
			n = 12
		}
		for i := n; i >= 0; i-- {
			m[w()+strconv.Itoa(i)] = w()
		}
		return m
	}
	selector := func() *metav1.LabelSelector {
		switch r.IntN(40) {
		case 0, 1, 2, 3, 4:
			return nil
		case 5:
			return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: w(), Operator: metav1.LabelSelectorOpExists}}}
		}
		return &metav1.LabelSelector{MatchLabels: labels()}
	}
	ports := func() []networkingv1.NetworkPolicyPort {
		if r.IntN(4) == 0 {
			return nil
		}
		var out []networkingv1.NetworkPolicyPort
		for i := r.IntN(3); i >= 0; i-- {
			var p networkingv1.NetworkPolicyPort
			if r.IntN(4) > 0 {
				proto := corev1.Protocol(w())
				p.Protocol = &proto
			}
			switch r.IntN(4) {
			case 0:
			case 1:
				v := intstr.FromString(w())
				p.Port = &v
			default:
				v := intstr.FromInt32(int32(r.IntN(70000)) - 10)
				p.Port = &v
			}
			if r.IntN(4) == 0 {
				end := int32(r.IntN(65536))
				p.EndPort = &end
			}
			out = append(out, p)
		}
		return out
	}
	peers := func() []networkingv1.NetworkPolicyPeer {
		if r.IntN(4) == 0 {
			return nil
		}
		var out []networkingv1.NetworkPolicyPeer
		for i := r.IntN(3); i >= 0; i-- {
			var p networkingv1.NetworkPolicyPeer
			switch r.IntN(5) {
			case 0:
				p.IPBlock = &networkingv1.IPBlock{CIDR: w()}
				for j := r.IntN(3); j > 0; j-- {
					p.IPBlock.Except = append(p.IPBlock.Except, w())
				}
			case 1:
			default:
				p.PodSelector, p.NamespaceSelector = selector(), selector()
			}
			out = append(out, p)
		}
		return out
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: w(), Namespace: w(), Labels: labels()},
	}
	if s := selector(); s != nil {
		np.Spec.PodSelector = *s
	}
	if np.Spec.PodSelector.MatchExpressions == nil && r.IntN(3) == 0 {
		np.Spec.PodSelector = metav1.LabelSelector{}
	}
	if r.IntN(5) > 0 {
		np.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
	}
	if r.IntN(20) == 0 {
		np.Annotations = map[string]string{w(): w()}
	}
	for i := r.IntN(3); i > 0; i-- {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: ports(), From: peers()})
	}
	for i := r.IntN(3); i > 0; i-- {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: ports(), To: peers()})
	}
	switch r.IntN(4) {
	case 0:
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{}
	default:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyType(w())}
	}
	return np
}

// emitPolicy writes, wherever it accepts a policy, what sigs.k8s.io/yaml
// writes; and it accepts most of them.
func TestEmitPolicyIsSigsYAML(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	took := 0
	const n = 5000
	for i := 0; i < n; i++ {
		np := randomPolicy(r)
		want, err := yaml.Marshal(np)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := emitPolicy(nil, np)
		if !ok {
			continue
		}
		took++
		if !bytes.Equal(got, want) {
			t.Fatalf("policy %d:\n--- emitPolicy\n%s\n--- sigs.k8s.io/yaml\n%s", i, got, want)
		}
	}
	if took < n/4 {
		t.Fatalf("emitPolicy took only %d of %d policies", took, n)
	}
}

// readPolicy decodes what sigs.k8s.io/yaml.UnmarshalStrict decodes,
// on the documents of random policies and on edits of them; and it takes
// most of them.
func TestReadPolicyIsSigsYAML(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	edits := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return strings.Replace(s, "name:", "Name:", 1) },
		func(s string) string { return strings.Replace(s, "port: ", "port: 99999999999", 1) },
		func(s string) string { return strings.Replace(s, "port: ", "endPort: ", 1) },
		func(s string) string { return strings.Replace(s, "protocol: ", "protocol: 1", 1) },
		func(s string) string { return strings.Replace(s, "cidr: ", "cidr: 7", 1) },
		func(s string) string { return strings.Replace(s, "matchLabels:", "matchLabels: {}\n    x:", 1) },
		func(s string) string { return strings.Replace(s, ": {}", ": []", 1) },
		func(s string) string { return strings.Replace(s, ": {}", ": null", 1) },
		func(s string) string { return strings.Replace(s, "- Ingress", "- true", 1) },
		func(s string) string { return strings.Replace(s, "kind: ", "kind: 12", 1) },
		func(s string) string { return strings.Replace(s, "metadata:", "metadata:\n  uid: x", 1) },
		func(s string) string { return s + "status: {}\n" },
		func(s string) string { return strings.Replace(s, "  name: ", "  name: x\n  name: ", 1) },
		func(s string) string { return strings.Replace(s, "\n  - ", "\n    - ", 1) },
		func(s string) string { return strings.Replace(s, "\n    - ", "\n  - ", 1) },
		func(s string) string { return strings.Replace(s, "\n      ", "\n     ", 1) },
		func(s string) string { return strings.ReplaceAll(s, ": {}", ": {} # c") },
		func(s string) string { return strings.ReplaceAll(s, "\n", " # c\n") },
		func(s string) string { return strings.Replace(s, "spec:\n", "spec:\n# c\n\n", 1) },
		func(s string) string { return strings.Replace(s, "port: ", "port:  ", 1) },
		func(s string) string { return strings.Replace(s, "protocol: TCP", "protocol: TCP x", 1) },
		func(s string) string { return strings.Replace(s, "  - Ingress", "  -  Ingress", 1) },
		func(s string) string { return strings.Replace(s, "- Ingress\n", "- Ingress\n  - Ingress\n", 1) },
		func(s string) string { return strings.Replace(s, "policyTypes:\n", "policyTypes: []\n", 1) },
		func(s string) string { return strings.Replace(s, "- ", "- {}\n  - ", 1) },
		func(s string) string { return strings.Replace(s, "- ", "-\n    ", 1) },
	}
	took, total := 0, 0
	for i := 0; i < 250; i++ {
		np := randomPolicy(r)
		doc, err := yaml.Marshal(np)
		if err != nil {
			t.Fatal(err)
		}
		for j, edit := range edits {
			d := []byte(edit(string(doc)))
			if _, ok := readYAML(d); ok && j == 0 {
				total++
				var fast networkingv1.NetworkPolicy
				if readPolicy(d, &fast) {
					took++
				}
			}
			var fast, ref networkingv1.NetworkPolicy
			ferr := unmarshalStrict(d, &fast)
			rerr := yaml.UnmarshalStrict(d, &ref)
			if fmt.Sprint(ferr) != fmt.Sprint(rerr) || !reflect.DeepEqual(fast, ref) {
				t.Fatalf("policy %d edit %d: %v / %#v\nsigs.k8s.io/yaml: %v / %#v\n%s", i, j, ferr, fast, rerr, ref, d)
			}
		}
	}
	if took < total*8/10 { // the rest have annotations or matchExpressions
		t.Fatalf("readPolicy took only %d of the %d documents readYAML read", took, total)
	}
}

// The typed paths know NetworkPolicy's fields as k8s.io/api has them: a
// field added upstream must be added to emitPolicy and readPolicy
// (or the policy handed on to the generic path) before this passes.
func TestTypedPathsCoverNetworkPolicyFields(t *testing.T) {
	var got []string
	var walk func(prefix string, ty reflect.Type)
	walk = func(prefix string, ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || ty.PkgPath() == "k8s.io/apimachinery/pkg/apis/meta/v1" && !slices.Contains([]string{"LabelSelector", "TypeMeta", "ObjectMeta"}, ty.Name()) {
			return
		}
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name := prefix + f.Name
			got = append(got, name)
			walk(name+".", f.Type)
		}
	}
	walk("", reflect.TypeFor[networkingv1.NetworkPolicy]())
	slices.Sort(got)
	want := []string{
		"ObjectMeta", "ObjectMeta.Annotations", "ObjectMeta.CreationTimestamp", "ObjectMeta.DeletionGracePeriodSeconds",
		"ObjectMeta.DeletionTimestamp", "ObjectMeta.Finalizers", "ObjectMeta.GenerateName", "ObjectMeta.Generation", "ObjectMeta.Labels",
		"ObjectMeta.ManagedFields", "ObjectMeta.Name", "ObjectMeta.Namespace", "ObjectMeta.OwnerReferences", "ObjectMeta.ResourceVersion",
		"ObjectMeta.SelfLink", "ObjectMeta.UID", "Spec", "Spec.Egress", "Spec.Egress.Ports", "Spec.Egress.Ports.EndPort", "Spec.Egress.Ports.Port", "Spec.Egress.Ports.Port.IntVal", "Spec.Egress.Ports.Port.StrVal", "Spec.Egress.Ports.Port.Type",
		"Spec.Egress.Ports.Protocol", "Spec.Egress.To", "Spec.Egress.To.IPBlock", "Spec.Egress.To.IPBlock.CIDR",
		"Spec.Egress.To.IPBlock.Except", "Spec.Egress.To.NamespaceSelector", "Spec.Egress.To.NamespaceSelector.MatchExpressions",
		"Spec.Egress.To.NamespaceSelector.MatchLabels", "Spec.Egress.To.PodSelector", "Spec.Egress.To.PodSelector.MatchExpressions",
		"Spec.Egress.To.PodSelector.MatchLabels", "Spec.Ingress", "Spec.Ingress.From", "Spec.Ingress.From.IPBlock",
		"Spec.Ingress.From.IPBlock.CIDR", "Spec.Ingress.From.IPBlock.Except", "Spec.Ingress.From.NamespaceSelector",
		"Spec.Ingress.From.NamespaceSelector.MatchExpressions", "Spec.Ingress.From.NamespaceSelector.MatchLabels",
		"Spec.Ingress.From.PodSelector", "Spec.Ingress.From.PodSelector.MatchExpressions", "Spec.Ingress.From.PodSelector.MatchLabels",
		"Spec.Ingress.Ports", "Spec.Ingress.Ports.EndPort", "Spec.Ingress.Ports.Port", "Spec.Ingress.Ports.Port.IntVal", "Spec.Ingress.Ports.Port.StrVal", "Spec.Ingress.Ports.Port.Type", "Spec.Ingress.Ports.Protocol",
		"Spec.PodSelector", "Spec.PodSelector.MatchExpressions", "Spec.PodSelector.MatchLabels", "Spec.PolicyTypes",
		"TypeMeta", "TypeMeta.APIVersion", "TypeMeta.Kind",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("NetworkPolicy's fields changed:\n got %q\nwant %q", got, want)
	}
}

// quickValid accepts only what validate accepts, and most of it.
func TestQuickValidIsValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	valid, quick := 0, 0
	for i := 0; i < 20000; i++ {
		np := randomPolicy(r)
		if r.IntN(2) == 0 {
			// names and namespaces that pass, to get past object meta
			np.Name, np.Namespace = "p-"+strconv.Itoa(i), "ns"
			delete(np.Labels, "")
		}
		err := validate(np)
		if err == nil {
			valid++
		}
		if quickValid(np) {
			quick++
			if err != nil {
				t.Fatalf("policy %d: quickValid accepts what validate rejects: %v\n%#v", i, err, np)
			}
		}
	}
	if valid < 300 || quick < valid*8/10 {
		t.Fatalf("quickValid accepted %d of %d valid policies", quick, valid)
	}
}
