package verifier

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The matchLabels fast path answers as apimachinery's selector does.
func TestCompileSelectorAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := []string{"app", "tier", "team", "k8s-app", "kubernetes.io/metadata.name", "Bad/Key", "-x"}
	vals := []string{"a", "b", "", "web", "a b", "-"}
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
		fast, ferr := compileSelector(ls)
		ref, err := metav1.LabelSelectorAsSelector(ls)
		// (which invalid pair apimachinery names depends on map order)
		if (ferr == nil) != (err == nil) || len(ls.MatchLabels) == 1 && fmt.Sprint(ferr) != fmt.Sprint(err) {
			t.Fatalf("selector %v: error %v, apimachinery %v", ls, ferr, err)
		}
		if err != nil {
			continue
		}
		if m, ok := fast.(matchLabels); ok && !reflect.DeepEqual(m.Selector, ref) {
			t.Fatalf("selector %v: %#v, apimachinery %#v", ls, m.Selector, ref)
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
