package diffcheck_test

import (
	"reflect"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// TestDiffEveryFlavor: diff of the cilium and calico trees generated from
// the sample finds nothing against the same window, and reports exactly
// shop-staging's two rules as stale against the window up to 10:00 (its
// only call came later), as for the k8s tree.
func TestDiffEveryFlavor(t *testing.T) {
	full := learn(t, zeroTime)
	early := learn(t, cut10)
	for _, c := range []struct {
		flavor string
		want   []diffcheck.StaleRule
	}{
		{"cilium", []diffcheck.StaleRule{
			{Policy: "shop-staging/cart-ingress", Namespace: "shop-staging", File: "shop-staging/cart-ingress.yaml", Direction: "ingress",
				Rule: 0, PeerIndex: 0, PortIndex: 0, Peer: "shop-staging/{app.kubernetes.io/name=frontend}", Port: "TCP/8080"},
			{Policy: "shop-staging/frontend-egress", Namespace: "shop-staging", File: "shop-staging/frontend-egress.yaml", Direction: "egress",
				Rule: 0, PeerIndex: 0, PortIndex: 0, Peer: "shop-staging/{app=cart}", Port: "TCP/8080"},
		}},
		{"calico", []diffcheck.StaleRule{
			{Policy: "shop-staging/cart-ingress", Namespace: "shop-staging", File: "shop-staging/cart-ingress.yaml", Direction: "ingress",
				Rule: 0, PeerIndex: -1, PortIndex: 0, Peer: "namespace shop-staging: app.kubernetes.io/name == 'frontend'", Port: "TCP/8080"},
			{Policy: "shop-staging/frontend-egress", Namespace: "shop-staging", File: "shop-staging/frontend-egress.yaml", Direction: "egress",
				Rule: 0, PeerIndex: -1, PortIndex: 0, Peer: "namespace shop-staging: app == 'cart'", Port: "TCP/8080"},
		}},
	} {
		t.Run(c.flavor, func(t *testing.T) {
			_, tree, err := pipeline.Render(full, synth.Options{}, c.flavor)
			if err != nil {
				t.Fatal(err)
			}
			ch := diffchecktest.Checker(t, writeTree(t, tree, nil), synth.Options{})
			d, err := diffcheck.Compare(full, ch, nil, "", synth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Found() || len(d.Stale) > 0 || d.Verification.Counts.Denied > 0 {
				t.Errorf("same window: found=%v stale=%+v denied=%d", d.Found(), d.Stale, d.Verification.Counts.Denied)
			}
			if string(d.Verification.CNI) != c.flavor {
				t.Errorf("CNI %q", d.Verification.CNI)
			}
			d, err = diffcheck.Compare(early, ch, nil, "", synth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Stale, c.want) {
				t.Errorf("stale rules until 10:00:\n got  %+v\n want %+v", d.Stale, c.want)
			}
		})
	}
}
