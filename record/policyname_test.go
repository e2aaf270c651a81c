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
