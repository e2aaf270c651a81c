package synth

import (
	"slices"
	"testing"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// TestExistingPolicies: the inventory's NetworkPolicies that select an
// observed workload are listed on its namespace, with the window's drops
// attributed by the name a flow source gave (Hubble "ns/name", Calico
// "ns/knp.default.name") or as possible where the policy isolates the
// direction at a workload it selects; one the tree writes under the same
// name is marked; one that selects no observed workload is not listed.
func TestExistingPolicies(t *testing.T) {
	g := newGraph()
	fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
	cart := g.workload("shop", "cart", map[string]string{"app": "cart"})
	g.edge(fe, cart, tcp(8080), 500, 0, 10)
	e := g.Edges[learner.EdgeKey{Src: fe, Dst: cart, Proto: record.TCP, Port: 8080}]
	if e == nil {
		t.Fatal("edge key")
	}
	e.Dropped, e.DeniedBy = 9, []learner.Denial{{Policy: "shop/knp.default.old-cart", Flows: 4}, {Policy: "shop/strict", Flows: 2}}
	var b inventory.Builder
	b.AddSource("inv.json")
	for _, np := range []inventory.NetworkPolicy{
		{Namespace: "shop", Name: "old-cart", PodSelector: map[string]string{"app": "cart"}, SelectorExact: true, Ingress: true},
		{Namespace: "shop", Name: "strict", SelectorExact: true, Ingress: true, Egress: true},
		{Namespace: "shop", Name: "frontend-egress", PodSelector: map[string]string{"app": "frontend"}, Egress: true},
		{Namespace: "shop", Name: "other", PodSelector: map[string]string{"app": "gone"}, SelectorExact: true, Ingress: true},
		{Namespace: "data", Name: "elsewhere", SelectorExact: true, Ingress: true},
	} {
		b.AddPolicy(np)
	}
	set := synthesize(t, g, Options{Inventory: b.Build()})
	got := set.Namespaces[0].Existing
	want := []policy.ExistingPolicy{
		{Name: "frontend-egress", Egress: true, Workloads: []string{"frontend"}, MayHaveDenied: 3, SameName: true},
		{Name: "old-cart", Ingress: true, Exact: true, Workloads: []string{"cart"}, Denied: 4, MayHaveDenied: 3},
		{Name: "strict", Ingress: true, Egress: true, Exact: true, Workloads: []string{"cart", "frontend"}, Denied: 2, MayHaveDenied: 3},
	}
	slices.SortFunc(got, func(a, b policy.ExistingPolicy) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	if len(got) != len(want) {
		t.Fatalf("existing %+v, want %+v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i].Workloads, want[i].Workloads) || got[i].Name != want[i].Name || got[i].Denied != want[i].Denied ||
			got[i].MayHaveDenied != want[i].MayHaveDenied || got[i].SameName != want[i].SameName || got[i].Exact != want[i].Exact ||
			got[i].Ingress != want[i].Ingress || got[i].Egress != want[i].Egress {
			t.Errorf("existing[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := len(synthesize(t, g, Options{}).Namespaces[0].Existing); n != 0 {
		t.Errorf("without an inventory: %d existing policies", n)
	}
}
