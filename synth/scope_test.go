package synth

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/policy"
)

// policySummary is one policy as "name kind subject in:N eg:N" (N: rules,
// - when the direction is not isolated).
func policySummary(p *policy.Policy) string {
	dir := func(on bool, rs []policy.Rule) string {
		if !on {
			return "-"
		}
		return fmt.Sprint(len(rs))
	}
	return fmt.Sprintf("%s %s {%s} in:%s eg:%s", p.Name, p.Kind, selectorString(p.Subject), dir(p.Ingress, p.IngressRules), dir(p.Egress, p.EgressRules))
}

// TestDenyScope: namespace scope writes the namespace default-deny and
// DNS bundle; observed scope writes neither and gives each observed
// workload its own DNS, ingress and egress policies, an empty direction
// included (isolated with no rule). A workload without labels cannot be
// isolated in observed scope: its rows say it stays open, and a finding.
// A silent workload holds the namespace back in both scopes, with what the
// scope does to it.
func TestDenyScope(t *testing.T) {
	build := func() *graph {
		g := newGraph()
		fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
		be := g.workload("shop", "api", map[string]string{"app": "api"})
		dns := g.workload("kube-system", "coredns", map[string]string{"k8s-app": "kube-dns"})
		bare := g.workload("shop", "bare", nil)
		g.edge(fe, be, tcp(8080), 500, 0, 10)
		g.edge(fe, dns, udp(53), 500, 0, 10)
		g.edge(bare, be, tcp(9090), 50, 0, 10)
		return g
	}
	inv := testInventory("shop",
		invWorkload{name: "frontend", pods: []map[string]string{{"app": "frontend"}}},
		invWorkload{name: "api", pods: []map[string]string{{"app": "api"}}},
		invWorkload{name: "worker", pods: []map[string]string{{"app": "worker"}}})
	for _, tc := range []struct {
		scope    string
		inv      *inventory.Snapshot
		policies []string
		rules    map[string]string // evidence "workload direction peer" -> rule
		state    string
		evidence string
		finding  string
	}{
		{scope: "", policies: []string{
			"default-deny default-deny {} in:0 eg:0", "allow-dns dns {} in:- eg:1",
			"api-ingress workload-ingress {app=api} in:1 eg:-", "frontend-egress workload-egress {app=frontend} in:- eg:1"},
			rules: map[string]string{"frontend egress kube-system/coredns": "allow-dns", "bare egress shop/api": "blocked: no labels seen for shop/bare's pods: no policy can select it, so the namespace's default-deny isolates it"},
			state: policy.Blocked},
		{scope: policy.DenyScopeObserved, policies: []string{
			"api-dns dns {app=api} in:- eg:1", "api-ingress workload-ingress {app=api} in:1 eg:-", "api-egress workload-egress {app=api} in:- eg:0",
			"frontend-dns dns {app=frontend} in:- eg:1", "frontend-ingress workload-ingress {app=frontend} in:0 eg:-", "frontend-egress workload-egress {app=frontend} in:- eg:1"},
			rules: map[string]string{"frontend egress kube-system/coredns": "frontend-dns", "bare egress shop/api": "not isolated: no policy can select shop/bare's pods (deny scope observed)",
				"api ingress shop/bare": "blocked: no labels seen for shop/bare's pods", "api ingress shop/frontend": "api-ingress"},
			state: policy.Blocked, finding: "deny scope observed: no policy can select it, so it is not isolated"},
		{scope: policy.DenyScopeObserved, inv: inv, state: policy.Blocked},
		{scope: policy.DenyScopeNamespace, inv: inv, state: policy.Blocked},
	} {
		t.Run(fmt.Sprintf("%q/inventory=%v", tc.scope, tc.inv != nil), func(t *testing.T) {
			set := synthesize(t, build(), Options{DenyScope: tc.scope, Inventory: tc.inv})
			ns := set.Namespaces[0]
			if tc.policies != nil {
				var got []string
				for _, p := range ns.Policies {
					got = append(got, policySummary(p))
				}
				if !slices.Equal(got, tc.policies) {
					t.Errorf("policies:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.policies, "\n  "))
				}
			}
			for _, ev := range ns.Evidence {
				k := ev.Workload + " " + ev.Direction + " " + ev.Peer
				if want, ok := tc.rules[k]; ok && !strings.HasPrefix(ev.Rule, want) {
					t.Errorf("%s: rule %q, want %q", k, ev.Rule, want)
				}
			}
			if ns.Readiness.State != tc.state {
				t.Errorf("readiness %q (%s), want %q", ns.Readiness.State, ns.Readiness.Evidence, tc.state)
			}
			if tc.inv != nil {
				want := "default-deny isolates them"
				if tc.scope == policy.DenyScopeObserved {
					want = "not isolated (deny scope observed)"
				}
				if len(ns.Silent) != 1 || ns.Silent[0].Name != "worker" {
					t.Errorf("silent %+v, want worker", ns.Silent)
				}
				// the silent workload is judged once the blocker is gone
				ns.Blockers = nil
				Judge(ns)
				if ns.Readiness.State != policy.Silent || !strings.Contains(ns.Readiness.Evidence, want) {
					t.Errorf("without blockers: %q (%s), want %q with %q", ns.Readiness.State, ns.Readiness.Evidence, policy.Silent, want)
				}
			}
			if tc.finding != "" {
				found := false
				for _, f := range set.Findings {
					found = found || f.Workload == "bare" && strings.HasPrefix(f.Message, tc.finding)
				}
				if !found {
					t.Errorf("no finding %q for bare", tc.finding)
				}
			}
			if want := map[bool]string{true: policy.DenyScopeObserved}[tc.scope == policy.DenyScopeObserved]; set.DenyScope != want || ns.DenyScope != want {
				t.Errorf("DenyScope set %q namespace %q, want %q", set.DenyScope, ns.DenyScope, want)
			}
		})
	}
	if _, err := Synthesize(build().Graph, Options{DenyScope: "cluster"}); err == nil || !strings.Contains(err.Error(), `--deny-scope "cluster"`) {
		t.Errorf("bad scope: %v", err)
	}
}
