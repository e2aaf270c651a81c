package synth

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// invWorkload is one workload of a test inventory with one pod per label
// set.
type invWorkload struct {
	kind, name string
	selector   map[string]string
	pods       []map[string]string
	schedule   string
}

func testInventory(ns string, ws ...invWorkload) *inventory.Snapshot {
	var b inventory.Builder
	b.AddSource("test.json")
	b.AddNamespace(inventory.Namespace{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}})
	for _, w := range ws {
		kind := w.kind
		if kind == "" {
			kind = inventory.KindDeployment
		}
		var tmpl map[string]string
		if len(w.pods) > 0 {
			tmpl = w.pods[0]
		}
		b.AddWorkload(inventory.Workload{Kind: kind, Namespace: ns, Name: w.name, Selector: w.selector, SelectorExact: w.selector != nil,
			Template: tmpl, Schedule: w.schedule})
		for i, l := range w.pods {
			b.AddPod(inventory.Pod{Namespace: ns, Name: w.name + "-pod-" + string(rune('a'+i)), Labels: maps.Clone(l), Owner: inventory.Ref{Kind: kind, Name: w.name}})
		}
	}
	return b.Build()
}

func TestInventory(t *testing.T) {
	l := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	frontend := invWorkload{name: "frontend", selector: l("app", "frontend"), pods: []map[string]string{l("app", "frontend", "pod-template-hash", "abc")}}
	api := invWorkload{name: "api", selector: l("app", "api"), pods: []map[string]string{l("app", "api", "tier", "backend")}}
	for _, tc := range []struct {
		name      string
		inv       []invWorkload
		state     string
		silent    []string
		apiSel    string // the selector api's policies use
		unproven  string // the reason of the first unproven selector
		evidences []string
	}{
		{name: "every workload observed", inv: []invWorkload{frontend, api}, state: policy.Stable, apiSel: "app=api"},
		{name: "a silent deployment holds the namespace back", inv: []invWorkload{frontend, api, {name: "worker", selector: l("app", "worker"), pods: []map[string]string{l("app", "worker")}}},
			state: policy.Silent, silent: []string{"Deployment/worker"}, apiSel: "app=api",
			evidences: []string{"1 workload of the inventory never observed in the window, first Deployment worker: default-deny isolates them"}},
		{name: "a silent cronjob without pods", inv: []invWorkload{frontend, api, {kind: inventory.KindCronJob, name: "nightly", schedule: "0 3 * * *"}},
			state: policy.Silent, silent: []string{"CronJob/nightly"}, apiSel: "app=api"},
		{name: "a silent pod sharing api's identifying label: a qualifier separates them",
			inv:   []invWorkload{frontend, api, {name: "api-canary", selector: l("app", "api", "tier", "canary"), pods: []map[string]string{l("app", "api", "tier", "canary")}}},
			state: policy.Silent, silent: []string{"Deployment/api-canary"}, apiSel: "app=api,tier=backend"},
		{name: "a silent pod with all of api's labels: the selector is disproved",
			inv:   []invWorkload{frontend, api, {name: "api-canary", pods: []map[string]string{l("app", "api", "tier", "backend", "track", "canary")}}},
			state: policy.Blocked, silent: []string{"Deployment/api-canary"}, apiSel: "app=api",
			unproven: "also selects the pods of Deployment api-canary, never observed"},
		{name: "the workload's exact spec.selector replaces a disproved one",
			inv: []invWorkload{frontend,
				{name: "api", selector: l("app", "api", "track", "stable"), pods: []map[string]string{l("app", "api", "tier", "backend", "track", "stable")}},
				{name: "api-canary", pods: []map[string]string{l("app", "api", "tier", "backend", "track", "canary")}}},
			state: policy.Silent, silent: []string{"Deployment/api-canary"}, apiSel: "app=api,track=stable"},
		{name: "a workload's own pod the flows did not show is missed",
			inv:   []invWorkload{frontend, {name: "api", pods: []map[string]string{l("app", "api", "tier", "backend"), l("tier", "backend")}}},
			state: policy.Blocked, apiSel: "app=api", unproven: "misses its own pod api-pod-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
			be := g.workload("shop", "api", map[string]string{"app": "api", "tier": "backend"})
			g.edge(fe, be, tcp(8080), 500, 0, 10)
			set := synthesize(t, g, Options{Inventory: testInventory("shop", tc.inv...)})
			if !strings.HasPrefix(set.Inventory, "1 namespace, ") || !strings.HasSuffix(set.Inventory, " (snapshot of test.json)") {
				t.Errorf("Inventory = %q", set.Inventory)
			}
			ns := set.Namespaces[0]
			if ns.Readiness.State != tc.state {
				t.Errorf("readiness %q (%s), want %q", ns.Readiness.State, ns.Readiness.Evidence, tc.state)
			}
			var silent []string
			for _, w := range ns.Silent {
				silent = append(silent, w.Kind+"/"+w.Name)
			}
			if strings.Join(silent, " ") != strings.Join(tc.silent, " ") {
				t.Errorf("silent %v, want %v", silent, tc.silent)
			}
			for _, p := range ns.Policies {
				if p.Workload == "api" {
					if got := selectorString(p.Subject); got != tc.apiSel {
						t.Errorf("%s selects %s, want %s", p.Name, got, tc.apiSel)
					}
				}
			}
			switch {
			case tc.unproven == "" && len(ns.Unproven) > 0:
				t.Errorf("unproven %+v, want none", ns.Unproven)
			case tc.unproven != "" && (len(ns.Unproven) == 0 || ns.Unproven[0].Reason != tc.unproven):
				t.Errorf("unproven %+v, want %q", ns.Unproven, tc.unproven)
			}
			for _, e := range tc.evidences {
				if !strings.Contains(ns.Readiness.Evidence, e) {
					t.Errorf("evidence %q lacks %q", ns.Readiness.Evidence, e)
				}
			}
		})
	}
}

