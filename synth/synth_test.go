package synth

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

var (
	kubeDNSLabels = map[string]string{"k8s-app": "kube-dns"}
	webSel        = map[string]string{"app": "web"}
)

// scopeGraph has application and system namespaces calling each other.
func scopeGraph() *graph {
	g := newGraph()
	dns := g.workload("kube-system", "coredns", kubeDNSLabels)
	metrics := g.workload("kube-system", "metrics-server", map[string]string{"k8s-app": "metrics-server"})
	echo := g.workload("cilium-test", "echo", map[string]string{"name": "echo"})
	prom := g.workload("monitoring", "prometheus", map[string]string{"app.kubernetes.io/name": "prometheus"})
	router := g.workload("openshift-ingress", "router-default", map[string]string{"ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"})
	web := g.workload("shop", "web", webSel)
	api := g.workload("shop", "api", map[string]string{"app": "api"})
	db := g.workload("data", "db", map[string]string{"app": "db"})
	x := g.workload("team-x", "app", map[string]string{"app": "x"})
	g.edge(web, dns, udp(53), 100, 0, 90)
	g.edge(prom, web, tcp(9090), 100, 0, 90)
	g.edge(router, web, tcp(8080), 100, 0, 90)
	g.edge(metrics, web, tcp(10250), 100, 0, 90)
	g.edge(echo, web, tcp(8080), 100, 0, 90)
	g.edge(web, api, tcp(8080), 100, 0, 90)
	g.edge(api, db, tcp(5432), 100, 0, 90)
	g.edge(x, api, tcp(8080), 100, 0, 90)
	return g
}

func TestScope(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		app        []string
		system     []string
		peersOfWeb bool // shop is an app namespace and web's callers are peers
	}{
		{
			name:   "system namespaces get no policies",
			app:    []string{"data", "monitoring", "shop", "team-x"},
			system: []string{"cilium-test", "kube-system", "openshift-ingress"},
			// kube-system, cilium-test and openshift-ingress pods still call web
			peersOfWeb: true,
		},
		{
			name:       "configured system globs",
			opts:       Options{SystemNamespaces: []string{"monitor*", "team-?"}},
			app:        []string{"data", "shop"},
			system:     []string{"cilium-test", "kube-system", "monitoring", "openshift-ingress", "team-x"},
			peersOfWeb: true,
		},
		{
			name:       "include globs",
			opts:       Options{Include: []string{"sh*", "data"}},
			app:        []string{"data", "shop"},
			system:     []string{"cilium-test", "kube-system", "monitoring", "openshift-ingress", "team-x"},
			peersOfWeb: true,
		},
		{
			name:   "exclude globs",
			opts:   Options{Exclude: []string{"team-*", "shop"}},
			app:    []string{"data", "monitoring"},
			system: []string{"cilium-test", "kube-system", "openshift-ingress", "shop", "team-x"},
		},
		{
			name:   "exclude wins over include",
			opts:   Options{Include: []string{"shop", "data"}, Exclude: []string{"data"}},
			app:    []string{"shop"},
			system: []string{"cilium-test", "data", "kube-system", "monitoring", "openshift-ingress", "team-x"},
			// web's callers from monitoring, team-x… are still peers
			peersOfWeb: true,
		},
		{
			name:   "a system namespace only when asked for",
			opts:   Options{Include: []string{"kube-system"}},
			app:    []string{"kube-system"},
			system: []string{"cilium-test", "data", "monitoring", "openshift-ingress", "shop", "team-x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := synthesize(t, scopeGraph(), tt.opts)
			var got []string
			for _, n := range set.Namespaces {
				got = append(got, n.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.app) {
				t.Errorf("namespaces with policies %v, want %v", got, tt.app)
			}
			if !slices.Equal(set.System, tt.system) {
				t.Errorf("system %v, want %v", set.System, tt.system)
			}
			for _, ns := range tt.system {
				if namespaceOf(set, ns) != nil {
					t.Errorf("namespace %s got policies", ns)
				}
			}
			if !tt.peersOfWeb {
				return
			}
			in := policyOf(t, set, "shop", "web-ingress")
			for _, want := range []struct {
				ns   string
				sel  map[string]string
				port policy.Port
			}{
				{"monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"}, tcp(9090)},
				{"openshift-ingress", map[string]string{"ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"}, tcp(8080)},
				{"kube-system", map[string]string{"k8s-app": "metrics-server"}, tcp(10250)},
				{"cilium-test", map[string]string{"name": "echo"}, tcp(8080)},
			} {
				if got := portsFor(in.IngressRules, podPeerOf(want.ns, want.sel)); !slices.Equal(got, []policy.Port{want.port}) {
					t.Errorf("web-ingress from %s/%v: ports %v, want %v", want.ns, want.sel, got, want.port)
				}
			}
		})
	}
}

func TestBundlesPerNamespace(t *testing.T) {
	set := synthesize(t, scopeGraph(), Options{})
	for _, n := range set.Namespaces {
		t.Run(n.Name, func(t *testing.T) {
			if len(n.Policies) < 2 {
				t.Fatalf("%d policies", len(n.Policies))
			}
			dd, dns := n.Policies[0], n.Policies[1]
			if dd.Name != policy.NameDefaultDeny || dd.Kind != policy.KindDefaultDeny || len(dd.Subject) != 0 || !dd.Ingress || !dd.Egress ||
				len(dd.IngressRules)+len(dd.EgressRules) != 0 {
				t.Errorf("first policy is not a default-deny of every pod in both directions: %+v", dd)
			}
			if dns.Name != policy.NameDNS || dns.Kind != policy.KindDNS || len(dns.Subject) != 0 || dns.Ingress || !dns.Egress || len(dns.EgressRules) == 0 {
				t.Errorf("second policy is not allow-dns for every pod: %+v", dns)
			}
			for _, p := range n.Policies {
				if p.Namespace != n.Name {
					t.Errorf("policy %s in namespace %q", p.Name, p.Namespace)
				}
			}
		})
	}
}

type wantResolver struct {
	kind     string
	peer     func(policy.Peer) bool
	ports    []policy.Port
	observed bool
}

var dns53 = []policy.Port{tcp(53), udp(53)}

