package verifier

import (
	"math/rand/v2"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The matchLabels fast path answers as apimachinery's selector does.
func TestCompileSelectorAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := []string{"app", "tier", "team", "k8s-app", "kubernetes.io/metadata.name"}
	vals := []string{"a", "b", "", "web"}
	set := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[keys[r.IntN(len(keys))]] = vals[r.IntN(len(vals))]
		}
		return m
	}
	for i := 0; i < 5000; i++ {
		ls := &metav1.LabelSelector{MatchLabels: set(r.IntN(4))}
		if i%7 == 0 {
			ls.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}
		}
		fast, err := compileSelector(ls)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatal(err)
		}
		l := labels.Set(set(r.IntN(5)))
		if got, want := fast.Matches(l), ref.Matches(l); got != want {
			t.Fatalf("selector %v on %v: %v, apimachinery says %v", ls, l, got, want)
		}
		if fast.String() != ref.String() {
			t.Fatalf("String() %q, apimachinery %q", fast.String(), ref.String())
		}
	}
}
