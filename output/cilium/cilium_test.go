package cilium

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

func tcp(p uint16) policy.Port { return policy.Port{Proto: record.TCP, Port: p} }

func cidr(s string, except ...string) policy.CIDR {
	c := policy.CIDR{Prefix: netip.MustParsePrefix(s)}
	for _, e := range except {
		c.Except = append(c.Except, netip.MustParsePrefix(e))
	}
	return c
}

func pods(ns string, kv ...string) policy.Peer {
	sel := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		sel[kv[i]] = kv[i+1]
	}
	return policy.Peer{Pods: &policy.PodPeer{Namespace: ns, Selector: sel}}
}

// TestBuild checks how one model rule becomes Cilium rules: one rule per
// peer kind (Cilium rejects mixing them), ICMP apart from L4 ports, the
// entity mapping, namespaces on cross-namespace peers only, excepts kept.
func TestBuild(t *testing.T) {
	guard, err := synth.NewGuard("generic", nil)
	if err != nil {
		t.Fatal(err)
	}
	stripe := policy.Peer{CIDRs: []policy.CIDR{cidr("198.51.100.10/32")}, Entity: record.EntityWorld, Names: []string{"api.stripe.com"}}
	tests := []struct {
		name    string
		fqdn    bool
		rule    policy.Rule
		want    []EgressRule
		noteHas string
	}{
		{
			name: "same and other namespace pods",
			rule: policy.Rule{Peers: []policy.Peer{pods("", "app", "cart"), pods("data", "app", "redis")}, Ports: []policy.Port{tcp(8080)}},
			want: []EgressRule{{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "cart"}}, {MatchLabels: map[string]string{"k8s:app": "redis", NamespaceKey: "data"}}},
				ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "8080", Protocol: "TCP"}}}}}},
		},
		{
			name: "kinds split: pods, nodes, API server, CIDR",
			rule: policy.Rule{Peers: []policy.Peer{pods("", "app", "a"), {Entity: record.EntityRemoteNode, CIDRs: []policy.CIDR{cidr("10.0.0.12/32")}},
				{Entity: record.EntityKubeAPIServer}, {Entity: record.EntityHost}, {Entity: record.EntityWorld, CIDRs: []policy.CIDR{cidr("10.10.0.0/16", "10.10.1.0/24")}}},
				Ports: []policy.Port{tcp(443)}},
			want: []EgressRule{
				{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "a"}}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}},
				{ToEntities: []string{"host", "kube-apiserver", "remote-node"}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}},
				{ToCIDRSet: []CIDRRule{{CIDR: "10.10.0.0/16", Except: []string{"10.10.1.0/24"}}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}},
			},
		},
		{
			name: "ICMP apart from ports",
			rule: policy.Rule{Peers: []policy.Peer{pods("data", "app", "redis")}, Ports: []policy.Port{{Proto: record.ICMPv4}, {Proto: record.ICMPv6}, tcp(6379)}},
			want: []EgressRule{
				{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "redis", NamespaceKey: "data"}}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "6379", Protocol: "TCP"}}}}},
				{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "redis", NamespaceKey: "data"}}}, ICMPs: []ICMPRule{{Fields: []ICMPField{{Family: "IPv4", Type: "EchoRequest"}, {Family: "IPv6", Type: "EchoRequest"}}}}},
			},
			noteHas: "echo requests",
		},
		{
			name: "external IP without --fqdn: its /32",
			rule: policy.Rule{Peers: []policy.Peer{stripe}, Ports: []policy.Port{tcp(443)}},
			want: []EgressRule{{ToCIDRSet: []CIDRRule{{CIDR: "198.51.100.10/32"}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}}},
		},
		{
			name: "external IP with --fqdn: its names, apart from the pods",
			fqdn: true,
			rule: policy.Rule{Peers: []policy.Peer{stripe, pods("", "app", "a")}, Ports: []policy.Port{tcp(443)}},
			want: []EgressRule{
				{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "a"}}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}},
				{ToFQDNs: []FQDNSelector{{MatchName: "api.stripe.com"}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "443", Protocol: "TCP"}}}}},
			},
		},
		{
			name: "a guarded address (opt-in) stays a CIDR with --fqdn",
			fqdn: true,
			rule: policy.Rule{Peers: []policy.Peer{{CIDRs: []policy.CIDR{cidr("169.254.169.254/32")}, Entity: record.EntityWorld, Names: []string{"metadata.google.internal"}}}, Ports: []policy.Port{tcp(80)}},
			want: []EgressRule{{ToCIDRSet: []CIDRRule{{CIDR: "169.254.169.254/32"}}, ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "80", Protocol: "TCP"}}}}}},
		},
		{
			name:    "health is never a peer",
			rule:    policy.Rule{Peers: []policy.Peer{{Entity: record.EntityHealth}}, Ports: []policy.Port{tcp(4240)}},
			noteHas: "health",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Formatter{FQDN: tt.fqdn}
			got, notes := f.egress(tt.rule, &guard, false, false)
			if !equalJSON(t, got, tt.want) {
				t.Errorf("got  %s\nwant %s", js(t, got), js(t, tt.want))
			}
			if tt.noteHas != "" && !strings.Contains(strings.Join(notes, ";"), tt.noteHas) {
				t.Errorf("notes %v, want one about %q", notes, tt.noteHas)
			}
			p := &policy.Policy{Name: "w-egress", Namespace: "shop", Kind: policy.KindEgress, Subject: map[string]string{"app": "w"}, Egress: true, EgressRules: []policy.Rule{tt.rule}}
			obj, _ := f.Build(p, &guard, false)
			if err := Validate(obj); err != nil {
				t.Errorf("invalid: %v", err)
			}
		})
	}
}