func TestDNSResolvers(t *testing.T) {
	kubeDNS := podPeerOf("kube-system", kubeDNSLabels)
	tests := []struct {
		name  string
		build func(g *graph, web string)
		opts  Options
		want  []wantResolver
		// metadata: web's call to 169.254.169.254:80 must be a finding
		metadata bool
	}{
		{
			name: "kube-dns pods",
			build: func(g *graph, web string) {
				dns := g.workload("kube-system", "coredns", kubeDNSLabels)
				g.edge(web, dns, udp(53), 40, 0, 1)
			},
			want: []wantResolver{{"kube-dns", kubeDNS, dns53, true}},
		},
		{
			name: "kube-dns on its real port 5353",
			build: func(g *graph, web string) {
				dns := g.workload("kube-system", "coredns", kubeDNSLabels)
				g.edge(web, dns, udp(5353), 40, 0, 1)
			},
			want: []wantResolver{{"kube-dns", kubeDNS, []policy.Port{tcp(53), tcp(5353), udp(53), udp(5353)}, true}},
		},
		{
			name: "NodeLocal DNS plus the configured kube-dns ClusterIP",
			build: func(g *graph, web string) {
				g.edge(web, g.entity(record.EntityHost, "169.254.20.10"), udp(53), 40, 0, 1)
			},
			opts: Options{DNSClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}},
			want: []wantResolver{
				{"kube-dns-clusterip", cidrPeerOf("10.96.0.10/32"), dns53, false},
				{"node-local-dns", cidrPeerOf("169.254.20.10/32"), dns53, true},
			},
		},
		{
			name: "NodeLocal DNS also answering on the ClusterIP it was configured with",
			build: func(g *graph, web string) {
				g.edge(web, g.external("169.254.20.10"), udp(53), 40, 0, 1)
				g.edge(web, g.external("10.96.0.10"), udp(53), 40, 0, 1)
			},
			opts: Options{DNSClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}},
			want: []wantResolver{
				{"kube-dns-clusterip", cidrPeerOf("10.96.0.10/32"), dns53, true},
				{"node-local-dns", cidrPeerOf("169.254.20.10/32"), dns53, true},
			},
		},
		{
			name: "NodeLocal DNS plus the kube-dns ClusterIP of the inventory's Service",
			build: func(g *graph, web string) {
				g.edge(web, g.external("169.254.20.10"), udp(53), 40, 0, 1)
				g.edge(web, g.external("10.96.0.10"), udp(53), 40, 0, 1)
			},
			opts: Options{Inventory: dnsServiceInventory("kube-dns", "10.96.0.10")},
			want: []wantResolver{
				{"kube-dns-clusterip", cidrPeerOf("10.96.0.10/32"), dns53, true},
				{"node-local-dns", cidrPeerOf("169.254.20.10/32"), dns53, true},
			},
		},
		{
			name: "the configured kube-dns ClusterIP wins over the inventory's",
			build: func(g *graph, web string) {
				g.edge(web, g.external("169.254.20.10"), udp(53), 40, 0, 1)
			},
			opts: Options{DNSClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.11")}, Inventory: dnsServiceInventory("kube-dns", "10.96.0.10")},
			want: []wantResolver{
				{"kube-dns-clusterip", cidrPeerOf("10.96.0.11/32"), dns53, false},
				{"node-local-dns", cidrPeerOf("169.254.20.10/32"), dns53, true},
			},
		},
		{
			name: "another Service of kube-system is no resolver",
			build: func(g *graph, web string) {
				g.edge(web, g.external("169.254.20.10"), udp(53), 40, 0, 1)
			},
			opts: Options{Inventory: dnsServiceInventory("metrics-server", "10.96.0.20")},
			want: []wantResolver{{"node-local-dns", cidrPeerOf("169.254.20.10/32"), dns53, true}},
		},
		{
			name: "GKE Cloud DNS on the metadata address, port 53 only",
			build: func(g *graph, web string) {
				md := g.external("169.254.169.254")
				g.edge(web, md, udp(53), 40, 0, 1)
				g.edge(web, md, tcp(53), 5, 0, 1)
				g.edge(web, md, tcp(80), 5, 0, 1)
			},
			opts:     Options{Cloud: CloudGCP},
			want:     []wantResolver{{"gke-cloud-dns", cidrPeerOf("169.254.169.254/32"), dns53, true}},
			metadata: true,
		},
		{
			name: "OpenShift dns-default",
			build: func(g *graph, web string) {
				dns := g.workload("openshift-dns", "dns-default", map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"})
				g.edge(web, dns, udp(5353), 40, 0, 1)
			},
			want: []wantResolver{{"openshift-dns", podPeerOf("openshift-dns", map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"}),
				[]policy.Port{tcp(53), tcp(5353), udp(53), udp(5353)}, true}},
		},
		{
			name:  "no DNS observed: the kube-dns bundle",
			build: func(*graph, string) {},
			want:  []wantResolver{{"kube-dns", kubeDNS, dns53, false}},
		},
		{
			name: "DNS from a system namespace only does not count",
			build: func(g *graph, _ string) {
				dns := g.workload("kube-system", "coredns", kubeDNSLabels)
				op := g.workload("kube-system", "operator", map[string]string{"app": "op"})
				g.edge(op, g.entity(record.EntityHost, "169.254.20.10"), udp(53), 40, 0, 1)
				g.edge(op, dns, udp(5353), 40, 0, 1)
			},
			want: []wantResolver{{"kube-dns", kubeDNS, dns53, false}},
		},
		{
			name: "an external resolver is not the cluster's DNS",
			build: func(g *graph, web string) {
				g.edge(web, g.external("8.8.8.8"), udp(53), 40, 0, 1)
			},
			want: []wantResolver{{"kube-dns", kubeDNS, dns53, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			api := g.workload("shop", "api", map[string]string{"app": "api"})
			g.edge(web, api, tcp(8080), 40, 0, 1)
			tt.build(g, web)
			set := synthesize(t, g, tt.opts)
			if len(set.Resolvers) != len(tt.want) {
				t.Fatalf("resolvers %+v, want %d", set.Resolvers, len(tt.want))
			}
			for i, w := range tt.want {
				r := set.Resolvers[i]
				if r.Kind != w.kind || !w.peer(r.Peer) || !slices.Equal(r.Ports, w.ports) || r.Observed != w.observed {
					t.Errorf("resolver %d = %s %s %v observed=%v, want %s %v observed=%v", i, r.Kind, r.Peer.Key(), r.Ports, r.Observed, w.kind, w.ports, w.observed)
				}
			}
			// every pod of the namespace may reach every resolver on its ports
			dns := policyOf(t, set, "shop", policy.NameDNS)
			for _, w := range tt.want {
				if got := portsFor(dns.EgressRules, w.peer); !slices.Equal(got, w.ports) {
					t.Errorf("allow-dns to %s: %v, want %v", w.kind, got, w.ports)
				}
			}
			// DNS traffic is admitted by the bundle, not by web's own egress
			ev := evidenceOf(set, "shop", "web", "egress")
			for _, e := range ev {
				if e.Port == 53 || e.Port == 5353 {
					if e.Rule != policy.NameDNS && !strings.HasPrefix(e.Peer, "8.8.8.8") {
						t.Errorf("DNS flow %+v admitted by %q, want %s", e, e.Rule, policy.NameDNS)
					}
				}
			}
			md := netip.MustParseAddr("169.254.169.254")
			if p := findPolicy(set, "shop", "web-egress"); p != nil && coversAddr(p.EgressRules, md) && len(portsFor(p.EgressRules, cidrPeerOf("169.254.169.254/32"))) > 0 {
				t.Errorf("web-egress admits the metadata address: %+v", p.EgressRules)
			}
			if tt.metadata != hasFinding(set, policy.FindMetadata, "shop", "web", 80) {
				t.Errorf("metadata finding for port 80: %v, want %v (findings %+v)", !tt.metadata, tt.metadata, set.Findings)
			}
			if hasFinding(set, policy.FindMetadata, "shop", "web", 53) {
				t.Errorf("DNS on the metadata address reported as a metadata call")
			}
		})
	}
}

func evidenceOf(set *policy.Set, ns, workload, dir string) []policy.Evidence {
	var out []policy.Evidence
	if n := namespaceOf(set, ns); n != nil {
		for _, e := range n.Evidence {
			if e.Workload == workload && e.Direction == dir {
				out = append(out, e)
			}
		}
	}
	return out
}

func TestMetadataGuard(t *testing.T) {
	type call struct {
		cloud string
		addr  string
		port  uint16
	}
	guarded := []call{
		{CloudGeneric, "169.254.169.254", 80},
		{CloudGeneric, "fd00:ec2::254", 80},
		{CloudGeneric, "169.254.170.23", 80},
		{CloudGeneric, "fd00:ec2::23", 80},
		{CloudGeneric, "fd20:ce::254", 80},
		{CloudGeneric, "169.254.169.252", 988},
		{CloudGeneric, "168.63.129.16", 32526},
		{CloudGeneric, "fd00:c1::a9fe:a9fe", 80},
		{CloudGeneric, "100.100.100.200", 80},
		{"", "169.254.169.254", 80},
		{CloudAWS, "169.254.169.254", 80},
		{CloudAWS, "fd00:ec2::254", 80},
		{CloudAWS, "169.254.170.23", 80},
		{CloudAWS, "fd00:ec2::23", 80},
		{CloudGCP, "169.254.169.254", 80},
		{CloudGCP, "fd20:ce::254", 80},
		{CloudGCP, "169.254.169.252", 988},
		{CloudAzure, "169.254.169.254", 80},
		{CloudAzure, "168.63.129.16", 80},
		{CloudAzure, "168.63.129.16", 32526},
		{CloudOCI, "169.254.169.254", 80},
		{CloudOCI, "fd00:c1::a9fe:a9fe", 80},
		{CloudAlibaba, "169.254.169.254", 80},
		{CloudAlibaba, "100.100.100.200", 80},
	}
	optIn := func(c call) policy.OptIn {
		return policy.OptIn{Namespace: "shop", Workload: "web", Address: c.addr, Port: c.port}
	}
	tests := []struct {
		name    string
		calls   []call
		asHost  bool // the address shows up as the host entity
		optIn   func(call) policy.OptIn
		allowed bool
	}{
		{name: "never allowed by default", calls: guarded},
		{name: "never allowed as a host peer either", calls: guarded[:1], asHost: true},
		{name: "allowed with the matching opt-in", calls: guarded, optIn: optIn, allowed: true},
		{name: "allowed with an opt-in for every port", calls: guarded, allowed: true,
			optIn: func(c call) policy.OptIn { o := optIn(c); o.Port = 0; return o }},
		{name: "an opt-in for another workload", calls: guarded,
			optIn: func(c call) policy.OptIn { o := optIn(c); o.Workload = "api"; return o }},
		{name: "an opt-in for another namespace", calls: guarded,
			optIn: func(c call) policy.OptIn { o := optIn(c); o.Namespace = "data"; return o }},
		{name: "an opt-in for another port", calls: guarded,
			optIn: func(c call) policy.OptIn { o := optIn(c); o.Port = c.port + 1; return o }},
		{name: "an opt-in for another address", calls: guarded[:3],
			optIn: func(c call) policy.OptIn { o := optIn(c); o.Address = "169.254.169.253"; return o }},
		{name: "only the cloud's own addresses", allowed: true, calls: []call{
			{CloudAWS, "168.63.129.16", 80}, {CloudAWS, "100.100.100.200", 80}, {CloudGCP, "169.254.170.23", 80},
			{CloudAzure, "fd00:ec2::254", 80}, {CloudOCI, "169.254.169.252", 80}, {CloudAlibaba, "fd20:ce::254", 80},
		}},
		{name: "Azure DNS on the WireServer", allowed: true, calls: []call{{CloudAzure, "168.63.129.16", 53}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.calls {
				g := newGraph()
				web := g.workload("shop", "web", webSel)
				var dst string
				if tt.asHost {
					dst = g.entity(record.EntityHost, c.addr)
				} else {
					dst = g.external(c.addr)
				}
				g.edge(web, dst, tcp(c.port), 30, 0, 1)
				opts := Options{Cloud: c.cloud}
				if tt.optIn != nil {
					opts.MetadataAllow = []policy.OptIn{tt.optIn(c)}
				}
				set := synthesize(t, g, opts)
				addr := netip.MustParseAddr(c.addr)
				var rules []policy.Rule
				if p := findPolicy(set, "shop", "web-egress"); p != nil {
					rules = p.EgressRules
				}
				got := coversAddr(rules, addr)
				if got != tt.allowed {
					t.Errorf("%s %s:%d: admitted=%v, want %v", c.cloud, c.addr, c.port, got, tt.allowed)
				}
				if tt.allowed {
					want := []policy.Port{tcp(c.port)}
					if ports := portsFor(rules, cidrPeerOf(netip.PrefixFrom(addr, addr.BitLen()).String())); !slices.Equal(ports, want) {
						t.Errorf("%s %s:%d: admitted on %v, want only %v", c.cloud, c.addr, c.port, ports, want)
					}
				}
				// every observed call is reported; an opted-in one says so
				mg, _ := NewGuard(c.cloud, nil)
				if _, guarded := mg.Guards(addr, c.port); guarded != hasFinding(set, policy.FindMetadata, "shop", "web", c.port) {
					t.Errorf("%s %s:%d: metadata finding %v, want one exactly when the profile guards it (every observed call is reported)", c.cloud, c.addr, c.port, !guarded)
				}
				for _, f := range set.Findings {
					if f.Kind == policy.FindMetadata && f.Port == c.port && strings.Contains(f.Message, "ALLOWED") != tt.allowed {
						t.Errorf("%s %s:%d: finding %q, want ALLOWED=%v", c.cloud, c.addr, c.port, f.Message, tt.allowed)
					}
				}
			}
		})
	}
}

func TestWorldIngress(t *testing.T) {
	for _, cloud := range Clouds() {
		t.Run(cloud, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			api := g.workload("shop", "api", map[string]string{"app": "api"})
			g.edge(g.external("203.0.113.9"), web, tcp(443), 30, 0, 1)
			g.edge(g.external("2001:db8::9"), web, tcp(443), 30, 0, 1)
			g.edge(g.entity(record.EntityWorld, ""), web, tcp(80), 30, 0, 1)
			g.edge(api, web, tcp(8080), 30, 0, 1)
			set := synthesize(t, g, Options{Cloud: cloud})
			in := policyOf(t, set, "shop", "web-ingress")
			world := func(pe policy.Peer) bool { return len(pe.CIDRs) == 2 }
			if got, want := portsFor(in.IngressRules, world), []policy.Port{tcp(80), tcp(443)}; !slices.Equal(got, want) {
				t.Errorf("any source admitted on %v, want only the observed %v", got, want)
			}
			if got := portsFor(in.IngressRules, podPeerOf("", map[string]string{"app": "api"})); !slices.Equal(got, []policy.Port{tcp(8080)}) {
				t.Errorf("api admitted on %v", got)
			}
			for _, r := range in.IngressRules {
				for _, pe := range r.Peers {
					if !world(pe) {
						continue
					}
					prefixes := []string{pe.CIDRs[0].Prefix.String(), pe.CIDRs[1].Prefix.String()}
					if !slices.Equal(prefixes, []string{"0.0.0.0/0", "::/0"}) {
						t.Errorf("world peer %v, want 0.0.0.0/0 and ::/0", prefixes)
					}
					for _, c := range pe.CIDRs {
						for _, e := range c.Except {
							if e.Bits() <= c.Prefix.Bits() || !c.Prefix.Contains(e.Addr()) || e != e.Masked() {
								t.Errorf("except %s is not a strict subset of %s", e, c.Prefix)
							}
						}
					}
					for _, want := range []string{"169.254.0.0/16", "fe80::/10"} {
						if !slices.ContainsFunc(append(pe.CIDRs[0].Except, pe.CIDRs[1].Except...), func(p netip.Prefix) bool { return p.String() == want }) {
							t.Errorf("excepts lack %s", want)
						}
					}
					for _, a := range set.Guard.Addresses {
						if !slices.ContainsFunc(append(pe.CIDRs[0].Except, pe.CIDRs[1].Except...), func(p netip.Prefix) bool { return p.Contains(a.Addr) }) {
							t.Errorf("guarded %s (%s) not excepted", a.Addr, a.What)
						}
					}
				}
			}
			for _, port := range []uint16{80, 443} {
				if !hasFinding(set, policy.FindPublic, "shop", "web", port) {
					t.Errorf("no public-entrypoint finding for port %d", port)
				}
			}
			if hasFinding(set, policy.FindPublic, "shop", "web", 8080) {
				t.Errorf("port 8080 reported public")
			}
		})
	}
}

func TestExternalEgress(t *testing.T) {
	g := newGraph()
	web := g.workload("shop", "web", webSel)
	g.edge(web, g.external("140.82.112.3", "api.github.com", "github.com"), tcp(443), 30, 0, 1)
	g.edge(web, g.external("2606:50c0:8000::64", "api.github.com"), tcp(443), 30, 0, 1)
	g.edge(web, g.external("198.51.100.7"), tcp(5432), 30, 0, 1)
	g.edge(web, g.external("198.51.100.8"), tcp(40000), 30, 0, 1)
	set := synthesize(t, g, Options{})
	out := policyOf(t, set, "shop", "web-egress")
	tests := []struct {
		prefix string
		ports  []policy.Port
		names  []string
	}{
		{"140.82.112.3/32", []policy.Port{tcp(443)}, []string{"api.github.com", "github.com"}},
		{"2606:50c0:8000::64/128", []policy.Port{tcp(443)}, []string{"api.github.com"}},
		{"198.51.100.7/32", []policy.Port{tcp(5432)}, nil},
		{"198.51.100.8/32", []policy.Port{tcp(40000)}, nil},
	}
	for _, tt := range tests {
		if got := portsFor(out.EgressRules, cidrPeerOf(tt.prefix)); !slices.Equal(got, tt.ports) {
			t.Errorf("%s: ports %v, want %v", tt.prefix, got, tt.ports)
		}
		for _, r := range out.EgressRules {
			for _, pe := range r.Peers {
				if cidrPeerOf(tt.prefix)(pe) {
					if !slices.Equal(pe.Names, tt.names) {
						t.Errorf("%s: names %v, want %v", tt.prefix, pe.Names, tt.names)
					}
					if len(pe.CIDRs[0].Except) != 0 {
						t.Errorf("%s: excepts on a single address", tt.prefix)
					}
				}
			}
		}
	}
	if !hasFinding(set, policy.FindAmbiguousPort, "shop", "web", 40000) {
		t.Errorf("no finding for a request to an ephemeral port")
	}
	checkLeastPrivilege(t, g, set)
}

func TestAPIServer(t *testing.T) {
	tests := []struct {
		name    string
		ip      string
		cni     string
		egress  []policy.Port // web-egress to the API server
		ingress []policy.Port // webhook-ingress from it
		finding string
	}{
		{name: "by observed address", ip: "172.18.0.3", egress: []policy.Port{tcp(6443)}, ingress: []policy.Port{tcp(9443)}},
		{name: "address unknown: no rule, reported", finding: policy.FindUnsupported},
		{name: "address unknown on the cilium flavor: the entity", cni: CNICilium, egress: []policy.Port{tcp(6443)}, ingress: []policy.Port{tcp(9443)}, finding: policy.FindCNI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			hook := g.workload("shop", "webhook", map[string]string{"app": "webhook"})
			apiserver := g.entity(record.EntityKubeAPIServer, tt.ip)
			g.edge(web, apiserver, tcp(6443), 30, 0, 1)
			g.edge(apiserver, hook, tcp(9443), 30, 0, 1)
			set := synthesize(t, g, Options{CNI: tt.cni})
			isAPI := func(pe policy.Peer) bool {
				if pe.Entity != record.EntityKubeAPIServer {
					return false
				}
				if tt.ip == "" {
					return len(pe.CIDRs) == 0
				}
				return cidrPeerOf(tt.ip + "/32")(pe)
			}
			var egress, ingress []policy.Port
			if p := findPolicy(set, "shop", "web-egress"); p != nil {
				egress = portsFor(p.EgressRules, isAPI)
			}
			if p := findPolicy(set, "shop", "webhook-ingress"); p != nil {
				ingress = portsFor(p.IngressRules, isAPI)
			}
			if !slices.Equal(egress, tt.egress) || !slices.Equal(ingress, tt.ingress) {
				t.Errorf("egress %v ingress %v, want %v %v", egress, ingress, tt.egress, tt.ingress)
			}
			if tt.finding != "" && len(findingsOf(set, tt.finding)) == 0 {
				t.Errorf("no %s finding in %+v", tt.finding, set.Findings)
			}
		})
	}
}

