package cilium

import (
	"testing"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// scenarioEndpoint is a probe peer as Cilium sees it: a pod with its full
// labels and its namespace's labels, a reserved identity for nodes and the
// API server, a CIDR identity (world) for an address.
func scenarioEndpoint(t *testing.T, spec scenario.Spec, p scenario.Peer) endpoint {
	t.Helper()
	if p.Pod != "" {
		pd, ok := spec.Pod(p.Namespace, p.Pod)
		if !ok {
			t.Fatalf("unknown pod %s/%s", p.Namespace, p.Pod)
		}
		return endpoint{ns: pd.Namespace, labels: pd.Labels, nsLabels: spec.NamespaceLabels(p.Namespace)}
	}
	switch p.Entity {
	case scenario.EntityHost:
		return endpoint{reserved: 1}
	case scenario.EntityRemoteNode:
		return endpoint{reserved: 6}
	case scenario.EntityKubeAPIServer:
		return endpoint{reserved: 7}
	}
	return addr(p.IP)
}

// TestScenarioOnCilium is the user's check, on Cilium's engine: the cilium
// tree generated from the sample flows (namespace policies and the
// metadata guard, as Cilium parses them) admits every observed request —
// ICMP included, which this flavor can express — and refuses everything
// else the probes list (unobserved pairs, wrong ports and protocols,
// look-alike labels in another namespace, the metadata address, unobserved
// external IPs).
func TestScenarioOnCilium(t *testing.T) {
	g := learn(t, sampleGlob)
	_, tree := render(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	rules := allRules(t, tree)
	spec := scenario.Cluster()
	probes := scenario.Expected()
	for _, p := range scenario.Inexpressible() {
		p.Allowed = true // ICMP: icmps rules in this flavor
		probes = append(probes, p)
	}
	if len(probes) < 50 {
		t.Fatalf("only %d probes: the scenario shrank", len(probes))
	}
	var eps []endpoint
	for _, p := range probes {
		eps = append(eps, scenarioEndpoint(t, spec, p.Src), scenarioEndpoint(t, spec, p.Dst))
	}
	e := newEngine(t, rules, eps)
	for _, p := range probes {
		t.Run(p.Name, func(t *testing.T) {
			v := e.verdict(t, scenarioEndpoint(t, spec, p.Src), scenarioEndpoint(t, spec, p.Dst), p.Proto, uint16(p.Port))
			if v.Allowed() != p.Allowed {
				t.Errorf("%s: Cilium says %v, want allowed=%v (%s)", p.Name, v, p.Allowed, p.Why)
			}
		})
	}
}
