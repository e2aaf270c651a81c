package k8svalid_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flowfence/flowfence/internal/k8svalid"
)

// check is one predicate and the apimachinery function it stands for.
type check struct {
	name string
	fast func(string) bool
	ref  func(string) []string
}

func predicates() []check {
	return []check{
		{"LabelKey", k8svalid.LabelKey, validation.IsQualifiedName},
		{"LabelValue", k8svalid.LabelValue, validation.IsValidLabelValue},
		{"DNS1123Subdomain", k8svalid.DNS1123Subdomain, validation.IsDNS1123Subdomain},
		{"DNS1123Label", k8svalid.DNS1123Label, validation.IsDNS1123Label},
	}
}

// Every predicate gives apimachinery's verdict, on random strings built
// from the characters and lengths that decide it.
func TestSameVerdictsAsApimachinery(t *testing.T) {
	checks := predicates()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "z", "A", "Z", "0", "9", "-", "_", ".", "/", " ", "é", "\n", "x", "k8s", "io", "app"}
	fixed := []string{"", "a", "-", "a-", "-a", "a.b", "a..b", ".a", "a.", "a/b", "/b", "a/", "a/b/c", "A/b", "a_b/c", "app.kubernetes.io/name",
		"kubernetes.io/metadata.name", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 253), strings.Repeat("a", 254),
		strings.Repeat("a.", 126) + "a", strings.Repeat("a", 63) + "/" + strings.Repeat("b", 63), strings.Repeat("a", 64) + "/b", "a\n", "é"}
	var inputs []string
	inputs = append(inputs, fixed...)
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		n := r.IntN(12)
		if r.IntN(20) == 0 {
			n = 50 + r.IntN(150)
		}
		for j := 0; j < n; j++ {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for _, c := range checks {
		valid := 0
		for _, s := range inputs {
			want := len(c.ref(s)) == 0
			if got := c.fast(s); got != want {
				t.Fatalf("%s(%q) = %v, apimachinery says %v (%q)", c.name, s, got, want, c.ref(s))
			}
			if want {
				valid++
			}
		}
		if valid < 1000 {
			t.Errorf("%s: only %d valid inputs tried", c.name, valid)
		}
	}
}
