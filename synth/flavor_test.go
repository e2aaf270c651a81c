package synth

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// flavorGraph: shop/web pings shop/api, calls a node port and the API
// server; payments/fraud calls the metadata address.
func flavorGraph() *learner.Graph {
	l := learner.New(learner.Options{})
	ep := func(ns, pod, ip string, port uint16, labels map[string]string) record.Endpoint {
		return record.Endpoint{Namespace: ns, Pod: pod, IP: netip.MustParseAddr(ip), Port: port, Labels: labels}
	}
	web := ep("shop", "web-0", "10.0.1.1", 0, map[string]string{"app": "web"})
	api := ep("shop", "api-0", "10.0.1.2", 8080, map[string]string{"app": "api"})
	fraud := ep("payments", "fraud-0", "10.0.2.1", 0, map[string]string{"app": "fraud"})
	node := record.Endpoint{Entity: record.EntityRemoteNode, IP: netip.MustParseAddr("10.0.0.12"), Port: 9100}
	apiserver := record.Endpoint{Entity: record.EntityKubeAPIServer, IP: netip.MustParseAddr("10.0.0.1"), Port: 6443}
	md := record.Endpoint{Entity: record.EntityWorld, IP: netip.MustParseAddr("169.254.169.254"), Port: 80}
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Minute)
		for _, r := range []record.Record{
			{Src: web, Dst: api, Proto: record.ICMPv4, ICMPType: 8},
			{Src: web, Dst: api, Proto: record.TCP},
			{Src: web, Dst: node, Proto: record.TCP},
			{Src: web, Dst: apiserver, Proto: record.TCP},
			{Src: fraud, Dst: md, Proto: record.TCP},
		} {
			r.Time, r.Verdict, r.Direction = at, record.Forwarded, record.Request
			l.Add(&r)
		}
	}
	return l.Graph()
}

// TestFlavorExpressible: the flavor, not the CNI, decides what the
// evidence calls admitted; without a flavor the older CNI-derived
// behaviour stays.
func TestFlavorExpressible(t *testing.T) {
	tests := []struct {
		name, cni, flavor string
		// admitted: ICMP, node, API server
		icmp, node, apiserver bool
	}{
		{name: "k8s on kubernetes", cni: CNIKubernetes, flavor: FlavorK8s, icmp: false, node: true, apiserver: true},
		{name: "k8s on cilium", cni: CNICilium, flavor: FlavorK8s, icmp: false, node: false, apiserver: false},
		{name: "cilium flavor", cni: CNICilium, flavor: FlavorCilium, icmp: true, node: true, apiserver: true},
		{name: "calico flavor", cni: CNICalico, flavor: FlavorCalico, icmp: true, node: true, apiserver: true},
		{name: "no flavor on cilium (older behaviour)", cni: CNICilium, icmp: true, node: false, apiserver: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Synthesize(flavorGraph(), Options{CNI: tt.cni, Flavor: tt.flavor})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, ns := range set.Namespaces {
				for _, ev := range ns.Evidence {
					if ev.Workload != "web" || ev.Direction != "egress" {
						continue
					}
					switch {
					case ev.Proto == "ICMPv4":
						got["icmp"] = ev.Admitted
					case strings.HasPrefix(ev.Peer, "remote-node"):
						got["node"] = ev.Admitted
					case strings.HasPrefix(ev.Peer, "kube-apiserver"):
						got["apiserver"] = ev.Admitted
					}
				}
			}
			if got["icmp"] != tt.icmp || got["node"] != tt.node || got["apiserver"] != tt.apiserver {
				t.Errorf("admitted %v, want icmp=%v node=%v apiserver=%v", got, tt.icmp, tt.node, tt.apiserver)
			}
			cniFindings := 0
			for _, f := range set.Findings {
				if f.Kind == policy.FindCNI {
					cniFindings++
				}
			}
			if want := tt.cni == CNICilium && tt.flavor != FlavorCilium; (cniFindings > 0) != want {
				t.Errorf("%d cni-semantics findings, want some: %v", cniFindings, want)
			}
		})
	}
}

// TestOptInSelectors: the guard learns the selector of each opted-in
// workload (for cluster-wide guards); one never observed is reported.
func TestOptInSelectors(t *testing.T) {
	set, err := Synthesize(flavorGraph(), Options{MetadataAllow: []policy.OptIn{
		{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
		{Namespace: "payments", Workload: "ghost", Address: "169.254.169.254"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sel := set.Guard.OptInSelectors["payments/fraud"]; sel["app"] != "fraud" || len(sel) != 1 {
		t.Errorf("fraud selector %v", sel)
	}
	if _, ok := set.Guard.OptInSelectors["payments/ghost"]; ok {
		t.Error("a selector for a workload never observed")
	}
	found := false
	for _, f := range set.Findings {
		if f.Kind == policy.FindSelector && f.Workload == "ghost" && strings.Contains(f.Message, "never observed") {
			found = true
		}
	}
	if !found {
		t.Errorf("the unobserved opt-in is not reported: %+v", set.Findings)
	}
}

// TestForFlavor: the CNI semantics each flavor implies, and the one
// combination refused.
func TestForFlavor(t *testing.T) {
	cases := []struct {
		flavor, cni, preset string
		wantCNI, wantFlavor string
		wantErr             bool
	}{
		{flavor: FlavorK8s, cni: "", wantCNI: "", wantFlavor: FlavorK8s},
		{flavor: FlavorK8s, cni: CNICilium, wantCNI: CNICilium, wantFlavor: FlavorK8s},
		{flavor: FlavorCilium, cni: "", wantCNI: CNICilium, wantFlavor: FlavorCilium},
		{flavor: FlavorCilium, cni: CNIKubernetes, wantCNI: CNICilium, wantFlavor: FlavorCilium},
		{flavor: FlavorCilium, cni: CNICilium, wantCNI: CNICilium, wantFlavor: FlavorCilium},
		{flavor: FlavorCilium, cni: CNICalico, wantErr: true},
		{flavor: FlavorCalico, cni: CNIKubernetes, wantCNI: CNICalico, wantFlavor: FlavorCalico},
		{flavor: FlavorCalico, cni: "", wantCNI: "", wantFlavor: FlavorCalico},
		{flavor: FlavorCalico, cni: CNICilium, wantCNI: CNICilium, wantFlavor: FlavorCalico},
		{flavor: FlavorCalico, cni: CNICalico, preset: FlavorK8s, wantCNI: CNICalico, wantFlavor: FlavorK8s},
	}
	for _, c := range cases {
		o, err := ForFlavor(Options{CNI: c.cni, Flavor: c.preset}, c.flavor)
		if c.wantErr {
			if err == nil || !strings.Contains(err.Error(), "--cni "+c.cni) {
				t.Errorf("%s with --cni %q: err %v, want one naming --cni", c.flavor, c.cni, err)
			}
			continue
		}
		if err != nil || o.CNI != c.wantCNI || o.Flavor != c.wantFlavor {
			t.Errorf("%s with --cni %q: got CNI %q flavor %q err %v, want %q %q", c.flavor, c.cni, o.CNI, o.Flavor, err, c.wantCNI, c.wantFlavor)
		}
	}
}