func TestNodes(t *testing.T) {
	tests := []struct {
		name  string
		build func(g *graph, web string)
		opts  Options
		// ingress/egress: CIDR → ports expected in web's policies
		ingress, egress map[string][]policy.Port
		noIngress       bool // no web-ingress policy at all
		findings        []string
	}{
		{
			name: "kubelet probes from the pod's own node need no rule",
			build: func(g *graph, web string) {
				g.edge(g.entity(record.EntityHost, "172.18.0.2"), web, tcp(8080), 300, 0, 1)
			},
			noIngress: true,
			findings:  []string{policy.FindHostTraffic},
		},
		{
			name: "remote nodes by node IP",
			build: func(g *graph, web string) {
				g.edge(g.entity(record.EntityRemoteNode, "172.18.0.4"), web, tcp(8080), 30, 0, 1)
				g.edge(g.entity(record.EntityRemoteNode, "172.18.0.5"), web, tcp(8080), 30, 0, 1)
			},
			ingress:  map[string][]policy.Port{"172.18.0.4/32": {tcp(8080)}, "172.18.0.5/32": {tcp(8080)}},
			findings: []string{policy.FindHostTraffic, policy.FindNodeIPs},
		},
		{
			name: "remote nodes by the configured node CIDRs",
			build: func(g *graph, web string) {
				g.edge(g.entity(record.EntityRemoteNode, "172.18.0.4"), web, tcp(8080), 30, 0, 1)
				g.edge(g.entity(record.EntityRemoteNode, "172.18.0.5"), web, tcp(8080), 30, 0, 1)
			},
			opts:     Options{NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("172.18.0.0/16")}},
			ingress:  map[string][]policy.Port{"172.18.0.0/16": {tcp(8080)}},
			findings: []string{policy.FindNodeIPs},
		},
		{
			name: "egress to node ports",
			build: func(g *graph, web string) {
				g.edge(web, g.entity(record.EntityHost, "172.18.0.2"), tcp(9100), 30, 0, 1)
				g.edge(web, g.entity(record.EntityRemoteNode, "172.18.0.4"), tcp(10250), 30, 0, 1)
			},
			noIngress: true,
			egress:    map[string][]policy.Port{"172.18.0.2/32": {tcp(9100)}, "172.18.0.4/32": {tcp(10250)}},
			findings:  []string{policy.FindHostTraffic, policy.FindNodeIPs},
		},
		{
			name: "a remote node without address: no rule, reported",
			build: func(g *graph, web string) {
				g.edge(g.entity(record.EntityRemoteNode, ""), web, tcp(8080), 30, 0, 1)
			},
			noIngress: true,
			findings:  []string{policy.FindUnsupported},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			tt.build(g, web)
			set := synthesize(t, g, tt.opts)
			in := findPolicy(set, "shop", "web-ingress")
			if tt.noIngress != (in == nil) {
				t.Fatalf("web-ingress %+v, want none=%v", in, tt.noIngress)
			}
			for cidr, ports := range tt.ingress {
				if got := portsFor(in.IngressRules, cidrPeerOf(cidr)); !slices.Equal(got, ports) {
					t.Errorf("ingress from %s: %v, want %v (rules %+v)", cidr, got, ports, in.IngressRules)
				}
			}
			if len(tt.egress) > 0 {
				out := policyOf(t, set, "shop", "web-egress")
				for cidr, ports := range tt.egress {
					if got := portsFor(out.EgressRules, cidrPeerOf(cidr)); !slices.Equal(got, ports) {
						t.Errorf("egress to %s: %v, want %v", cidr, got, ports)
					}
				}
			}
			for _, k := range tt.findings {
				if len(findingsOf(set, k)) == 0 {
					t.Errorf("no %s finding in %+v", k, set.Findings)
				}
			}
		})
	}
}