// TestBuildPolicies checks whole objects: the default-deny shape, the
// world entity for a public entrypoint, many ports split at Cilium's limit,
// and the DNS bundle (toCIDR for a link-local resolver; rules.dns only
// with the DNS proxy).
func TestBuildPolicies(t *testing.T) {
	guard, _ := synth.NewGuard("generic", nil)
	dd, _ := Formatter{}.Build(&policy.Policy{Name: "default-deny", Namespace: "shop", Kind: policy.KindDefaultDeny, Ingress: true, Egress: true}, &guard, false)
	if js(t, dd.Spec) != `{"endpointSelector":{},"ingress":[{}],"egress":[{}]}` {
		t.Errorf("default-deny spec %s", js(t, dd.Spec))
	}
	world := policy.Peer{Entity: record.EntityWorld, CIDRs: []policy.CIDR{cidr("0.0.0.0/0", "169.254.0.0/16"), cidr("::/0", "fe80::/10")}}
	var many []policy.Port
	for p := range uint16(45) {
		many = append(many, tcp(8000+p))
	}
	in, _ := Formatter{}.Build(&policy.Policy{Name: "web-ingress", Namespace: "shop", Kind: policy.KindIngress, Subject: map[string]string{"app": "web"}, Ingress: true,
		IngressRules: []policy.Rule{{Peers: []policy.Peer{world}, Ports: many}}}, &guard, false)
	if err := Validate(in); err != nil {
		t.Fatal(err)
	}
	if r := in.Spec.Ingress; len(r) != 1 || !slices.Equal(r[0].FromEntities, []string{"world"}) || len(r[0].ToPorts) != 2 || len(r[0].ToPorts[0].Ports) != 40 || len(r[0].ToPorts[1].Ports) != 5 {
		t.Errorf("public entrypoint rules %s", js(t, r))
	}
	dnsPolicy := &policy.Policy{Name: "allow-dns", Namespace: "shop", Kind: policy.KindDNS, Egress: true, EgressRules: []policy.Rule{
		{Peers: []policy.Peer{pods("kube-system", "k8s-app", "kube-dns")}, Ports: []policy.Port{tcp(53), {Proto: record.UDP, Port: 53}}},
		{Peers: []policy.Peer{{Entity: record.EntityWorld, CIDRs: []policy.CIDR{cidr("169.254.20.10/32")}}}, Ports: []policy.Port{tcp(53), {Proto: record.UDP, Port: 53}}},
	}}
	for _, proxy := range []bool{false, true} {
		obj, _ := Formatter{FQDN: true}.Build(dnsPolicy, &guard, proxy)
		if err := Validate(obj); err != nil {
			t.Fatal(err)
		}
		e := obj.Spec.Egress
		if len(e) != 2 || e[0].ToEndpoints[0].MatchLabels[NamespaceKey] != "kube-system" || e[0].ToEndpoints[0].MatchLabels["k8s:k8s-app"] != "kube-dns" ||
			!slices.Equal(e[1].ToCIDR, []string{"169.254.20.10/32"}) {
			t.Errorf("DNS rules %s", js(t, e))
		}
		for _, r := range e {
			if has := r.ToPorts[0].Rules != nil; has != proxy {
				t.Errorf("dnsProxy=%v: rules.dns present=%v", proxy, has)
			}
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.stripe.com", "api.stripe.com", true},
		{"*.stripe.com", "API.Stripe.com.", true},
		{"*.stripe.com", "stripe.com", false},
		{"*.stripe.com", "a.b.stripe.com", false},
		{"*", "anything.example", true},
		{"api-*.example.com", "api-eu.example.com", true},
		{"api-*.example.com", "web.example.com", false},
		{"s3.*.amazonaws.com", "s3.eu-west-1.amazonaws.com", true},
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestValidateRejects: what Cilium's sanitizer would refuse, Validate
// refuses too.
func TestValidateRejects(t *testing.T) {
	ok := func() *Object {
		return &Object{ObjectHead: output.ObjectHead{APIVersion: APIVersion, Kind: KindCiliumNetworkPolicy, Metadata: output.Metadata{Name: "x", Namespace: "shop"}},
			Spec: &Rule{Egress: []EgressRule{{ToEndpoints: []Selector{{MatchLabels: map[string]string{"k8s:app": "a"}}}}}}}
	}
	if err := Validate(ok()); err != nil {
		t.Fatalf("valid object rejected: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(o *Object)
		want   string
	}{
		{"two L3 kinds", func(o *Object) { o.Spec.Egress[0].ToCIDR = []string{"10.0.0.0/8"} }, "combining"},
		{"toFQDNs with toEndpoints", func(o *Object) { o.Spec.Egress[0].ToFQDNs = []FQDNSelector{{MatchName: "a.b"}} }, "combining"},
		{"icmps with toPorts", func(o *Object) {
			o.Spec.Egress[0].ToPorts = []PortRule{{Ports: []PortProtocol{{Port: "80", Protocol: "TCP"}}}}
			o.Spec.Egress[0].ICMPs = []ICMPRule{{Fields: []ICMPField{{Family: "IPv4", Type: "8"}}}}
		}, "ICMPs"},
		{"DNS rule on ingress", func(o *Object) {
			o.Spec.Ingress = []IngressRule{{ToPorts: []PortRule{{Ports: []PortProtocol{{Port: "53", Protocol: "UDP"}}, Rules: &L7Rules{DNS: []FQDNSelector{{MatchPattern: "*"}}}}}}}
		}, "ingress"},
		{"DNS rule with a range", func(o *Object) {
			o.Spec.Egress[0].ToPorts = []PortRule{{Ports: []PortProtocol{{Port: "53", EndPort: 54, Protocol: "UDP"}}, Rules: &L7Rules{DNS: []FQDNSelector{{MatchPattern: "*"}}}}}
		}, "range"},
		{"unknown entity", func(o *Object) { o.Spec.Egress = []EgressRule{{ToEntities: []string{"nodes"}}} }, "nodes"},
		{"except outside", func(o *Object) {
			o.Spec.Egress = []EgressRule{{ToCIDRSet: []CIDRRule{{CIDR: "10.0.0.0/8", Except: []string{"11.0.0.0/16"}}}}}
		}, "strictly inside"},
		{"no section", func(o *Object) { o.Spec.Egress = nil }, "at least one"},
		{"bad label key", func(o *Object) { o.Spec.EndpointSelector.MatchLabels = map[string]string{"bad key": "x"} }, "bad key"},
		{"41 ports", func(o *Object) {
			var ps []PortProtocol
			for range 41 {
				ps = append(ps, PortProtocol{Port: "1", Protocol: "TCP"})
			}
			o.Spec.Egress[0].ToPorts = []PortRule{{Ports: ps}}
		}, "Too many"},
		{"CCNP with a namespace", func(o *Object) { o.Kind = KindCiliumClusterwideNetworkPolicy }, "cluster-scoped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok()
			tt.mutate(o)
			err := Validate(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
