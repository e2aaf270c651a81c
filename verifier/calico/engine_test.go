package calico

import (
	"net/netip"
	"testing"

	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/verifiertest"
)

// load decodes the documents of a YAML string and compiles them.
func load(t *testing.T, y string) *Engine { return verifiertest.Load(t, y, DecodeObject, New) }

func pod(ns string, kv ...string) verifier.Peer { return verifiertest.Pod(ns, kv...) }

func addr(ip string) verifier.Peer { return verifier.Peer{IP: netip.MustParseAddr(ip)} }

func TestSelectorLanguage(t *testing.T) {
	l := podLabels{&verifier.Peer{IsPod: true, Namespace: "shop", Labels: map[string]string{"app": "cart", "tier": "web", "version": "v1.2"}}}
	for _, tc := range []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"all()", true},
		{"app == 'cart'", true},
		{`app == "cart"`, true},
		{"app != 'cart'", false},
		{"missing != 'x'", true},
		{"app in {'cart', 'web'}", true},
		{"app not in {'cart'}", false},
		{"has(tier) && !has(missing)", true},
		{"has(missing) || tier == 'web'", true},
		{"!(app == 'cart' && tier == 'web')", false},
		{"projectcalico.org/namespace in {'data', 'shop'}", true},
		{"projectcalico.org/orchestrator == 'k8s'", true},
		{"version starts with 'v1' && version ends with '.2' && version contains '1.'", true},
		{"global()", false},
	} {
		x, err := parseSelector(tc.sel)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		if got := x.eval(l); got != tc.want {
			t.Errorf("%q = %v, want %v", tc.sel, got, tc.want)
		}
	}
	for _, bad := range []string{"app = 'cart'", "app == cart", "has(app", "app in {'a' 'b'}", "(app == 'a'", "app =="} {
		if _, err := parseSelector(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestTiersOrderPassAndEndOfTier(t *testing.T) {
	e := load(t, `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: guard}
spec: {order: 1, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: guard.metadata}
spec:
  tier: guard
  selector: projectcalico.org/namespace in {'shop', 'data'}
  types: [Egress]
  egress:
  - action: Pass
    protocol: UDP
    destination: {nets: [169.254.169.254/32], ports: [53]}
  - action: Deny
    destination: {nets: [169.254.169.254/32]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.quarantine}
spec:
  tier: security
  order: 10
  selector: quarantine == 'true'
  types: [Ingress, Egress]
  ingress: [{action: Deny}]
  egress: [{action: Deny}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.pass-rest}
spec:
  tier: security
  order: 20
  selector: all()
  types: [Ingress, Egress]
  ingress: [{action: Log}, {action: Pass}]
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  selector: all()
  types: [Ingress, Egress]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  selector: app == 'web'
  types: [Egress, Ingress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {selector: app == 'db', namespaceSelector: projectcalico.org/name == 'data', ports: [5432, '8000:8100']}
  - action: Allow
    destination: {nets: [0.0.0.0/0], notNets: [10.0.0.0/8, 169.254.0.0/16]}
  - action: Allow
    protocol: ICMP
    destination: {selector: app == 'api'}
  - action: Allow
    protocol: UDP
    destination: {nets: [169.254.169.254/32], ports: [53]}
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [0.0.0.0/0]}
    destination: {ports: [8080]}
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: staged-deny-all, namespace: staged}
spec:
  stagedAction: Set
  selector: all()
  types: [Ingress, Egress]
`)
	web := pod("shop", "app", "web")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"Allow in the default tier after Pass from earlier tiers", web, pod("data", "app", "db"), "TCP", 5432, true},
		{"port range", web, pod("data", "app", "db"), "TCP", 8100, true},
		{"outside the ports: end of the default tier drops", web, pod("data", "app", "db"), "TCP", 8101, false},
		{"selector without namespaceSelector is the policy's namespace", web, pod("data", "app", "api"), "ICMPv4", 0, false},
		{"ICMP egress admitted, the destination's default-deny drops it", web, pod("shop", "app", "api"), "ICMPv4", 0, false},
		{"ICMP rule is ICMPv4 only", web, pod("shop", "app", "api"), "ICMPv6", 0, false},
		{"nets with notNets", web, addr("203.0.113.7"), "TCP", 443, true},
		{"notNets excludes", web, addr("10.1.1.1"), "TCP", 443, false},
		{"guard tier denies metadata before the default tier allows", web, addr("169.254.169.254"), "TCP", 80, false},
		{"guard tier Pass for DNS, default tier allows", web, addr("169.254.169.254"), "UDP", 53, true},
		{"Deny in an earlier tier beats later allows", pod("shop", "app", "web", "quarantine", "true"), addr("203.0.113.7"), "TCP", 443, false},
		{"ingress from the world", addr("198.51.100.1"), web, "TCP", 8080, true},
		{"namespace default-deny: end of tier", pod("shop", "app", "other"), addr("203.0.113.7"), "TCP", 443, false},
		{"no policy selects: profile allows", pod("other", "app", "x"), pod("other2", "app", "y"), "TCP", 1, true},
		{"a staged policy is evaluated as promoted", pod("staged", "app", "x"), pod("other", "app", "y"), "TCP", 1, false},
		{"guard selects, passes on, nothing else: profile allows", pod("data", "app", "db"), addr("203.0.113.9"), "TCP", 443, true},
	})
	verifiertest.WantReason(t, e, verifier.Traffic{Src: web, Dst: addr("169.254.169.254"), Protocol: "TCP", Port: 80}, "Deny at tier guard, egress rule 1 of guard.metadata")
	verifiertest.WantReason(t, e, verifier.Traffic{Src: web, Dst: pod("data", "app", "db"), Protocol: "TCP", Port: 9}, "end of tier default")
}