func TestICMP(t *testing.T) {
	tests := []struct {
		name  string
		cni   string
		build func(g *graph, web, api string)
		// reported: workloads with an inexpressible finding
		reported []string
	}{
		{
			name:     "pod to pod on kubernetes",
			build:    func(g *graph, web, api string) { g.edge(web, api, icmp(), 30, 0, 1) },
			reported: []string{"web"},
		},
		{
			name:  "pod to pod on cilium",
			cni:   CNICilium,
			build: func(g *graph, web, api string) { g.edge(web, api, icmp(), 30, 0, 1) },
		},
		{
			name:  "pod to pod on calico",
			cni:   CNICalico,
			build: func(g *graph, web, api string) { g.edge(web, api, icmp(), 30, 0, 1) },
		},
		{
			name: "from a node",
			build: func(g *graph, web, api string) {
				g.edge(g.entity(record.EntityRemoteNode, "172.18.0.4"), api, icmp(), 30, 0, 1)
			},
			reported: []string{"api"},
		},
		{
			name: "from a system namespace",
			build: func(g *graph, web, api string) {
				g.edge(g.workload("kube-system", "probe", map[string]string{"app": "probe"}), api, icmp(), 30, 0, 1)
			},
			reported: []string{"api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			api := g.workload("shop", "api", map[string]string{"app": "api"})
			tt.build(g, web, api)
			set := synthesize(t, g, Options{CNI: tt.cni})
			var got []string
			for _, f := range findingsOf(set, policy.FindInexpressible) {
				if f.Proto != "ICMPv4" || f.Namespace != "shop" {
					t.Errorf("finding %+v", f)
				}
				got = append(got, f.Workload)
			}
			if !slices.Equal(got, tt.reported) {
				t.Errorf("inexpressible findings for %v, want %v", got, tt.reported)
			}
			for _, e := range append(evidenceOf(set, "shop", "web", "egress"), evidenceOf(set, "shop", "api", "ingress")...) {
				if e.Proto == "ICMPv4" && (tt.cni == "") == e.Admitted {
					t.Errorf("evidence %+v: admitted=%v on cni %q", e, e.Admitted, tt.cni)
				}
			}
		})
	}
}