// TestInventoryCronJobRuns: a silent CronJob says its schedule and whether
// the window (t0 .. t0+100h, Monday 2026-11-02 to Friday) covered a run.
func TestInventoryCronJobRuns(t *testing.T) {
	for _, tc := range []struct {
		schedule, runs string
	}{
		{"0 3 * * *", "the window covered a scheduled run (2026-11-02 03:00Z) in which it never talked"},
		{"30 4 * * 0", "the window covered no scheduled run: next 2026-11-08 04:30Z"},
		{"0 0 1 1 *", "the window covered no scheduled run: next 2027-01-01 00:00Z"},
		{"not a schedule", "its schedule cannot be read: "},
	} {
		g := newGraph()
		fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
		g.edge(fe, fe, tcp(8080), 500, 0, 10)
		inv := testInventory("shop", invWorkload{name: "frontend", pods: []map[string]string{{"app": "frontend"}}},
			invWorkload{kind: inventory.KindCronJob, name: "job", schedule: tc.schedule})
		ns := synthesize(t, g, Options{Inventory: inv}).Namespaces[0]
		if len(ns.Silent) != 1 || ns.Silent[0].Schedule != tc.schedule || !strings.HasPrefix(ns.Silent[0].Runs, tc.runs) {
			t.Errorf("%s: silent %+v, want runs %q", tc.schedule, ns.Silent, tc.runs)
		}
	}
	if hour(0).Weekday() != time.Monday {
		t.Fatal("the test window does not start on a Monday")
	}
}

// TestInventoryOnlyAppNamespaces: system namespaces and namespaces the
// flows never showed get no silent workloads (no policy isolates them).
func TestInventoryOnlyAppNamespaces(t *testing.T) {
	g := newGraph()
	fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
	dns := g.workload("kube-system", "coredns", map[string]string{"k8s-app": "kube-dns"})
	g.edge(fe, dns, udp(53), 500, 0, 10)
	var b inventory.Builder
	b.AddSource("x")
	for _, w := range []inventory.Workload{
		{Kind: inventory.KindDeployment, Namespace: "shop", Name: "frontend", Template: map[string]string{"app": "frontend"}},
		{Kind: inventory.KindDeployment, Namespace: "kube-system", Name: "coredns", Template: map[string]string{"k8s-app": "kube-dns"}},
		{Kind: inventory.KindDeployment, Namespace: "kube-system", Name: "metrics-server", Template: map[string]string{"k8s-app": "metrics-server"}},
		{Kind: inventory.KindDeployment, Namespace: "quiet", Name: "idle", Template: map[string]string{"app": "idle"}},
	} {
		b.AddWorkload(w)
	}
	set := synthesize(t, g, Options{Inventory: b.Build()})
	for _, ns := range set.Namespaces {
		if len(ns.Silent) > 0 || ns.Readiness.State == policy.Silent {
			t.Errorf("%s: silent %+v (%s)", ns.Name, ns.Silent, ns.Readiness.State)
		}
	}
}

