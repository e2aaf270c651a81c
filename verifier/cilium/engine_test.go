package cilium

import (
	"net/netip"
	"testing"

	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/verifiertest"
)

// load decodes the documents of a YAML string and compiles them.
func load(t *testing.T, y string) *Engine { return verifiertest.Load(t, y, DecodeObject, New) }

func pod(ns string, kv ...string) verifier.Peer { return verifiertest.Pod(ns, kv...) }

func world(ip string, names ...string) verifier.Peer {
	return verifier.Peer{IP: netip.MustParseAddr(ip), Entity: "world", DNSNames: names}
}

func entity(e, ip string) verifier.Peer {
	return verifier.Peer{IP: netip.MustParseAddr(ip), Entity: e, IsNode: e == "host" || e == "remote-node"}
}

const defaultDeny = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  endpointSelector: {}
  ingress: [{}]
  egress: [{}]
`

func TestDefaultDenyAndNamespaceScope(t *testing.T) {
	e := load(t, defaultDeny+`
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cart-ingress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: cart}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:app: web}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  - fromEndpoints: [{matchLabels: {k8s:app: prom, k8s:io.kubernetes.pod.namespace: monitoring}}]
    toPorts: [{ports: [{port: "9090"}]}]
  - fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: ops-team}}]
    toPorts: [{ports: [{port: "7000", endPort: 7010, protocol: ANY}]}]
