package cilium

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/policy/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/output"
	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
	ciliumeval "github.com/flowfence/flowfence/verifier/cilium"
)

// reservedEntity names a reserved identity as flowfence's entity.
func reservedEntity(id identity.NumericIdentity) (string, bool) {
	switch id {
	case identity.ReservedIdentityHost:
		return "host", true
	case identity.ReservedIdentityHealth:
		return "health", true
	case identity.ReservedIdentityRemoteNode:
		return "remote-node", true
	case identity.ReservedIdentityKubeAPIServer:
		return "kube-apiserver", true
	}
	return "", false
}

// peerOf is the endpoint as flowfence's Cilium engine sees it.
func peerOf(t *testing.T, e endpoint) verifier.Peer {
	t.Helper()
	switch {
	case e.reserved != 0:
		ent, ok := reservedEntity(e.reserved)
		if !ok {
			t.Fatalf("no entity for reserved identity %d", e.reserved)
		}
		// Cilium's kube-apiserver identity is a node's (remote-node too)
		return verifier.Peer{Entity: ent, IsNode: ent == "host" || ent == "remote-node" || ent == "kube-apiserver"}
	case e.addr != "":
		return verifier.Peer{IP: netip.MustParseAddr(e.addr), Entity: "world"}
	}
	return verifier.Peer{IsPod: true, Namespace: e.ns, Labels: e.labels, NamespaceLabels: e.nsLabels}
}

