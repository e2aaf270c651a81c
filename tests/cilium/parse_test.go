package cilium

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// variants of the cilium flavor every object of which must pass Cilium's
// sanitizer.
func variants() []struct {
	name string
	fo   pipeline.FormatterOptions
	so   synth.Options
} {
	optIns := []policy.OptIn{
		{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
		{Namespace: "shop", Workload: "catalog", Address: "169.254.169.254"},
		{Namespace: "data", Workload: "backup", Address: "fd20:ce::254", Port: 80},
		{Namespace: "kube-system", Workload: "coredns", Address: "169.254.169.254", Port: 80},
	}
	return []struct {
		name string
		fo   pipeline.FormatterOptions
		so   synth.Options
	}{
		{name: "default"},
		{name: "fqdn", fo: pipeline.FormatterOptions{FQDN: true}},
		{name: "fqdn with patterns", fo: pipeline.FormatterOptions{FQDN: true, FQDNPatterns: []string{"*.stripe.com", "*.s3.example.com"}}},
		{name: "gcp with opt-ins in several namespaces", so: synth.Options{Cloud: "gcp", MetadataAllow: optIns}},
		{name: "aws, node CIDRs", so: synth.Options{Cloud: "aws", NodeCIDRs: nil}},
		{name: "azure", so: synth.Options{Cloud: "azure"}},
	}
}

// TestEveryObjectParses: every CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy decodes strictly into Cilium's types and
// passes Cilium's Parse (Rule.Sanitize) with zero errors.
func TestEveryObjectParses(t *testing.T) {
	g := learn(t, sampleGlob)
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			_, tree := render(t, g, cilium.FormatName, v.fo, v.so)
			files := policyFiles(tree)
			if len(files) < 20 {
				t.Fatalf("only %d policy files", len(files))
			}
			for _, p := range files {
				for i, d := range docs(tree[p]) {
					rules, err := ciliumRules(p, d)
					if err != nil {
						t.Errorf("%s document %d: %v", p, i+1, err)
						continue
					}
					if len(rules) == 0 {
						t.Errorf("%s: no rule", p)
					}
				}
			}
		})
	}
}

// TestCapturesParse renders the real Hubble captures (when ../shared is
// present) in the cilium flavor, system namespaces included, and parses
// every object.
func TestCapturesParse(t *testing.T) {
	if m, _ := filepath.Glob(capturesGlob); len(m) == 0 {
		t.Skip("../shared/captures absent")
	}
	if _, err := os.Stat("../../../shared/captures/hubble"); err != nil {
		t.Skip("../shared/captures absent")
	}
	g := learn(t, capturesGlob)
	for _, fqdn := range []bool{false, true} {
		_, tree := render(t, g, cilium.FormatName, pipeline.FormatterOptions{FQDN: fqdn}, synth.Options{Include: []string{"*", "kube-system"}})
		rules := allRules(t, tree)
		if len(rules) < 10 {
			t.Errorf("fqdn=%v: only %d rules from the captures", fqdn, len(rules))
		}
	}
}

// TestDefaultDenyShape: the namespace default-deny, as Cilium parses it,
// selects every pod of its namespace and puts it into default-deny both
// ways without allowing any peer; the metadata guard puts no pod into
// default-deny.
func TestDefaultDenyShape(t *testing.T) {
	g := learn(t, sampleGlob)
	_, tree := render(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	rules, err := ciliumRules("shop/00-default-deny.yaml", tree["shop/00-default-deny.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules", len(rules))
	}
	r := rules[0]
	if !*r.EnableDefaultDeny.Ingress || !*r.EnableDefaultDeny.Egress {
		t.Errorf("default-deny: enableDefaultDeny %+v, want true both ways", r.EnableDefaultDeny)
	}
	if len(r.Ingress) != 1 || len(r.Egress) != 1 || len(r.Ingress[0].FromEndpoints)+len(r.Ingress[0].FromEntities)+len(r.Ingress[0].FromCIDRSet) != 0 ||
		len(r.Egress[0].ToEndpoints)+len(r.Egress[0].ToEntities)+len(r.Egress[0].ToCIDRSet)+len(r.Egress[0].ToCIDR)+len(r.Egress[0].ToFQDNs) != 0 {
		t.Errorf("default-deny: want one empty ingress and one empty egress rule, got %+v / %+v", r.Ingress, r.Egress)
	}
	if sel := r.EndpointSelector.LabelSelector.String(); !strings.Contains(sel, "io.kubernetes.pod.namespace") || !strings.Contains(sel, "shop") {
		t.Errorf("default-deny selector %s: want every pod of namespace shop", sel)
	}
	guard, err := ciliumRules("_cluster/01-metadata-guard.yaml", tree["_cluster/01-metadata-guard.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range guard {
		if *r.EnableDefaultDeny.Ingress || *r.EnableDefaultDeny.Egress {
			t.Errorf("guard rule %q: enableDefaultDeny %v/%v, want false both ways", r.Description, *r.EnableDefaultDeny.Ingress, *r.EnableDefaultDeny.Egress)
		}
		if len(r.Ingress)+len(r.Egress)+len(r.IngressDeny) != 0 || len(r.EgressDeny) == 0 {
			t.Errorf("guard rule %q: want egressDeny only", r.Description)
		}
	}
}

// TestDNSProxyOnlyWithFQDN: rules.dns (the DNS proxy) appears only with
// --fqdn, only on the DNS bundle, and only where toFQDNs rules need it.
func TestDNSProxyOnlyWithFQDN(t *testing.T) {
	g := learn(t, sampleGlob)
	for _, fqdn := range []bool{false, true} {
		_, tree := render(t, g, cilium.FormatName, pipeline.FormatterOptions{FQDN: fqdn}, synth.Options{})
		var withDNS, withFQDN []string
		for _, p := range policyFiles(tree) {
			for _, d := range docs(tree[p]) {
				rules, err := ciliumRules(p, d)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rules {
					for _, e := range r.Egress {
						if len(e.ToFQDNs) > 0 {
							withFQDN = append(withFQDN, p)
						}
						for _, pr := range e.ToPorts {
							if pr.Rules != nil && len(pr.Rules.DNS) > 0 {
								withDNS = append(withDNS, p)
							}
						}
					}
				}
			}
		}
		withDNS, withFQDN = slices.Compact(withDNS), slices.Compact(withFQDN)
		if !fqdn {
			if len(withDNS)+len(withFQDN) != 0 {
				t.Errorf("without --fqdn: rules.dns in %v, toFQDNs in %v", withDNS, withFQDN)
			}
			continue
		}
		if !slices.Equal(withFQDN, []string{"data/backup-egress.yaml", "payments/worker-egress.yaml"}) {
			t.Errorf("--fqdn: toFQDNs in %v", withFQDN)
		}
		if !slices.Equal(withDNS, []string{"data/01-allow-dns.yaml", "payments/01-allow-dns.yaml"}) {
			t.Errorf("--fqdn: rules.dns in %v, want the DNS bundles of data and payments only", withDNS)
		}
	}
}