`)
	cart, web := pod("shop", "app", "cart"), pod("shop", "app", "web")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"same-namespace peer on its port", web, cart, "TCP", 8080, false}, // web's own egress is default-deny
		{"peer without namespace label: only the policy's namespace", pod("other", "app", "web"), cart, "TCP", 8080, false},
		{"cross-namespace peer by namespace label", pod("monitoring", "app", "prom"), cart, "TCP", 9090, true},
		{"empty protocol means any: UDP", pod("monitoring", "app", "prom"), cart, "UDP", 9090, true},
		{"namespace-labels selector: any namespace with the label", pod("ops", "app", "x"), cart, "SCTP", 7005, true},
		{"port range upper bound", pod("ops", "app", "x"), cart, "TCP", 7010, true},
		{"outside the range", pod("ops", "app", "x"), cart, "TCP", 7011, false},
		{"ingress: [{}] admits nothing", pod("monitoring", "app", "prom"), web, "TCP", 9090, false},
		{"egress: [{}] admits nothing", cart, pod("other", "app", "db"), "TCP", 5432, false},
		{"a namespace without policies is open", pod("other", "app", "a"), pod("other", "app", "b"), "TCP", 1, true},
	})
}

func TestCiliumEntitiesCIDRAndFQDN(t *testing.T) {
	e := load(t, `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-egress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  egress:
  - toEntities: [kube-apiserver]
    toPorts: [{ports: [{port: "6443", protocol: TCP}]}]
  - toEntities: [host, remote-node]
    toPorts: [{ports: [{port: "9100", protocol: TCP}]}]
  - toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.0.0/16]}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toFQDNs: [{matchName: backups.example.com}, {matchPattern: "*.s3.amazonaws.com"}]
    toPorts: [{ports: [{port: "8443", protocol: TCP}]}]
  - toEntities: [cluster]
    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
  - toCIDR: [192.0.2.7]
    icmps: [{fields: [{type: 8}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-ingress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEntities: [world]
    toPorts: [{ports: [{port: "443"}]}]
  - fromEntities: [health]
  - fromCIDR: [10.1.0.0/16]
`)
	api := pod("shop", "app", "api")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"kube-apiserver entity", api, entity("kube-apiserver", "10.0.0.1"), "TCP", 6443, true},
		{"kube-apiserver is not world: CIDR rules miss it", api, entity("kube-apiserver", "10.0.0.1"), "TCP", 443, false},
		{"host entity", api, entity("host", "10.0.0.11"), "TCP", 9100, true},
		{"an API server on a node is a remote node too (Cilium's identity 7)", api, verifier.Peer{Entity: "kube-apiserver", IsNode: true}, "TCP", 9100, true},
		{"an API server not known to be on a node is not", api, entity("kube-apiserver", "10.0.0.1"), "TCP", 9100, false},
		{"remote-node entity", api, entity("remote-node", "10.0.0.12"), "TCP", 9100, true},
		{"node is not matched by a CIDR rule", api, entity("remote-node", "203.0.113.9"), "TCP", 443, false},
		{"CIDRSet admits world", api, world("203.0.113.9"), "TCP", 443, true},
		{"CIDRSet except", api, world("169.254.169.254"), "TCP", 443, false},
		{"CIDR rules never match pods", api, pod("other", "app", "x"), "TCP", 443, false},
		{"toFQDNs matchName, any case, final dot", api, world("198.51.100.20", "Backups.Example.com."), "TCP", 8443, true},
		{"toFQDNs matchPattern one label", api, world("198.51.100.21", "bucket.s3.amazonaws.com"), "TCP", 8443, true},
		{"toFQDNs pattern * does not cross a dot", api, world("198.51.100.22", "a.b.s3.amazonaws.com"), "TCP", 8443, false},
		{"toFQDNs without an observed name", api, world("198.51.100.23"), "TCP", 8443, false},
		{"cluster entity covers pods", api, pod("kube-system", "k8s-app", "kube-dns"), "UDP", 53, true},
		{"cluster entity covers nodes", api, entity("host", "10.0.0.11"), "UDP", 53, true},
		{"cluster entity is not world", api, world("8.8.8.8"), "UDP", 53, false},
		{"icmps echo request (type unknown: echo)", api, world("192.0.2.7"), "ICMPv4", 0, true},
		{"icmps type 8 does not admit TCP", api, world("192.0.2.7"), "TCP", 80, false},
		{"world entity ingress", world("203.0.113.5"), api, "TCP", 443, true},
		{"world entity is not a node", entity("remote-node", "10.0.0.12"), api, "TCP", 443, false},
		{"L3-only rule admits every protocol", entity("health", "10.0.0.99"), api, "ICMPv4", 0, true},
		{"fromCIDR does not match a pod", pod("shop", "app", "x"), api, "TCP", 1, false},
		{"fromCIDR matches world", world("10.1.2.3"), api, "TCP", 1, true},
	})
}

func TestCiliumDenyWinsAndDefaultDenyOff(t *testing.T) {
	e := load(t, `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: guard}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false, egress: false}
  egressDeny:
  - toCIDR: [169.254.169.254/32]
    toPorts: [{ports: [{port: "1", endPort: 52, protocol: ANY}, {port: "54", endPort: 65535, protocol: ANY}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-ssh}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop}}
  ingressDeny:
  - fromEntities: [all]
    toPorts: [{ports: [{port: "22"}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-telnet}
spec:
  endpointSelector: {matchLabels: {app: lonely}}
  ingressDeny: [{toPorts: [{ports: [{port: "23", protocol: TCP}]}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all, namespace: shop}
spec:
  endpointSelector: {}
  egress: [{toEntities: [all]}]
  ingress: [{fromEntities: [all]}]
`)
	a, b := pod("shop", "app", "a"), pod("other", "app", "b")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"deny beats an allow-all", a, world("169.254.169.254"), "TCP", 80, false},
		{"the guard's DNS gap", a, world("169.254.169.254"), "UDP", 53, true},
		{"enableDefaultDeny false leaves other egress open", b, world("203.0.113.1"), "TCP", 80, true},
		{"deny applies where no allow exists", b, world("169.254.169.254"), "TCP", 80, false},
		{"ANY in a deny is TCP, UDP, SCTP, not ICMP", b, world("169.254.169.254"), "ICMPv4", 0, true},
		{"a deny-only policy puts its subject in default-deny", b, pod("other", "app", "lonely"), "TCP", 80, false},
		{"outside the deny-only policy's ports nothing else admits", b, pod("other", "app", "lonely"), "TCP", 23, false},
		{"ingressDeny port", pod("shop", "app", "c"), a, "TCP", 22, false},
	})
	verifiertest.WantReason(t, e, verifier.Traffic{Src: a, Dst: world("169.254.169.254"), Protocol: "TCP", Port: 80}, "denied by a deny rule of guard")
}

func TestClusterwidePeerSelectors(t *testing.T) {
	e := load(t, `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: db}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: api}}]
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: "9187", protocol: TCP}]}]
  - fromEndpoints: [{matchLabels: {reserved:host: ""}}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
`)
	db := pod("data", "app", "db")
	verifiertest.Run(t, e, []verifiertest.Probe{
		{"clusterwide policy selects pods of every namespace", pod("x", "app", "api"), pod("y", "app", "db"), "TCP", 5432, true},
		{"peer without namespace: any namespace's pods", pod("z", "app", "api"), db, "UDP", 1, true},
		{"empty selector: every pod, not world", world("203.0.113.1"), db, "TCP", 9187, false},
		{"empty selector: every pod", pod("q", "app", "x"), db, "TCP", 9187, true},
		{"reserved label selector", entity("host", "10.0.0.1"), db, "TCP", 5432, true},
	})
}

func TestUnsupportedIsAnErrorNamingTheObject(t *testing.T) {
	verifiertest.DecodeErrors(t, DecodeObject, []verifiertest.BadDoc{
		{"L7 HTTP", `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {}
  ingress: [{toPorts: [{ports: [{port: "80"}], rules: {http: [{method: GET}]}}]}]
`, "CiliumNetworkPolicy shop/web: spec: json: unknown field \"http\""},
		{"toServices", `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: svc, namespace: shop}
spec:
  endpointSelector: {}
  egress: [{toServices: [{k8sService: {serviceName: x}}]}]
`, "CiliumNetworkPolicy shop/svc: spec: json: unknown field \"toServices\""},
		{"nodeSelector", `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: hostfw}
spec:
  nodeSelector: {}
`, "CiliumClusterwideNetworkPolicy hostfw: spec: json: unknown field \"nodeSelector\""},
	})
	verifiertest.CompileErrors(t, DecodeObject, New, []verifiertest.BadDoc{
		{"unknown entity", `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bad, namespace: shop}
spec:
  endpointSelector: {}
  egress: [{toEntities: [everything]}]
`, `CiliumNetworkPolicy shop/bad: egress[0]: toEntities[0]: unknown entity "everything"`},
		{"defined twice", defaultDeny + "---\n" + defaultDeny, "CiliumNetworkPolicy shop/default-deny: defined twice"},
	})
}