func TestPeers(t *testing.T) {
	g := newGraph()
	web := g.workload("shop", "web", webSel)
	api := g.workload("shop", "api", map[string]string{"app": "api"})
	a := g.workload("shop", "a", map[string]string{"app": "a"})
	b := g.workload("shop", "b", map[string]string{"app": "b"})
	c := g.workload("shop", "c", map[string]string{"app": "c"})
	db := g.workload("data", "db", map[string]string{"app": "db"})
	g.edge(a, web, tcp(80), 10, 0, 1)
	g.edge(b, web, tcp(80), 10, 0, 1)
	g.edge(c, web, tcp(80), 10, 0, 1)
	g.edge(c, web, tcp(443), 10, 0, 1)
	g.edge(api, web, udp(8125), 10, 0, 1)
	g.edge(web, db, tcp(5432), 10, 0, 1)
	g.edge(web, api, tcp(8080), 10, 0, 1)
	set := synthesize(t, g, Options{})

	t.Run("peers sharing exactly one port set share a rule", func(t *testing.T) {
		in := policyOf(t, set, "shop", "web-ingress")
		type rule struct {
			peers []string
			ports []policy.Port
		}
		var got []rule
		for _, r := range in.IngressRules {
			var peers []string
			for _, pe := range r.Peers {
				peers = append(peers, pe.Pods.Selector["app"])
			}
			got = append(got, rule{peers, r.Ports})
		}
		want := []rule{
			{[]string{"a", "b"}, []policy.Port{tcp(80)}},
			{[]string{"api"}, []policy.Port{udp(8125)}},
			{[]string{"c"}, []policy.Port{tcp(80), tcp(443)}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rules %+v, want %+v", got, want)
		}
	})
	t.Run("no peer gets a port it was not seen on", func(t *testing.T) {
		checkLeastPrivilege(t, g, set)
	})
	t.Run("cross-namespace peers carry the namespace", func(t *testing.T) {
		out := policyOf(t, set, "shop", "web-egress")
		if got := portsFor(out.EgressRules, podPeerOf("data", map[string]string{"app": "db"})); !slices.Equal(got, []policy.Port{tcp(5432)}) {
			t.Errorf("web → data/db: %v", got)
		}
		if got := portsFor(out.EgressRules, podPeerOf("", map[string]string{"app": "api"})); !slices.Equal(got, []policy.Port{tcp(8080)}) {
			t.Errorf("web → api (same namespace, no namespace selector): %v", got)
		}
		in := policyOf(t, set, "data", "db-ingress")
		if got := portsFor(in.IngressRules, podPeerOf("shop", webSel)); !slices.Equal(got, []policy.Port{tcp(5432)}) {
			t.Errorf("data/db ← shop/web: %v (rules %+v)", got, in.IngressRules)
		}
	})
	t.Run("subjects select the workload", func(t *testing.T) {
		for _, name := range []string{"web-ingress", "web-egress"} {
			if p := policyOf(t, set, "shop", name); !maps.Equal(p.Subject, webSel) || p.Workload != "web" {
				t.Errorf("%s: subject %v workload %q", name, p.Subject, p.Workload)
			}
		}
		if p := findPolicy(set, "shop", "a-ingress"); p != nil {
			t.Errorf("a is never called but has %s", p.Name)
		}
	})
}

func TestUnselectableWorkload(t *testing.T) {
	g := newGraph()
	web := g.workload("shop", "web", webSel)
	masked := g.workload("shop", "masked", nil)
	g.edge(masked, web, tcp(80), 30, 0, 1)
	set := synthesize(t, g, Options{})
	if p := findPolicy(set, "shop", "masked-egress"); p != nil {
		t.Errorf("a workload without labels got a policy selecting %v", p.Subject)
	}
	if p := findPolicy(set, "shop", "web-ingress"); p != nil && len(p.IngressRules) > 0 {
		t.Errorf("web admits an unselectable caller: %+v", p.IngressRules)
	}
	if !slices.ContainsFunc(findingsOf(set, policy.FindSelector), func(f policy.Finding) bool { return f.Workload == "masked" }) {
		t.Errorf("no selector finding for masked: %+v", set.Findings)
	}
}

func TestDeniedAttemptsReported(t *testing.T) {
	g := newGraph()
	web := g.workload("shop", "web", webSel)
	db := g.workload("data", "db", map[string]string{"app": "db"})
	e := &learner.Edge{Src: web, Dst: db, Proto: "TCP", Port: 5432, Flows: 3, Dropped: 3, FirstSeen: t0, LastSeen: t0}
	g.Denied[e.Key()] = e
	set := synthesize(t, g, Options{})
	if !hasFinding(set, policy.FindDenied, "shop", "web", 5432) {
		t.Errorf("no denied-attempt finding: %+v", set.Findings)
	}
	if p := findPolicy(set, "shop", "web-egress"); p != nil {
		t.Errorf("a denied attempt was learned: %+v", p.EgressRules)
	}
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		first int // hour the newest edge was first seen
		flows uint64
		want  string
	}{
		{name: "quiet for the last quarter", first: 70, flows: 100, want: policy.Stable},
		{name: "a new edge in the last quarter", first: 80, flows: 100, want: policy.StillLearning},
		{name: "a new edge at the very end", first: 100, flows: 100, want: policy.StillLearning},
		{name: "too little traffic", first: 10, flows: 19, want: policy.TooLittle},
		{name: "too little traffic wins over new edges", first: 90, flows: 5, want: policy.TooLittle},
		{name: "configured minimum", opts: Options{MinFlows: 5}, first: 10, flows: 5, want: policy.Stable},
		{name: "configured quiet fraction", opts: Options{QuietFraction: 0.5}, first: 60, flows: 100, want: policy.StillLearning},
		{name: "configured quiet period", opts: Options{QuietPeriod: 24 * time.Hour}, first: 80, flows: 100, want: policy.StillLearning},
		{name: "short quiet period", opts: Options{QuietPeriod: 10 * time.Hour}, first: 80, flows: 100, want: policy.Stable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			web := g.workload("shop", "web", webSel)
			api := g.workload("shop", "api", map[string]string{"app": "api"})
			g.edge(web, api, tcp(8080), tt.flows/2, 0, 100)
			g.edge(api, web, tcp(9090), tt.flows-tt.flows/2, tt.first, 100)
			set := synthesize(t, g, tt.opts)
			r := namespaceOf(set, "shop").Readiness
			if r.State != tt.want || r.Evidence == "" {
				t.Errorf("readiness %q (%s), want %q", r.State, r.Evidence, tt.want)
			}
		})
	}
}

