package record

import "testing"

func TestValidPolicyName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"default.deny-access-nginx", true},
		{"policy-demo/default.deny-access-nginx", true},
		{"hipstershop/app-hipstershop.checkoutservice", true},
		{"ns2/staged:tier1.policy1", true},
		{"ns/knp.default.deny-db", true},
		{"deny-all", true},
		{"", false},
		{"ns/", false},
		{"/x", false},
		{"a/b/c", false},
		{"Default.Deny", false},
		{"__PROFILE__.kns.default", false},
		{"x\n- to: []", false},
		{"<img src=x>", false},
		{"default.deny\x1b]0;t\x07", false},
		{"ns/staged:", false},
		{"a b", false},
	} {
		if got := ValidPolicyName(tc.name); got != tc.want {
			t.Errorf("ValidPolicyName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPolicyName: a namespaced policy is named ns/name, a cluster-wide one
// by its name; a name that is not a policy name is dropped.
func TestPolicyName(t *testing.T) {
	for _, tc := range []struct{ ns, name, want string }{
		{"shop", "deny-db", "shop/deny-db"},
		{"", "default.deny-all", "default.deny-all"},
		{"Shop", "deny-db", ""},
		{"shop", "", ""},
		{"shop", "x\n- to: []", ""},
		{"", "", ""},
	} {
		if got := PolicyName(tc.ns, tc.name); got != tc.want {
			t.Errorf("PolicyName(%q, %q) = %q, want %q", tc.ns, tc.name, got, tc.want)
		}
	}
}

// TestCheckDropsAnInvalidDenyingPolicy: Check keeps a valid denying policy
// and drops (and counts) one that is not a policy name.
func TestCheckDropsAnInvalidDenyingPolicy(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		dropped  int
	}{{"shop/default.deny", "shop/default.deny", 0}, {"<b>x</b>", "", 1}} {
		r := Record{Verdict: Dropped, PolicyDrop: true, DeniedBy: tc.in}
		dropped, err := r.Check()
		if err != nil || dropped != tc.dropped || r.DeniedBy != tc.want {
			t.Errorf("Check(%q): dropped %d, err %v, denied by %q; want %d, nil, %q", tc.in, dropped, err, r.DeniedBy, tc.dropped, tc.want)
		}
	}
}