func TestEndOfTierDenyWithTierDefault(t *testing.T) {
	e := load(t, `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 50}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: platform.allow-dns, namespace: shop}
spec:
  tier: platform
  selector: all()
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {selector: k8s-app == 'kube-dns', namespaceSelector: projectcalico.org/name == 'kube-system', ports: [53]}
`)
	a := pod("shop", "app", "a")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"allowed by the platform tier", a, pod("kube-system", "k8s-app", "kube-dns"), "UDP", 53, true},
		{"a tier that selects and does not match drops, although no later policy exists", a, addr("203.0.113.1"), "TCP", 443, false},
		{"ingress is untouched by an egress-only tier", addr("203.0.113.1"), a, "TCP", 443, true},
	})
}

func TestCalicoUnsupportedIsAnErrorNamingTheObject(t *testing.T) {
	verifiertest.DecodeErrors(t, DecodeObject, []verifiertest.BadDoc{
		{"serviceAccounts", `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: sa, namespace: shop}
spec:
  selector: all()
  ingress: [{action: Allow, source: {serviceAccounts: {names: [x]}}}]
`, "NetworkPolicy shop/sa: spec: json: unknown field \"serviceAccounts\""},
		{"doNotTrack", `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: raw}
spec:
  selector: all()
  doNotTrack: true
`, "GlobalNetworkPolicy raw: spec: json: unknown field \"doNotTrack\""},
	})
	verifiertest.CompileErrors(t, DecodeObject, New, []verifiertest.BadDoc{
		{"bad selector", `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: bad, namespace: shop}
spec:
  selector: app = 'x'
`, `NetworkPolicy shop/bad: spec.selector: selector "app = 'x'"`},
		{"unknown tier", `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: t.p, namespace: shop}
spec:
  tier: t
  selector: all()
`, `NetworkPolicy shop/t.p: spec.tier "t" is not defined in the tree`},
		{"source ports", `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: sp, namespace: shop}
spec:
  selector: all()
  ingress: [{action: Allow, protocol: TCP, source: {ports: [1]}}]
`, `NetworkPolicy shop/sp: spec.ingress[0]: source.ports/notPorts: flows carry no source port`},
		{"defined twice", verifiertest.CalicoDefaultDeny + "---\n" + verifiertest.CalicoDefaultDeny, "NetworkPolicy shop/default-deny: defined twice"},
	})
}

// TestDefaultTypes: without spec.types a policy applies to ingress, unless
// it has egress rules only (then to egress alone).
func TestDefaultTypes(t *testing.T) {
	e := load(t, `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: egress-only, namespace: shop}
spec:
  selector: app == 'a'
  egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: no-rules, namespace: shop}
spec:
  selector: app == 'b'
`)
	a, b := pod("shop", "app", "a"), pod("shop", "app", "b")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"egress rules only: egress isolated", a, addr("203.0.113.1"), "TCP", 443, false},
		{"egress rules only: ingress untouched", addr("203.0.113.1"), a, "TCP", 443, true},
		{"no rules: ingress isolated", addr("203.0.113.1"), b, "TCP", 443, false},
		{"no rules: egress untouched", b, addr("203.0.113.1"), "TCP", 443, true},
	})
}

// TestOrderAcrossNamespacedAndGlobal: in one tier, namespaced and global
// policies are taken together by order.
func TestOrderAcrossNamespacedAndGlobal(t *testing.T) {
	e := load(t, `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: first, namespace: shop}
spec:
  order: 1
  selector: all()
  types: [Egress]
  egress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: block}
spec:
  order: 5
  selector: all()
  types: [Egress]
  egress: [{action: Deny, protocol: TCP}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: late, namespace: shop}
spec:
  order: 10
  selector: all()
  types: [Egress]
  egress: [{action: Allow}]
`)
	a := pod("shop", "app", "a")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"order 1 Allow comes before the order 5 Deny", a, addr("203.0.113.1"), "TCP", 80, true},
		{"order 5 Deny comes before the order 10 Allow", a, addr("203.0.113.1"), "TCP", 443, false},
		{"the Deny is TCP only: the order 10 Allow admits UDP", a, addr("203.0.113.1"), "UDP", 53, true},
		{"another namespace: the Deny, then no Allow", pod("other", "app", "a"), addr("203.0.113.1"), "TCP", 80, false},
	})
}
