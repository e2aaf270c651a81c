package pipeline_test

import (
	"bufio"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

func renderFormat(t *testing.T, g *learner.Graph, format string, fo pipeline.FormatterOptions, so synth.Options) (*policy.Set, output.Tree) {
	t.Helper()
	f, err := pipeline.NewFormatter(format, fo)
	if err != nil {
		t.Fatal(err)
	}
	set, tree, err := pipeline.RenderWith(g, so, f)
	if err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return set, tree
}

// TestCiliumGoldenTrees compares the sample rendered in the cilium flavor,
// without and with --fqdn, with testdata/golden/cilium and cilium-fqdn
// (regenerate with: go test ./pipeline/ -run Golden -update).
func TestCiliumGoldenTrees(t *testing.T) {
	g, _ := learnSample(t, 0)
	for _, tt := range []struct {
		dir string
		fo  pipeline.FormatterOptions
	}{
		{"cilium", pipeline.FormatterOptions{}},
		{"cilium-fqdn", pipeline.FormatterOptions{FQDN: true}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			_, tree := renderFormat(t, g, cilium.FormatName, tt.fo, synth.Options{})
			golden.Compare(t, golden.Dir(t, tt.dir), tree)
		})
	}
}

// decodeTree decodes every Cilium policy of a tree (strictly, validated).
func decodeTree(t *testing.T, tree output.Tree) map[string][]*cilium.Object {
	t.Helper()
	out := map[string][]*cilium.Object{}
	for _, p := range tree.Paths() {
		if !strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, "kustomization.yaml") {
			continue
		}
		objs, err := cilium.Decode(p, tree[p])
		if err != nil {
			t.Fatal(err)
		}
		out[p] = objs
	}
	return out
}

// TestCiliumFQDN: without --fqdn no rule depends on the DNS proxy (no
// rules.dns, no toFQDNs anywhere) and api.stripe.com is its /32; with
// --fqdn, api.stripe.com is a toFQDNs matchName on 443 only (and no longer
// a CIDR), and the DNS bundle of the namespaces with toFQDNs rules — and
// only those — carries rules.dns.
func TestCiliumFQDN(t *testing.T) {
	g, _ := learnSample(t, 0)
	for _, fqdn := range []bool{false, true} {
		_, tree := renderFormat(t, g, cilium.FormatName, pipeline.FormatterOptions{FQDN: fqdn}, synth.Options{})
		objs := decodeTree(t, tree)
		var dnsProxy []string
		for p, os := range objs {
			for _, o := range os {
				for _, r := range append([]cilium.Rule{}, rules(o)...) {
					for _, e := range r.Egress {
						for _, pr := range e.ToPorts {
							if pr.Rules != nil {
								dnsProxy = append(dnsProxy, p)
							}
						}
						if !fqdn && len(e.ToFQDNs) > 0 {
							t.Errorf("without --fqdn: toFQDNs in %s", p)
						}
					}
				}
			}
		}
		slices.Sort(dnsProxy)
		dnsProxy = slices.Compact(dnsProxy)
		worker := objs["payments/worker-egress.yaml"][0].Spec
		var stripe []cilium.EgressRule
		for _, e := range worker.Egress {
			for _, c := range e.ToCIDRSet {
				if c.CIDR == "198.51.100.10/32" {
					stripe = append(stripe, e)
				}
			}
			for _, f := range e.ToFQDNs {
				if f.MatchName == "api.stripe.com" {
					stripe = append(stripe, e)
				}
			}
		}
		if len(stripe) != 1 {
			t.Fatalf("fqdn=%v: %d rules for api.stripe.com in payments/worker-egress", fqdn, len(stripe))
		}
		r := stripe[0]
		if len(r.ToPorts) != 1 || !slices.Equal(r.ToPorts[0].Ports, []cilium.PortProtocol{{Port: "443", Protocol: "TCP"}}) || r.ToPorts[0].Rules != nil {
			t.Errorf("fqdn=%v: api.stripe.com on %+v, want TCP 443 only", fqdn, r.ToPorts)
		}
		if !fqdn {
			if len(dnsProxy) != 0 {
				t.Errorf("without --fqdn: rules.dns in %v", dnsProxy)
			}
			if len(r.ToCIDRSet) != 1 || len(r.ToFQDNs) != 0 {
				t.Errorf("without --fqdn: api.stripe.com rule %+v, want its /32", r)
			}
			continue
		}
		if !slices.Equal(r.ToFQDNs, []cilium.FQDNSelector{{MatchName: "api.stripe.com"}}) || len(r.ToCIDRSet)+len(r.ToEndpoints)+len(r.ToEntities)+len(r.ToCIDR) != 0 {
			t.Errorf("--fqdn: api.stripe.com rule %+v, want toFQDNs matchName alone", r)
		}
		if !slices.Equal(dnsProxy, []string{"data/01-allow-dns.yaml", "payments/01-allow-dns.yaml"}) {
			t.Errorf("--fqdn: rules.dns in %v, want the DNS bundles of data and payments (the namespaces with toFQDNs)", dnsProxy)
		}
		dns := objs["payments/01-allow-dns.yaml"][0].Spec.Egress
		for _, e := range dns {
			if len(e.ToPorts) == 0 || e.ToPorts[0].Rules == nil || !slices.Equal(e.ToPorts[0].Rules.DNS, []cilium.FQDNSelector{{MatchPattern: "*"}}) {
				t.Errorf("--fqdn: DNS rule %+v, want rules.dns matchPattern *", e)
			}
		}
	}
	// a configured pattern replaces the names it matches
	_, tree := renderFormat(t, g, cilium.FormatName, pipeline.FormatterOptions{FQDN: true, FQDNPatterns: []string{"*.stripe.com"}}, synth.Options{})
	if !strings.Contains(string(tree["payments/worker-egress.yaml"]), "matchPattern: '*.stripe.com'") {
		t.Errorf("pattern not used:\n%s", tree["payments/worker-egress.yaml"])
	}
}

