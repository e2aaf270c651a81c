package diffcheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// TestDiffPolicies: observed requests the committed tree does not document
// are listed per namespace: denied by it, or in a namespace it has no
// policy for.
func TestDiffPolicies(t *testing.T) {
	full := learn(t, zeroTime)
	for _, c := range []struct {
		name     string
		treeFrom *learner.Graph
		edit     func(dir string)
		want     []string
		outcome  diffcheck.Outcome
		ns       []string
	}{
		{
			name:     "tree of the first 12 hours: shop-staging started talking later and has no policy",
			treeFrom: learn(t, cutNoon),
			want: []string{
				"shop-staging/cart -> kube-system/coredns UDP/53",
				"shop-staging/frontend -> kube-system/coredns UDP/53",
				"shop-staging/frontend -> shop-staging/cart TCP/8080",
			},
			outcome: diffcheck.Uncovered,
			ns:      []string{"shop-staging"},
		},
		{
			name:     "a new caller of an existing workload: denied by the tree",
			treeFrom: full,
			edit: func(dir string) {
				replaceIn(t, filepath.Join(dir, "payments", "api-ingress.yaml"), "port: 8443", "port: 8444")
			},
			want: []string{
				"payments/worker -> payments/api TCP/8443",
				"shop/frontend -> payments/api TCP/8443",
				"shop/report -> payments/api TCP/8443",
			},
			outcome: diffcheck.Denied,
			ns:      []string{"payments"},
		},
		{
			name:     "the tree of the whole window documents everything",
			treeFrom: full,
			want:     []string{},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, render(t, c.treeFrom), c.edit)
			d, err := diffcheck.Compare(full, diffchecktest.Checker(t, dir, synth.Options{}), nil, "", synth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := flowKeys(d.Undocumented); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("undocumented:\n got  %q\n want %q", got, c.want)
			}
			if d.Found() != (len(c.want) > 0) {
				t.Errorf("Found() = %v", d.Found())
			}
			for _, f := range d.Undocumented {
				if f.Outcome != c.outcome || !reflect.DeepEqual(f.Namespaces, c.ns) {
					t.Errorf("%s -> %s: outcome %s in %v, want %s in %v", f.Source, f.Destination, f.Outcome, f.Namespaces, c.outcome, c.ns)
				}
			}
			var counted int
			for _, n := range d.Namespaces {
				counted += n.Undocumented
				if n.Undocumented > 0 && !reflect.DeepEqual([]string{n.Namespace}, c.ns) {
					t.Errorf("undocumented counted under %s", n.Namespace)
				}
			}
			if counted != len(c.want) {
				t.Errorf("per-namespace counts sum to %d, want %d", counted, len(c.want))
			}
		})
	}
}