func TestNamespaceOrder(t *testing.T) {
	g := newGraph()
	a := g.workload("a", "svc", map[string]string{"app": "svc"})
	b := g.workload("b", "svc", map[string]string{"app": "svc"})
	c := g.workload("c", "svc", map[string]string{"app": "svc"})
	d := g.workload("d", "svc", map[string]string{"app": "svc"})
	mon := g.workload("kube-system", "mon", map[string]string{"app": "mon"})
	g.edge(b, a, tcp(80), 10, 0, 1)
	g.edge(c, a, tcp(80), 10, 0, 1)
	g.edge(c, b, tcp(80), 10, 0, 1)
	g.edge(mon, a, tcp(80), 10, 0, 1)
	g.edge(mon, d, tcp(80), 10, 0, 1)
	set := synthesize(t, g, Options{})
	var got []string
	var deps []int
	for _, n := range set.Namespaces {
		got = append(got, n.Name)
		deps = append(deps, n.Dependents)
	}
	// fewest dependents first, ties by name: c (0), b (1: c), d (1: kube-system), a (3)
	if want := []string{"c", "b", "d", "a"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if want := []int{0, 1, 1, 3}; !slices.Equal(deps, want) {
		t.Errorf("dependents %v, want %v", deps, want)
	}
}

// richGraph is a graph with every kind of peer.
func richGraph() *graph {
	g := newGraph()
	dns := g.workload("kube-system", "coredns", kubeDNSLabels)
	for _, ns := range []string{"shop", "data", "pay"} {
		web := g.workload(ns, "web", map[string]string{"app": "web", "tier": "front"})
		api := g.workload(ns, "api", map[string]string{"app": "api", "tier": "back"})
		g.edge(web, api, tcp(8080), 40, 0, 60)
		g.edge(web, dns, udp(53), 40, 0, 60)
		g.edge(api, g.external("140.82.112.3", "api.github.com"), tcp(443), 40, 0, 90)
		g.edge(g.external("203.0.113.9"), web, tcp(443), 40, 0, 90)
		g.edge(g.entity(record.EntityHost, "172.18.0.2"), api, tcp(8080), 40, 0, 90)
		g.edge(g.entity(record.EntityRemoteNode, "172.18.0.4"), web, tcp(443), 40, 0, 90)
		g.edge(api, g.entity(record.EntityKubeAPIServer, "172.18.0.3"), tcp(6443), 40, 0, 90)
		g.edge(api, g.external("169.254.169.254"), tcp(80), 4, 0, 90)
		g.edge(web, api, icmp(), 4, 0, 90)
	}
	g.edge("pod:shop/api", "pod:data/api", tcp(8080), 40, 10, 90)
	g.edge("pod:pay/web", "pod:shop/api", tcp(8080), 40, 80, 90)
	return g
}

func TestDeterministic(t *testing.T) {
	for _, cni := range []string{CNIKubernetes, CNICilium, CNICalico} {
		t.Run(cni, func(t *testing.T) {
			opts := Options{CNI: cni, DNSClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}}
			first := synthesize(t, richGraph(), opts)
			for range 5 {
				if again := synthesize(t, richGraph(), opts); !reflect.DeepEqual(first, again) {
					t.Fatal("two runs on the same graph differ")
				}
			}
			checkLeastPrivilege(t, richGraph(), first)
			// the graph is not changed by synthesis
			g := richGraph()
			before := len(g.Nodes) + len(g.Edges)
			synthesize(t, g, opts)
			if after := len(g.Nodes) + len(g.Edges); after != before {
				t.Errorf("Synthesize changed its graph: %d → %d nodes+edges", before, after)
			}
		})
	}
}