func rules(o *cilium.Object) []cilium.Rule {
	if o.Spec != nil {
		return []cilium.Rule{*o.Spec}
	}
	return o.Specs
}

// TestFlavorDecidesExpressible: the evidence rows say what the chosen
// flavor can express. In the cilium flavor, ICMP, node and API-server edges
// are admitted (icmps, entities) and nothing is reported as inexpressible
// or as needing the cilium flavor; in the k8s flavor on Cilium (--cni
// cilium) ICMP is inexpressible and nodes and the API server need the
// cilium flavor — and the k8s tree still passes its self-check.
func TestFlavorDecidesExpressible(t *testing.T) {
	g, _ := learnSample(t, 0)
	find := func(set *policy.Set, ns, workload, dir, peerPrefix, proto string) policy.Evidence {
		for _, n := range set.Namespaces {
			for _, ev := range n.Evidence {
				if n.Name == ns && ev.Workload == workload && ev.Direction == dir && strings.HasPrefix(ev.Peer, peerPrefix) && ev.Proto == proto {
					return ev
				}
			}
		}
		t.Fatalf("no evidence %s/%s %s %s %s", ns, workload, dir, peerPrefix, proto)
		return policy.Evidence{}
	}
	rows := []struct{ ns, workload, dir, peer, proto string }{
		{"shop", "frontend", "egress", "data/redis", "ICMPv4"},
		{"data", "redis", "ingress", "shop/frontend", "ICMPv4"},
		{"monitoring", "prometheus", "egress", "host", "TCP"},
		{"monitoring", "prometheus", "egress", "remote-node", "TCP"},
		{"monitoring", "prometheus", "egress", "kube-apiserver", "TCP"},
		{"payments", "api", "ingress", "kube-apiserver", "TCP"},
	}
	set, _ := renderFormat(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	for _, r := range rows {
		ev := find(set, r.ns, r.workload, r.dir, r.peer, r.proto)
		if !ev.Admitted || !strings.HasSuffix(ev.Rule, "-"+r.dir) {
			t.Errorf("cilium flavor: %s/%s %s %s %s: admitted=%v by %q, want admitted by the workload policy", r.ns, r.workload, r.dir, r.peer, r.proto, ev.Admitted, ev.Rule)
		}
	}
	for _, f := range set.Findings {
		if f.Kind == policy.FindInexpressible || f.Kind == policy.FindCNI {
			t.Errorf("cilium flavor: finding %+v", f)
		}
	}
	if set.CNI != synth.CNICilium {
		t.Errorf("cilium flavor: CNI semantics %q, want cilium", set.CNI)
	}
	set, _ = renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{CNI: synth.CNICilium})
	for _, r := range rows {
		ev := find(set, r.ns, r.workload, r.dir, r.peer, r.proto)
		want := "needs the cilium flavor"
		if r.proto == "ICMPv4" {
			want = "not expressible in NetworkPolicy"
		}
		if ev.Admitted || !strings.HasPrefix(ev.Rule, want) {
			t.Errorf("k8s flavor on cilium: %s/%s %s %s %s: admitted=%v by %q, want %q", r.ns, r.workload, r.dir, r.peer, r.proto, ev.Admitted, ev.Rule, want)
		}
	}
	if _, err := pipeline.NewFormatter("calico", pipeline.FormatterOptions{FQDN: true}); err == nil {
		t.Error("--fqdn accepted for the calico flavor")
	}
	if _, err := pipeline.NewFormatter(cilium.FormatName, pipeline.FormatterOptions{BaselineDeny: true}); err == nil {
		t.Error("--baseline-deny accepted for the cilium flavor (Cilium does not enforce BANP)")
	}
	f, _ := pipeline.NewFormatter(cilium.FormatName, pipeline.FormatterOptions{})
	if _, _, err := pipeline.RenderWith(g, synth.Options{CNI: synth.CNICalico}, f); err == nil {
		t.Error("--format cilium --cni calico accepted")
	}
}

