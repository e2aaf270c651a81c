package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestPolicyNamesOfLookAlikeWorkloads: workloads whose names differ only
// by characters a policy name cannot hold ("a.b" and "a-b"; a Cyrillic
// look-alike) get distinct policy names — the shared safe name plus a hash
// of the full workload name — and a finding each; other workloads keep
// their plain names, and the names do not depend on the order.
func TestPolicyNamesOfLookAlikeWorkloads(t *testing.T) {
	build := func(names []string) map[string]string {
		g := newGraph()
		api := g.external("93.184.216.34")
		for i, n := range names {
			w := g.workload("shop", n, map[string]string{"app": "w" + string(rune('a'+i))})
			g.edge(w, api, tcp(443), 5, 0, 1)
		}
		set := synthesize(t, g, Options{})
		got := map[string]string{}
		for _, p := range namespaceOf(set, "shop").Policies {
			if p.Workload != "" {
				got[p.Workload] = p.Name
			}
		}
		return got
	}
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:])[:8] }
	names := []string{"a.b", "a-b", "frontend", "frontеnd", "front-nd"} // the 4th has a Cyrillic е
	got := build(names)
	want := map[string]string{
		"a.b":      "a-b-" + hash("a.b") + "-egress",
		"a-b":      "a-b-" + hash("a-b") + "-egress",
		"frontend": "frontend-egress",
		"frontеnd": "front-nd-" + hash("frontеnd") + "-egress",
		"front-nd": "front-nd-" + hash("front-nd") + "-egress",
	}
	for w, n := range want {
		if got[w] != n {
			t.Errorf("workload %q: policy %q, want %q", w, got[w], n)
		}
	}
	seen := map[string]string{}
	for w, n := range got {
		if o, dup := seen[n]; dup {
			t.Errorf("workloads %q and %q share policy %s", o, w, n)
		}
		seen[n] = w
	}
	// the same names in another order, and a.b without its twin
	rev := build([]string{"front-nd", "frontеnd", "frontend", "a-b", "a.b"})
	for w := range want {
		if rev[w] != got[w] {
			t.Errorf("workload %q: %q in one order, %q in another", w, got[w], rev[w])
		}
	}
	if alone := build([]string{"a.b"}); alone["a.b"] != "a-b-egress" {
		t.Errorf("a.b alone: %q, want a-b-egress", alone["a.b"])
	}
	g := newGraph()
	api := g.external("93.184.216.34")
	for i, n := range names {
		g.edge(g.workload("shop", n, map[string]string{"app": "w" + string(rune('a'+i))}), api, tcp(443), 5, 0, 1)
	}
	set := synthesize(t, g, Options{})
	fs := findingsOf(set, FindPolicyName)
	if len(fs) != 4 {
		t.Fatalf("%d %s findings, want 4: %+v", len(fs), FindPolicyName, fs)
	}
	for _, f := range fs {
		if f.Namespace != "shop" || !strings.Contains(f.Message, "share the policy name") {
			t.Errorf("finding %+v", f)
		}
	}
}