// TestInventoryNodes: a caller at a plain private address (a Calico flow
// log's kubelet probe) is the pod's own node when the inventory names the
// address as that node's (InternalIP, or an address of its pod CIDR that
// no pod has) and only that node saw the traffic: no rule, as for
// Hubble's host entity. Seen by other nodes too, it is node traffic.
// Without the inventory it is admitted by its /32 and reported as
// node-like.
func TestInventoryNodes(t *testing.T) {
	var b inventory.Builder
	b.AddSource("nodes.json")
	b.AddNode(inventory.Node{Name: "node-a", Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.11")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}})
	b.AddNode(inventory.Node{Name: "node-b", Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.12")}})
	b.AddPod(inventory.Pod{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}, IPs: []netip.Addr{netip.MustParseAddr("10.244.1.10")}})
	inv := b.Build()
	for _, tc := range []struct {
		name   string
		caller string
		seen   []string
		inv    bool
		rule   bool // web-ingress admits the caller
		doc    string
	}{
		{"own node by its InternalIP", "10.0.0.11", []string{"node-a"}, true, false, policy.DocHost},
		{"own node by its router address in the pod CIDR", "10.244.1.1", []string{"node-a"}, true, false, policy.DocHost},
		{"a node's address seen by other nodes", "10.0.0.11", []string{"node-a", "node-b"}, true, true, ""},
		{"no inventory: a /32", "10.0.0.11", []string{"node-a"}, false, true, ""},
		{"a private address that is no node", "10.1.2.3", []string{"node-a"}, true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", map[string]string{"app": "web"})
			src := g.external(tc.caller)
			g.edge(src, web, tcp(8080), 100, 0, 10)
			for _, e := range g.Edges {
				e.NodesSeen = tc.seen
			}
			opts := Options{CNI: CNICalico}
			if tc.inv {
				opts.Inventory = inv
			}
			ns := synthesize(t, g, opts).Namespaces[0]
			rule := false
			for _, p := range ns.Policies {
				for _, r := range p.IngressRules {
					for _, peer := range r.Peers {
						for _, c := range peer.CIDRs {
							rule = rule || c.Prefix.Contains(netip.MustParseAddr(tc.caller))
						}
					}
				}
			}
			if rule != tc.rule {
				t.Errorf("a rule admits %s: %v, want %v", tc.caller, rule, tc.rule)
			}
			for _, ev := range ns.Evidence {
				if ev.Direction == "ingress" && ev.Documented != tc.doc {
					t.Errorf("evidence %+v: documented %q, want %q", ev, ev.Documented, tc.doc)
				}
			}
		})
	}
}

// TestInventoryNamesakes: a CronJob and a Deployment of one name are told
// apart by kind: the flows' CronJob is observed, the Deployment silent.
func TestInventoryNamesakes(t *testing.T) {
	g := newGraph()
	fe := g.workload("shop", "report", map[string]string{"app": "report"})
	g.Nodes[fe].WorkloadKind = inventory.KindCronJob
	g.edge(fe, fe, tcp(8080), 500, 0, 10)
	inv := testInventory("shop",
		invWorkload{name: "report", pods: []map[string]string{{"app": "report-web"}}},
		invWorkload{kind: inventory.KindCronJob, name: "report", schedule: "0 3 * * *"})
	ns := synthesize(t, g, Options{Inventory: inv}).Namespaces[0]
	if len(ns.Silent) != 1 || ns.Silent[0].Kind != inventory.KindDeployment {
		t.Errorf("silent %+v, want Deployment report", ns.Silent)
	}
}

// TestNodeSetIsOneSet: config nodes.cidrs and the inventory's node
// addresses (with a hostNetwork pod's address, by spec.hostNetwork) are one
// set of node addresses: Prometheus scraping node-exporter on every node
// (seen as Hubble's host and remote-node entities, and as a Calico flow
// log's plain address of a hostNetwork pod) gets each node prefix exactly
// once, never wider than nodes.cidrs, and the hostNetwork pod's address
// is node traffic, not a peer; the cilium flavor keeps the entities.
func TestNodeSetIsOneSet(t *testing.T) {
	var b inventory.Builder
	b.AddSource("nodes.json")
	for i, n := range []string{"node-a", "node-b", "node-c"} {
		b.AddNode(inventory.Node{Name: n, Addresses: []netip.Addr{netip.MustParseAddr("10.0.0." + strconv.Itoa(11+i))}})
	}
	b.AddNode(inventory.Node{Name: "node-d"}) // no address listed
	b.AddPod(inventory.Pod{Namespace: "monitoring", Name: "node-exporter-d", HostNetwork: true, NodeName: "node-d",
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.14")}, Owner: inventory.Ref{Kind: inventory.KindDaemonSet, Name: "node-exporter"}})
	inv := b.Build()
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name   string
		cidrs  []netip.Prefix
		inv    bool
		flavor string
		want   []string // the egress rule's ipBlocks, sorted
		node14 bool     // 10.0.0.14 is known as a node
	}{
		{"neither", nil, false, "", []string{"10.0.0.11/32", "10.0.0.12/32", "10.0.0.13/32", "10.0.0.14/32"}, false},
		{"nodes.cidrs", []netip.Prefix{pfx("10.0.0.0/24")}, false, "", []string{"10.0.0.0/24"}, true},
		{"inventory", nil, true, "", []string{"10.0.0.11/32", "10.0.0.12/32", "10.0.0.13/32", "10.0.0.14/32"}, true},
		{"both", []netip.Prefix{pfx("10.0.0.0/24")}, true, "", []string{"10.0.0.0/24"}, true},
		{"both, nodes.cidrs holds some", []netip.Prefix{pfx("10.0.0.8/30")}, true, "", []string{"10.0.0.12/32", "10.0.0.13/32", "10.0.0.14/32", "10.0.0.8/30"}, true},
		{"both, cilium flavor", []netip.Prefix{pfx("10.0.0.0/24")}, true, FlavorCilium, []string{"10.0.0.0/24"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			prom := g.workload("monitoring", "prometheus", map[string]string{"app": "prometheus"})
			web := g.workload("shop", "web", map[string]string{"app": "web"})
			g.edge(prom, g.entity(record.EntityHost, "10.0.0.11"), tcp(9100), 10, 0, 10)
			g.edge(prom, g.entity(record.EntityRemoteNode, "10.0.0.12"), tcp(9100), 10, 0, 10)
			g.edge(prom, g.entity(record.EntityRemoteNode, "10.0.0.13"), tcp(9100), 10, 0, 10)
			g.edge(prom, g.external("10.0.0.14"), tcp(9100), 10, 0, 10)
			// the hostNetwork pod calls web; only its node saw it
			g.edge(g.external("10.0.0.14"), web, tcp(8080), 10, 0, 10)
			for _, e := range g.Edges {
				if e.Src == "ip:10.0.0.14" {
					e.NodesSeen = []string{"node-d"}
				}
			}
			opts := Options{NodeCIDRs: tc.cidrs, Flavor: tc.flavor}
			if tc.inv {
				opts.Inventory = inv
			}
			set := synthesize(t, g, opts)
			var got, entities []string
			var web14 bool
			for _, ns := range set.Namespaces {
				for _, p := range ns.Policies {
					for _, r := range p.EgressRules {
						for _, pe := range r.Peers {
							if pe.Entity == record.EntityHost || pe.Entity == record.EntityRemoteNode {
								entities = append(entities, string(pe.Entity))
								continue
							}
							for _, c := range pe.CIDRs {
								if c.Prefix.Addr().Is4() && p.Workload == "prometheus" && r.Ports[0].Port == 9100 {
									got = append(got, c.Prefix.String())
								}
							}
						}
					}
					for _, r := range p.IngressRules {
						web14 = web14 || coversAddr([]policy.Rule{r}, netip.MustParseAddr("10.0.0.14"))
					}
				}
			}
			if tc.flavor == FlavorCilium {
				// host and remote-node are written as Cilium's entities;
				// only the plain address is an ipBlock
				if !slices.Equal(entities, []string{"host", "remote-node"}) {
					t.Errorf("cilium flavor: entities %v, want host and remote-node", entities)
				}
			} else if len(entities) > 0 {
				t.Errorf("ipBlock flavor: node peers keep entities %v (a rule would write one prefix per entity)", entities)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("prometheus egress ipBlocks %v, want %v", got, tc.want)
			}
			host := slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
				return f.Kind == policy.FindHostTraffic && f.Peer == "10.0.0.14" && f.Workload == "prometheus"
			})
			if host != tc.node14 {
				t.Errorf("egress to the hostNetwork pod's address is node traffic: %v, want %v (%+v)", host, tc.node14, set.Findings)
			}
			// the hostNetwork pod calling from its own node: no rule with
			// the inventory; node CIDRs alone cannot tell which node it is
			if wantRule := !tc.inv; web14 != wantRule {
				t.Errorf("a rule admits the hostNetwork pod 10.0.0.14 into web: %v, want %v", web14, wantRule)
			}
		})
	}
}
