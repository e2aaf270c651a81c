package k8svalid_test

import "testing"

// FuzzK8sValid: every predicate gives apimachinery's verdict on any string.
func FuzzK8sValid(f *testing.F) {
	for _, s := range []string{"", "a", "-a", "a.b", "a/b", "app.kubernetes.io/name", "A_b.c-d", "é", "a\n", "a..b", "0", "a/b/c"} {
		f.Add(s)
	}
	checks := predicates()
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range checks {
			want := len(c.ref(s)) == 0
			if got := c.fast(s); got != want {
				t.Errorf("%s(%q) = %v, apimachinery says %v (%q)", c.name, s, got, want, c.ref(s))
			}
		}
	})
}