// TestCiliumEntitiesOfCaptures: every reserved identity that appears in the
// real Hubble captures maps as the cilium flavor promises — host and
// remote-node to the host and remote-node entities, kube-apiserver to
// kube-apiserver, world (any source) to world — and health is never a
// policy peer: a workload's edge to or from it is reported and gets no rule.
func TestCiliumEntitiesOfCaptures(t *testing.T) {
	files, _ := filepath.Glob("../../shared/captures/hubble/*")
	if len(files) == 0 {
		t.Skip("../shared/captures absent")
	}
	seen := map[record.Entity]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var rec record.Record
			if _, _, ok, _, err := hubble.DecodeLine(sc.Bytes(), &rec); err != nil || !ok {
				continue
			}
			for _, ep := range []record.Endpoint{rec.Src, rec.Dst} {
				if ep.Entity != record.EntityNone && ep.Entity != record.EntityUnknown {
					seen[ep.Entity] = true
				}
			}
		}
		fh.Close()
	}
	want := map[record.Entity][]string{
		record.EntityHost:          {cilium.EntityHost},
		record.EntityRemoteNode:    {cilium.EntityRemoteNode},
		record.EntityKubeAPIServer: {cilium.EntityKubeAPIServer},
		record.EntityWorld:         {cilium.EntityWorld},
		record.EntityHealth:        nil,
	}
	for e := range want {
		if !seen[e] {
			t.Errorf("the captures no longer contain the reserved identity %s", e)
		}
	}
	for _, e := range slices.Sorted(maps.Keys(seen)) {
		w, known := want[e]
		if !known {
			t.Errorf("reserved identity %s in the captures has no expected mapping: add it to this test", e)
			continue
		}
		peer := policy.Peer{Entity: e, CIDRs: []policy.CIDR{{Prefix: mustPrefix(t, "10.0.0.1/32")}}}
		if e == record.EntityWorld {
			peer.CIDRs = []policy.CIDR{{Prefix: mustPrefix(t, "0.0.0.0/0")}, {Prefix: mustPrefix(t, "::/0")}}
		}
		got, ok := cilium.Entities(peer)
		if ok != (w != nil) || !slices.Equal(got, w) {
			t.Errorf("%s: entities %v (%v), want %v", e, got, ok, w)
		}
	}
	// health next to a workload: reported, no rule
	l := learner.New(learner.Options{})
	web := record.Endpoint{Namespace: "shop", Pod: "web-0", Labels: map[string]string{"app": "web"}, IP: mustAddr(t, "10.0.1.5")}
	health := record.Endpoint{Entity: record.EntityHealth, IP: mustAddr(t, "10.0.1.9")}
	for i := range 30 {
		at := g0().Add(time.Duration(i) * time.Minute)
		l.Add(&record.Record{Time: at, Src: web, Dst: health, Proto: record.ICMPv4, ICMPType: 8, Verdict: record.Forwarded, Direction: record.Request})
		l.Add(&record.Record{Time: at, Src: health, Dst: withPort(web, 8080), Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
	}
	set, tree := renderFormat(t, l.Graph(), cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	reported := 0
	for _, f := range set.Findings {
		if f.Kind == policy.FindUnsupported && strings.HasPrefix(f.Peer, "health") && strings.Contains(f.Message, "never a policy peer") {
			reported++
		}
	}
	if reported != 2 {
		t.Errorf("%d health findings, want 2 (egress and ingress): %+v", reported, set.Findings)
	}
	for _, p := range tree.Paths() {
		if strings.HasSuffix(p, ".yaml") && strings.Contains(string(tree[p]), "health") {
			t.Errorf("%s names the health entity:\n%s", p, tree[p])
		}
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func g0() time.Time { return time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) }

func withPort(e record.Endpoint, port uint16) record.Endpoint {
	e.Port = port
	return e
}

// TestGuardrailsOnlyAdd: --guardrails and --baseline-deny add _cluster/
// (AdminNetworkPolicy, BaselineAdminNetworkPolicy, kustomization) to the
// k8s tree and change nothing else in it; the NetworkPolicy self-check
// still runs on the namespaces; ROLLOUT.md explains both and says Cilium
// does not enforce them.
func TestGuardrailsOnlyAdd(t *testing.T) {
	g, _ := learnSample(t, 0)
	_, plain := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{})
	_, guarded := renderFormat(t, g, "k8s", pipeline.FormatterOptions{Guardrails: true, BaselineDeny: true}, synth.Options{})
	var added []string
	for _, p := range guarded.Paths() {
		switch {
		case p == "ROLLOUT.md":
			if !strings.HasPrefix(string(guarded[p]), string(plain[p])) {
				t.Errorf("ROLLOUT.md: the k8s part changed")
			}
			extra := strings.TrimPrefix(string(guarded[p]), string(plain[p]))
			for _, s := range []string{"AdminNetworkPolicy", "not by Cilium", "BaselineAdminNetworkPolicy", "kubectl apply -k _cluster"} {
				if !strings.Contains(extra, s) {
					t.Errorf("ROLLOUT.md guardrails section lacks %q", s)
				}
			}
		case plain[p] == nil:
			added = append(added, p)
		case string(plain[p]) != string(guarded[p]):
			t.Errorf("%s changed with --guardrails", p)
		}
	}
	if want := []string{"_cluster/01-metadata-guard.yaml", "_cluster/02-baseline-default-deny.yaml", "_cluster/kustomization.yaml"}; !slices.Equal(added, want) {
		t.Errorf("added %v, want %v", added, want)
	}
	if len(guarded) != len(plain)+3 {
		t.Errorf("%d files, want %d", len(guarded), len(plain)+3)
	}
}