func TestFromLearnedRecords(t *testing.T) {
	// the learner's graph, not a hand-built one: pod-specific labels are
	// gone and pods of a workload are one peer
	pod := func(pod, ip string, port uint16, labels map[string]string) record.Endpoint {
		return record.Endpoint{Namespace: "shop", Pod: pod, IP: netip.MustParseAddr(ip), Port: port, Labels: labels}
	}
	l := learner.New(learner.Options{})
	for i, src := range []record.Endpoint{
		pod("web-5b8c7d9f4-x2x7q", "10.0.0.1", 40001, map[string]string{"app": "web", "pod-template-hash": "5b8c7d9f4"}),
		pod("web-7d9f8c6b5-b4c5d", "10.0.0.2", 40002, map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5"}),
	} {
		dst := pod("api-0", "10.0.0.3", 8080, map[string]string{"app": "api", "statefulset.kubernetes.io/pod-name": "api-0"})
		for j := range 15 {
			l.Add(&record.Record{Time: hour(i*10 + j), Src: src, Dst: dst, Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
		}
	}
	set, err := Synthesize(l.Graph(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := policyOf(t, set, "shop", "api-ingress")
	if !maps.Equal(in.Subject, map[string]string{"app": "api"}) {
		t.Errorf("subject %v", in.Subject)
	}
	if len(in.IngressRules) != 1 || len(in.IngressRules[0].Peers) != 1 ||
		!podPeerOf("", webSel)(in.IngressRules[0].Peers[0]) || !slices.Equal(in.IngressRules[0].Ports, []policy.Port{tcp(8080)}) {
		t.Errorf("rules %+v, want web on TCP/8080", in.IngressRules)
	}
	// web's second pod started at hour 10 of a 24 h window: still the one
	// edge, first seen at hour 0, so the last quarter is quiet
	if r := namespaceOf(set, "shop").Readiness; r.State != policy.Stable {
		t.Errorf("readiness %+v, want stable", r)
	}
	if set.Flows != 30 {
		t.Errorf("flows %d, want 30", set.Flows)
	}
}

func TestBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown cloud", Options{Cloud: "digitalocean"}, "--cloud"},
		{"unknown CNI", Options{CNI: "flannel"}, "--cni"},
		{"bad system glob", Options{SystemNamespaces: []string{"kube-["}}, "namespaces.system"},
		{"bad include glob", Options{Include: []string{"[a-"}}, "namespaces.include"},
		{"bad exclude glob", Options{Exclude: []string{"\\"}}, "namespaces.exclude"},
		{"opt-in without workload", Options{MetadataAllow: []policy.OptIn{{Namespace: "shop", Address: "169.254.169.254"}}}, "metadata.allow[0]"},
		{"opt-in with a bad address", Options{MetadataAllow: []policy.OptIn{
			{Namespace: "shop", Workload: "web", Address: "169.254.169.254"},
			{Namespace: "shop", Workload: "web", Address: "metadata.google.internal"}}}, "metadata.allow[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Synthesize(scopeGraph().Graph, tt.opts)
			if err == nil {
				t.Fatalf("accepted: %d namespaces", len(set.Namespaces))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestNewGuard(t *testing.T) {
	tests := []struct {
		cloud string
		want  []string
	}{
		{CloudAWS, []string{"169.254.169.254", "169.254.170.23", "fd00:ec2::23", "fd00:ec2::254"}},
		{CloudGCP, []string{"169.254.169.252", "169.254.169.254", "fd20:ce::254"}},
		{CloudAzure, []string{"168.63.129.16", "169.254.169.254"}},
		{CloudOCI, []string{"169.254.169.254", "fd00:c1::a9fe:a9fe"}},
		{CloudAlibaba, []string{"100.100.100.200", "169.254.169.254"}},
		{CloudGeneric, []string{"100.100.100.200", "168.63.129.16", "169.254.169.252", "169.254.169.254", "169.254.170.23",
			"fd00:c1::a9fe:a9fe", "fd00:ec2::23", "fd00:ec2::254", "fd20:ce::254"}},
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			g, err := NewGuard(tt.cloud, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range g.Addresses {
				got = append(got, a.Addr.String())
				if a.What == "" {
					t.Errorf("%s has no description", a.Addr)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("guarded %v, want %v", got, tt.want)
			}
			if _, guarded := g.Guards(netip.MustParseAddr("169.254.169.254"), 53); guarded {
				t.Errorf("169.254.169.254:53 (GKE Cloud DNS) guarded")
			}
			for _, e := range append(slices.Clone(g.ExceptV4), g.ExceptV6...) {
				if broad := broadExcepts(&g, netip.MustParsePrefix("0.0.0.0/0")); e.Addr().Is4() && !slices.Contains(broad, e) {
					t.Errorf("except %s not applied to 0.0.0.0/0", e)
				}
			}
			// an except must lie strictly inside its cidr
			for _, p := range []string{"10.0.0.0/8", "169.254.0.0/16", "169.254.169.254/32", "100.64.0.0/10", "fd00::/8"} {
				pf := netip.MustParsePrefix(p)
				for _, e := range broadExcepts(&g, pf) {
					if e.Bits() <= pf.Bits() || !pf.Contains(e.Addr()) {
						t.Errorf("except %s for %s", e, pf)
					}
				}
			}
		})
	}
}

func TestIsApplicationNamespaceAgreesWithSynthesize(t *testing.T) {
	for _, opts := range []Options{
		{},
		{SystemNamespaces: []string{"monitor*"}},
		{Include: []string{"sh*", "kube-system"}},
		{Exclude: []string{"team-*"}},
		{Include: []string{"shop", "data"}, Exclude: []string{"data"}},
	} {
		set := synthesize(t, scopeGraph(), opts)
		for _, ns := range []string{"kube-system", "cilium-test", "monitoring", "openshift-ingress", "shop", "data", "team-x"} {
			if got, want := IsApplicationNamespace(ns, opts), namespaceOf(set, ns) != nil; got != want {
				t.Errorf("%+v: IsApplicationNamespace(%s) = %v, Synthesize wrote policies: %v", opts, ns, got, want)
			}
		}
	}
}

// dnsServiceInventory is an inventory with one kube-system Service: the
// resolver's selector when it is named kube-dns.
func dnsServiceInventory(name, ip string) *inventory.Snapshot {
	var b inventory.Builder
	b.AddSource("svc.json")
	sel := map[string]string{"k8s-app": name}
	b.AddService(inventory.Service{Namespace: "kube-system", Name: name, Selector: sel, ClusterIPs: []netip.Addr{netip.MustParseAddr(ip)},
		Ports: []inventory.ServicePort{{Name: "dns", Proto: "UDP", Port: 53, TargetPort: 53}}})
	return b.Build()
}
