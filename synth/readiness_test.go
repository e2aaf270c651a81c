package synth

import (
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// TestBlockedByUnmanagedPeers: a namespace whose observed flows need a
// pod the CNI does not manage is blocked, never stable, with the reason
// and the restart fix — the cluster resolver (recognised by its role when
// it carries no label) and any other unmanaged peer; documented denials
// (own-node probes, metadata calls) do not block.
func TestBlockedByUnmanagedPeers(t *testing.T) {
	unmanaged := func(g *graph, ns, name string) string {
		id := g.workload(ns, name, nil)
		g.Nodes[id].Unmanaged = true
		return id
	}
	tests := []struct {
		name      string
		build     func(g *graph, web string)
		want      string // readiness state of shop
		reason    string // in the readiness evidence
		fix       string // in the readiness fix
		resolvers []string
		dnsSel    map[string]string // the DNS bundle's kube-system selector
	}{
		{
			name: "unmanaged CoreDNS",
			build: func(g *graph, web string) {
				dns := unmanaged(g, "kube-system", "coredns")
				g.edge(web, dns, udp(53), 40, 0, 2)
			},
			want: policy.Blocked, reason: "web -> kube-system/coredns UDP/53 (egress): the resolver kube-system/coredns is not managed by the CNI",
			fix: "restart kube-system/coredns's pods (kubectl -n kube-system rollout restart deployment/coredns)", resolvers: []string{"kube-system/coredns"},
			dnsSel: map[string]string{"k8s-app": "kube-dns"},
		},
		{
			name: "an unmanaged database in another namespace",
			build: func(g *graph, web string) {
				db := unmanaged(g, "legacy", "db")
				g.edge(web, db, tcp(5432), 40, 0, 2)
			},
			want: policy.Blocked, reason: "web -> legacy/db TCP/5432 (egress): legacy/db is not managed by the CNI (reserved:unmanaged in the flows, or no CiliumEndpoint in the inventory)",
			fix: "restart legacy/db's pods",
		},
		{
			name: "an unmanaged caller",
			build: func(g *graph, web string) {
				job := unmanaged(g, "batch", "loader")
				g.edge(job, web, tcp(8080), 40, 0, 2)
			},
			want: policy.Blocked, reason: "web <- batch/loader TCP/8080 (ingress)", fix: "restart batch/loader's pods",
		},
		{
			// its policies cannot be written: default-deny isolates it
			name: "a workload of the namespace without labels",
			build: func(g *graph, web string) {
				legacy := g.workload("shop", "legacy", nil)
				g.edge(web, legacy, tcp(80), 40, 0, 2)
			},
			want: policy.Blocked, reason: "legacy <- shop/web TCP/80 (ingress): no labels seen for shop/legacy's pods: no policy can select it",
			fix: "give its pods labels",
		},
		{
			name: "a resolver recognised by its role keeps its own selector",
			build: func(g *graph, web string) {
				dns := g.workload("kube-system", "coredns", map[string]string{"app.kubernetes.io/name": "coredns"})
				g.edge(web, dns, udp(53), 40, 0, 2)
			},
			want: policy.Stable, dnsSel: map[string]string{"app.kubernetes.io/name": "coredns"},
		},
		{
			name: "documented denials do not block",
			build: func(g *graph, web string) {
				host := g.entity(record.EntityHost, "10.0.0.11")
				g.edge(host, web, tcp(8080), 40, 0, 2)
				imds := g.external("169.254.169.254")
				g.edge(web, imds, tcp(80), 40, 0, 2)
			},
			want: policy.Stable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			tt.build(g, web)
			set := synthesize(t, g, Options{})
			ns := namespaceOf(set, "shop")
			r := ns.Readiness
			if r.State != tt.want || !strings.Contains(r.Evidence, tt.reason) || !strings.Contains(r.Fix, tt.fix) {
				t.Fatalf("readiness %q\n evidence %q\n fix %q\nwant %q with %q, fix %q", r.State, r.Evidence, r.Fix, tt.want, tt.reason, tt.fix)
			}
			if ns.Traffic.State != policy.Stable {
				t.Errorf("traffic alone says %q, want stable", ns.Traffic.State)
			}
			if (tt.want == policy.Blocked) != (len(ns.Blockers) > 0) {
				t.Errorf("blockers %+v for readiness %s", ns.Blockers, r.State)
			}
			if tt.dnsSel != nil {
				dns := policyOf(t, set, "shop", policy.NameDNS)
				if got := portsFor(dns.EgressRules, podPeerOf("kube-system", tt.dnsSel)); !slices.Equal(got, []policy.Port{tcp(53), udp(53)}) {
					t.Errorf("DNS bundle to kube-system %v: ports %v, want TCP/53, UDP/53", tt.dnsSel, got)
				}
			}
			var unmanagedDNS []string
			for _, res := range set.Resolvers {
				unmanagedDNS = append(unmanagedDNS, res.Unmanaged...)
				if !res.Observed && slices.ContainsFunc(learner.SortedEdges(g.Edges), func(e *learner.Edge) bool { return e.Port == 53 }) {
					t.Errorf("resolver %s reported not observed although DNS flows were", res.Kind)
				}
			}
			if !slices.Equal(unmanagedDNS, tt.resolvers) {
				t.Errorf("unmanaged resolvers %v, want %v", unmanagedDNS, tt.resolvers)
			}
		})
	}
}

// TestApplyReplay: the replay's result replaces synth's claims, both ways.
func TestApplyReplay(t *testing.T) {
	g := newGraph()
	web := g.workload("shop", "web", webSel)
	db := g.workload("legacy", "db", nil)
	g.Nodes[db].Unmanaged = true
	g.edge(web, db, tcp(5432), 40, 0, 2)
	set := synthesize(t, g, Options{})
	if got := namespaceOf(set, "shop").Readiness.State; got != policy.Blocked {
		t.Fatalf("claims: %q, want blocked", got)
	}
	ApplyReplay(set, nil)
	if got := namespaceOf(set, "shop").Readiness.State; got != policy.Stable {
		t.Errorf("a replay that denies nothing: %q, want stable", got)
	}
	ApplyReplay(set, map[string][]policy.Blocker{"shop": {{Workload: "web", Direction: "egress", Peer: "x", Proto: "TCP", Port: 1, Reason: "r", Fix: "f"}}})
	if r := namespaceOf(set, "shop").Readiness; r.State != policy.Blocked || r.Fix != "f" || !strings.Contains(r.Evidence, "web -> x TCP/1 (egress): r") {
		t.Errorf("a replay that denies: %+v", r)
	}
}