// flowfenceEngine decodes every Cilium policy of the files with flowfence's
// decoder and compiles them with its engine.
func flowfenceEngine(t *testing.T, files map[string][]byte) *ciliumeval.Engine {
	t.Helper()
	var objs []*ciliumeval.Object
	for _, p := range sortedPaths(files) {
		for _, d := range docs(files[p]) {
			o, err := ciliumeval.DecodeObject(d)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			objs = append(objs, o)
		}
	}
	e, err := ciliumeval.New(objs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sortedPaths(files map[string][]byte) []string {
	return policyFiles(output.Tree(files))
}

type l4 struct {
	proto string
	port  uint16
}

// agree replays every (src, dst, proto/port) of the cross product through
// Cilium's engine and flowfence's, and fails on every disagreement. It
// returns the number of probes.
func agree(t *testing.T, files map[string][]byte, eps []endpoint, ports []l4) int {
	t.Helper()
	cil := newEngine(t, allRules(t, output.Tree(files)), eps)
	ff := flowfenceEngine(t, files)
	n, bad := 0, 0
	for _, src := range eps {
		for _, dst := range eps {
			if src.key() == dst.key() || src.ns == "" && dst.ns == "" {
				continue // policy applies to pods: at least one end is one
			}
			for _, pp := range ports {
				n++
				// only endpoints (pods) enforce policy: LookupFlow also
				// computes a policy for a reserved or CIDR identity that a
				// clusterwide `endpointSelector: {}` selects, which no
				// datapath applies
				v := cil.verdict(t, src, dst, pp.proto, pp.port)
				want := (src.ns == "" || v.Egress == types.DecisionAllowed) && (dst.ns == "" || v.Ingress == types.DecisionAllowed)
				port := int32(pp.port)
				if pp.proto == "ICMPv4" {
					port = 0 // as in a flow graph: no type, an echo request
				}
				res := ff.Evaluate(verifier.Traffic{Src: peerOf(t, src), Dst: peerOf(t, dst), Protocol: corev1.Protocol(pp.proto), Port: port})
				if got := res.Verdict == verifier.Allowed; got != want {
					bad++
					if bad <= 20 {
						t.Errorf("%s -> %s %s/%d: Cilium allowed=%v, flowfence %v (%s)", src.key(), dst.key(), pp.proto, pp.port, want, got, res.Reason)
					}
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d probes disagree", bad, n)
	}
	t.Logf("%d probes agree", n-bad)
	return n
}

// TestFlowfenceEngineAgreesOnGeneratedTree: the cilium tree generated from
// the sample (namespace policies and the metadata guard) gives the same
// verdict in flowfence's engine as in Cilium's on every pair of the
// scenario's peers (pods, nodes, API server, world addresses) and every
// port and protocol the scenario uses.
func TestFlowfenceEngineAgreesOnGeneratedTree(t *testing.T) {
	g := learn(t, sampleGlob)
	_, tree := render(t, g, ciliumout.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	files := map[string][]byte{}
	for _, p := range policyFiles(tree) {
		files[p] = tree[p]
	}
	spec := scenario.Cluster()
	seen := map[string]bool{}
	var eps []endpoint
	portSet := map[l4]bool{}
	probes := append(scenario.Expected(), scenario.Inexpressible()...)
	for _, p := range probes {
		for _, sp := range []scenario.Peer{p.Src, p.Dst} {
			ep := scenarioEndpoint(t, spec, sp)
			if !seen[ep.key()] {
				seen[ep.key()] = true
				eps = append(eps, ep)
			}
		}
		portSet[l4{p.Proto, uint16(p.Port)}] = true
	}
	var ports []l4
	for pp := range portSet {
		if pp.proto == "ICMPv4" {
			pp.port = 8
		}
		ports = append(ports, pp)
	}
	sortL4(ports)
	if n := agree(t, files, eps, ports); n < 1000 {
		t.Errorf("only %d probes: the scenario shrank", n)
	}
}

func sortL4(ps []l4) {
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if fmt.Sprint(ps[j]) < fmt.Sprint(ps[i]) {
				ps[i], ps[j] = ps[j], ps[i]
			}
		}
	}
}

// TestFlowfenceEngineAgreesOnHandWritten: hand-written policies with the
// semantics flowfence's generator does not exercise — deny rules, entities,
// CIDRSet with except, port ranges and ANY, enableDefaultDeny, namespace
// label selectors, clusterwide peers — give the same verdicts in both
// engines on every probe.
func TestFlowfenceEngineAgreesOnHandWritten(t *testing.T) {
	files := map[string][]byte{
		"shop/web.yaml": []byte(`apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEntities: [world]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: ops}}]
    toPorts: [{ports: [{port: "8000", endPort: 8090, protocol: ANY}]}]
  - fromEntities: [health, remote-node]
  egress:
  - toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.0.0/16]}]
    toPorts: [{ports: [{port: "443", protocol: TCP}, {port: "53", protocol: UDP}]}]
  - toEntities: [kube-apiserver]
    toPorts: [{ports: [{port: "443"}]}]
  - toEndpoints: [{matchLabels: {app: db}}]
  - toCIDR: [10.9.0.0/16]
    icmps: [{fields: [{type: EchoRequest}]}]
  egressDeny:
  - toCIDR: [203.0.113.66/32]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
`),
		"shop/db.yaml": []byte(`apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: web, role: canary}}]
`),
		"_cluster/guard.yaml": []byte(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: guard}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false, egress: false}
  egressDeny:
  - toCIDR: [169.254.169.254/32]
    toPorts: [{ports: [{port: "1", endPort: 52, protocol: ANY}, {port: "54", endPort: 65535, protocol: ANY}]}]
  ingressDeny:
  - fromEntities: [cluster]
    toPorts: [{ports: [{port: "9999", protocol: TCP}]}]
`),
		"_cluster/ops.yaml": []byte(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ops}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: ops}}
  egress:
  - toEndpoints: [{matchLabels: {app: web}}]
  - toEntities: [cluster]
    toPorts: [{ports: [{port: "53", protocol: ANY}]}]
  ingress:
  - {}
`),
	}
	shopNS := map[string]string{"kubernetes.io/metadata.name": "shop", "team": "shop"}
	opsNS := map[string]string{"kubernetes.io/metadata.name": "ops", "team": "ops"}
	otherNS := map[string]string{"kubernetes.io/metadata.name": "other"}
	eps := []endpoint{
		{ns: "shop", labels: map[string]string{"app": "web"}, nsLabels: shopNS},
		{ns: "shop", labels: map[string]string{"app": "web", "role": "canary"}, nsLabels: shopNS},
		{ns: "shop", labels: map[string]string{"app": "db"}, nsLabels: shopNS},
		{ns: "ops", labels: map[string]string{"app": "tool"}, nsLabels: opsNS},
		{ns: "ops", labels: map[string]string{"app": "web"}, nsLabels: opsNS},
		{ns: "other", labels: map[string]string{"app": "db"}, nsLabels: otherNS},
		addr("203.0.113.66"), addr("203.0.113.7"), addr("10.1.2.3"), addr("10.9.1.1"), addr("169.254.169.254"), addr("8.8.8.8"),
		{reserved: 1}, {reserved: 4}, {reserved: 6}, {reserved: 7},
	}
	ports := []l4{{"TCP", 443}, {"TCP", 5432}, {"TCP", 8000}, {"UDP", 8090}, {"SCTP", 8091}, {"UDP", 53}, {"TCP", 53}, {"TCP", 80}, {"TCP", 9999}, {"ICMPv4", 8}}
	agree(t, files, eps, ports)
}