// TestStaleRulesWhenTheObservationShrinks: rules learned from flows that
// were not seen again are stale; the default-deny and the DNS bundle never
// are, though shop-staging resolved no name before 10:00 either.
func TestStaleRulesWhenTheObservationShrinks(t *testing.T) {
	full := learn(t, zeroTime)
	dir := writeTree(t, render(t, full), nil)
	c := diffchecktest.Checker(t, dir, synth.Options{})
	for _, tc := range []struct {
		name string
		obs  *learner.Graph
		want []diffcheck.StaleRule
	}{
		{name: "same window: nothing stale", obs: full, want: nil},
		{name: "until 10:00: shop-staging's call was not seen", obs: learn(t, cut10), want: []diffcheck.StaleRule{
			{Policy: "shop-staging/cart-ingress", Namespace: "shop-staging", File: "shop-staging/cart-ingress.yaml", Direction: "ingress",
				Rule: 0, PeerIndex: 0, PortIndex: 0, Peer: "shop-staging/{app.kubernetes.io/name=frontend}", Port: "TCP/8080"},
			{Policy: "shop-staging/frontend-egress", Namespace: "shop-staging", File: "shop-staging/frontend-egress.yaml", Direction: "egress",
				Rule: 0, PeerIndex: 0, PortIndex: 0, Peer: "shop-staging/{app=cart}", Port: "TCP/8080"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.StaleRules(synth.Canonical(tc.obs))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("stale rules:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

// TestStaleRuleElements checks the per-element method on a hand-written
// policy: each (rule × peer × port) is judged alone, per direction.
func TestStaleRuleElements(t *testing.T) {
	const policies = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}
      podSelector: {matchLabels: {app: probe}}
    ports:
    - {protocol: TCP, port: 8080}
    - {protocol: TCP, port: 9090}
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}
    - ipBlock: {cidr: "::/0"}
    ports:
    - {protocol: TCP, port: 443}
  - from:
    - podSelector: {}
    ports:
    - {protocol: TCP, port: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector: {matchLabels: {app: api}}
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: data}}
    ports:
    - {protocol: TCP, port: 5432, endPort: 5433}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP, port: 53}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(policies), 0o644); err != nil {
		t.Fatal(err)
	}
	c := diffchecktest.Checker(t, dir, synth.Options{})
	pod := func(ns, app string) *learner.Node {
		l := map[string]string{"app": app}
		return &learner.Node{ID: "pod:" + ns + "/" + app, Kind: learner.NodeWorkload, Namespace: ns, Name: app, Labels: l, LabelSets: []map[string]string{l},
			NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
	}
	g := learner.NewGraph()
	for _, n := range []*learner.Node{pod("shop", "web"), pod("shop", "api"), pod("data", "db"),
		{ID: "ip:203.0.113.9", Kind: learner.NodeExternal, IP: "203.0.113.9"}} {
		g.Nodes[n.ID] = n
	}
	now := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	edge := func(src, dst, proto string, port uint16) {
		e := &learner.Edge{Src: src, Dst: dst, Proto: proto, Port: port, Flows: 1, FirstSeen: now, LastSeen: now}
		g.Edges[e.Key()] = e
	}
	edge("pod:shop/web", "pod:shop/api", "TCP", 8080)  // web → api:8080 (both the ingress element and web-egress rule 0)
	edge("ip:203.0.113.9", "pod:shop/api", "TCP", 443) // IPv4 only: the /0 pair is one peer, not stale
	edge("pod:shop/web", "pod:data/db", "TCP", 5433)   // inside the endPort range; db has no policy
	edge("pod:shop/web", "pod:shop/api", "UDP", 53)    // no element admits it; DNS bundle never stale anyway
	got, err := c.StaleRules(g)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range got {
		lines = append(lines, strings.Join([]string{r.Policy, r.Direction, itoa(r.Rule), itoa(r.PeerIndex), itoa(r.PortIndex), r.Peer, r.Port, r.Note}, " | "))
	}
	want := []string{
		"shop/api-ingress | ingress | 0 | 0 | 1 | shop/{app=web} | TCP/9090 | ",
		"shop/api-ingress | ingress | 0 | 1 | 0 | ops/{app=probe} | TCP/8080 | ",
		"shop/api-ingress | ingress | 0 | 1 | 1 | ops/{app=probe} | TCP/9090 | ",
		"shop/api-ingress | ingress | 2 | 0 | 0 | shop/{*} | TCP/http | named port: flows carry port numbers, so it cannot be matched against them; check it by hand",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("stale elements:\n got  %s\n want %s", strings.Join(lines, "\n      "), strings.Join(want, "\n      "))
	}
	// without the IPv4 client, the "any source" pair is one stale element
	delete(g.Edges, learner.EdgeKey{Src: "ip:203.0.113.9", Dst: "pod:shop/api", Proto: 1, Port: 443})
	got, _ = c.StaleRules(g)
	found := false
	for _, r := range got {
		if r.Rule == 1 && r.Direction == "ingress" {
			found = r.Peer == "0.0.0.0/0 except 169.254.0.0/16 + ::/0" && r.Port == "TCP/443"
		}
	}
	if !found {
		t.Errorf("the unused any-source rule should be one stale element: %+v", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDiffBaseline: new and vanished edges by key, both graphs canonical,
// listed under the application namespaces they touch.
func TestDiffBaseline(t *testing.T) {
	full, early := learn(t, zeroTime), learn(t, cutNoon)
	staging := []string{
		"shop-staging/cart -> kube-system/coredns UDP/53",
		"shop-staging/frontend -> kube-system/coredns UDP/53",
		"shop-staging/frontend -> shop-staging/cart TCP/8080",
	}
	for _, c := range []struct {
		name               string
		obs, base          *learner.Graph
		newEdges, vanished []string
	}{
		{"observation grew", full, early, staging, []string{}},
		{"observation shrank", early, full, []string{}, staging},
		{"same", full, full, []string{}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := diffcheck.Compare(c.obs, nil, c.base, "baseline.json", synth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := flowKeys(d.NewEdges); !reflect.DeepEqual(got, c.newEdges) {
				t.Errorf("new edges %q, want %q", got, c.newEdges)
			}
			if got := flowKeys(d.VanishedEdges); !reflect.DeepEqual(got, c.vanished) {
				t.Errorf("vanished edges %q, want %q", got, c.vanished)
			}
			if d.Found() != (len(c.newEdges) > 0) || d.Verification != nil || len(d.Undocumented) != 0 {
				t.Errorf("Found() = %v, verification %v", d.Found(), d.Verification)
			}
			want := []diffcheck.NamespaceDiff{}
			if n := len(c.newEdges) + len(c.vanished); n > 0 {
				want = append(want, diffcheck.NamespaceDiff{Namespace: "shop-staging", NewEdges: len(c.newEdges), VanishedEdges: len(c.vanished)})
			}
			if got := append([]diffcheck.NamespaceDiff{}, d.Namespaces...); !reflect.DeepEqual(got, want) {
				t.Errorf("namespaces %+v, want %+v (DNS edges belong to the caller's namespace, not kube-system)", got, want)
			}
		})
	}
}

// k8sRender renders the k8s flavor with default settings.
func k8sRender(g *learner.Graph) (*policy.Set, output.Tree, error) {
	return pipeline.Render(g, synth.Options{}, synth.FlavorK8s)
}

// TestUpdateThenNothingNew: --update regenerates the tree from the
// committed graph merged with the new observation; diffing the same
// observation again finds nothing.
func TestUpdateThenNothingNew(t *testing.T) {
	full, early := learn(t, zeroTime), learn(t, cutNoon)
	dir := writeTree(t, render(t, early), nil)
	graphPath := filepath.Join(t.TempDir(), "graph.json")
	d, err := diffcheck.Compare(full, diffchecktest.Checker(t, dir, synth.Options{}), nil, "", synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Undocumented) != 3 {
		t.Fatalf("first diff: %d undocumented flows, want 3", len(d.Undocumented))
	}
	res, err := diffcheck.Update(k8sRender, early, full, false, dir, graphPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shop-staging", "cart-ingress.yaml")); err != nil {
		t.Errorf("the updated tree lacks shop-staging's policies: %v", err)
	}
	b, err := os.ReadFile(graphPath)
	if err != nil {
		t.Fatal(err)
	}
	written, err := learner.ReadGraph(graphPath, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(written.Edges) != len(full.Edges) || len(res.Graph.Edges) != len(full.Edges) {
		t.Errorf("merged graph has %d edges (written %d), want the %d of the union", len(res.Graph.Edges), len(written.Edges), len(full.Edges))
	}
	d, err = diffcheck.Compare(full, diffchecktest.Checker(t, dir, synth.Options{}), written, graphPath, synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Found() || len(d.Stale) != 0 || len(d.VanishedEdges) != 0 {
		t.Errorf("second diff: found=%v undocumented=%q new=%q stale=%+v vanished=%q", d.Found(), flowKeys(d.Undocumented), flowKeys(d.NewEdges), d.Stale, flowKeys(d.VanishedEdges))
	}
	// a directory flowfence did not write is never replaced
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "mine.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := diffcheck.Update(k8sRender, early, full, false, foreign, graphPath); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("update of a foreign directory: err = %v, want a refusal", err)
	}
}
