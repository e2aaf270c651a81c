package k8s

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	goyaml "go.yaml.in/yaml/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// marshalYAML writes exactly what sigs.k8s.io/yaml.Marshal writes, for
// policies full of strings YAML treats specially.
func TestMarshalYAMLIsSigsYAML(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"yes", "no", "on", "off", "true", "null", "~", "1", "0x10", "1e3", "1.0", "-", "a: b", "#x", "é", "",
		"web", "kube-dns", "10.0.0.0/8", "*", "&a", "'q'", "\"q\"", "line\nbreak", "tab\t", "0", "-1", "+1", ".5", "2001:db8::/32"}
	w := func() string { return words[r.IntN(len(words))] }
	for i := 0; i < 2000; i++ {
		np := &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: w(), Namespace: w(), Labels: map[string]string{w(): w()}, Annotations: map[string]string{w(): w()}},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{w(): w(), w(): w()}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			},
		}
		for j := r.IntN(3); j > 0; j-- {
			proto := corev1.Protocol(w())
			port := intstr.FromInt32(int32(r.IntN(70000)))
			if r.IntN(3) == 0 {
				port = intstr.FromString(w())
			}
			end := int32(r.IntN(65536))
			rule := networkingv1.NetworkPolicyIngressRule{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &port, EndPort: &end}, {}},
				From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{w(): w()}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: w(), Except: []string{w(), w()}}},
					{PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: w(), Operator: metav1.LabelSelectorOpIn, Values: []string{w(), w()}}}}},
				},
			}
			np.Spec.Ingress = append(np.Spec.Ingress, rule)
		}
		if r.IntN(4) == 0 {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
		}
		got, err := marshalYAML(np)
		if err != nil {
			t.Fatal(err)
		}
		want, err := yaml.Marshal(np)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("policy %d:\n--- marshalYAML\n%s\n--- sigs.k8s.io/yaml\n%s", i, got, want)
		}
	}
	// values the fast path hands back to sigs.k8s.io/yaml
	for _, v := range []any{map[string]any{"f": 1.5}, map[string]any{"big": uint64(1 << 63)}, []any{1e300}, func() {}} {
		got, gerr := marshalYAML(v)
		want, werr := yaml.Marshal(v)
		if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%v: %q %v, sigs.k8s.io/yaml %q %v", v, got, gerr, want, werr)
		}
	}
}

// emitYAML, wherever it accepts a value, writes what yaml.v2 writes;
// random documents of the shapes NetworkPolicy JSON has.
func TestEmitYAMLIsYAMLv2(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	keys := []string{"a", "b", "a10", "a9", "a09", "k8s-app", "app.kubernetes.io/name", "x_y", "Z", "podSelector", "10.0.0.0/8", "yes", "9", "é", "a b"}
	strs := []string{"web", "TCP", "10.1.2.3/32", "0.0.0.0/0", "1.2.3.4", "kube-dns", "no", "No", "nO", "a-", "a.b/c", "8080", "", "x:y", "Infinity", "nan"}
	var gen func(depth int) any
	gen = func(depth int) any {
		switch n := r.IntN(10); {
		case depth > 4 || n < 3:
			switch r.IntN(5) {
			case 0:
				return r.IntN(70000) - 100
			case 1:
				return r.IntN(2) == 0
			case 2:
				return nil
			default:
				return strs[r.IntN(len(strs))]
			}
		case n < 7:
			m := map[string]any{}
			for i := r.IntN(4); i > 0; i-- {
				m[keys[r.IntN(len(keys))]] = gen(depth + 1)
			}
			return m
		default:
			s := []any{}
			for i := r.IntN(4); i > 0; i-- {
				s = append(s, gen(depth+1))
			}
			return s
		}
	}
	took := 0
	for i := 0; i < 20000; i++ {
		v := map[string]any{"spec": gen(0), "kind": "NetworkPolicy"}
		got, ok := emitYAML(v)
		if !ok {
			continue
		}
		took++
		want, err := goyaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("document %d %#v:\n--- emitYAML\n%s\n--- yaml.v2\n%s", i, v, got, want)
		}
	}
	if took < 2000 {
		t.Fatalf("emitYAML took only %d of 20000 documents", took)
	}
}

// unmarshalStrict decodes as sigs.k8s.io/yaml.UnmarshalStrict: the same
// policy or the same error, on every document the random policies of
// TestMarshalYAMLIsSigsYAML make, on the golden tree and on edits of them.
func TestUnmarshalStrictIsSigsYAML(t *testing.T) {
	docs := goldenDocs(t)
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 300; i++ {
		np := &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/managed-by": "flowfence"}},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("w%d", r.IntN(9))}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			},
		}
		port, proto := intstr.FromInt32(int32(r.IntN(65536))), corev1.ProtocolUDP
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Port: &port, Protocol: &proto}},
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: fmt.Sprintf("10.%d.0.0/16", r.IntN(256))}}, {PodSelector: &metav1.LabelSelector{}}},
		}}
		b, err := Marshal(np, &policy.Policy{Comment: []string{"c"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	edits := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return strings.Replace(s, "  ", "   ", 1) },
		func(s string) string {
			return strings.Replace(s, "kind: NetworkPolicy", "kind: NetworkPolicy\nkind: NetworkPolicy", 1)
		},
		func(s string) string { return strings.Replace(s, "name: ", "name: \"", 1) },
		func(s string) string { return strings.Replace(s, "port: ", "port: 0", 1) },
		func(s string) string { return strings.Replace(s, "port: ", "port: -", 1) },
		func(s string) string { return strings.Replace(s, "protocol: ", "protocol: 12", 1) },
		func(s string) string { return strings.Replace(s, "namespace: ", "namespace: 123 # x", 1) },
		func(s string) string { return strings.Replace(s, "name: ", "name: yes", 1) },
		func(s string) string { return strings.Replace(s, "spec:", "spec: {}\nx:", 1) },
		func(s string) string {
			return strings.Replace(s, "  podSelector:", "  podSelector: null\n  unknownField:", 1)
		},
		func(s string) string { return strings.Replace(s, "- ", "-  ", 1) },
		func(s string) string { return strings.Replace(s, "\n", "\r\n", -1) },
		func(s string) string { return s + "  trailing: 1\n" },
		func(s string) string {
			return strings.Replace(s, "policyTypes:", "policyTypes: []\n  egress: []\n  x:", 1)
		},
	}
	fast := 0
	for _, doc := range docs {
		if _, ok := readYAML(doc); ok {
			fast++
		}
	}
	if fast < len(docs)*9/10 {
		t.Errorf("the fast reader took %d of %d unedited documents", fast, len(docs))
	}
	for i, doc := range docs {
		for j, edit := range edits {
			d := []byte(edit(string(doc)))
			var fast, ref networkingv1.NetworkPolicy
			ferr := unmarshalStrict(d, &fast)
			rerr := yaml.UnmarshalStrict(d, &ref)
			if fmt.Sprint(ferr) != fmt.Sprint(rerr) || !reflect.DeepEqual(fast, ref) {
				t.Fatalf("document %d edit %d: %v / %+v\nsigs.k8s.io/yaml: %v / %+v\n%s", i, j, ferr, fast, rerr, ref, d)
			}
		}
	}
}

// goldenDocs are the policy documents of the golden tree.
func goldenDocs(t testing.TB) [][]byte {
	t.Helper()
	var docs [][]byte
	err := filepath.WalkDir(filepath.Join("..", "..", "pipeline", "testdata", "golden", "k8s"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, "kustomization.yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		docs = append(docs, output.SplitDocuments(b)...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no golden policy found")
	}
	return docs
}
