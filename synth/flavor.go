package synth

import (
	"fmt"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// Policy flavors (the --format values) synth needs to know about: what one
// flavor can express, another cannot.
const (
	FlavorK8s    = "k8s"
	FlavorCilium = "cilium"
	FlavorCalico = "calico"
)

// ForFlavor returns o for writing the given flavor: o.Flavor set (unless
// already set) and the CNI semantics the flavor implies. The cilium flavor
// is enforced by Cilium: unset or kubernetes semantics become cilium, and
// calico is an error. The calico flavor is enforced by Calico: kubernetes
// semantics become calico (ICMP is expressible); unset stays unset
// (Synthesize's kubernetes default).
func ForFlavor(o Options, flavor string) (Options, error) {
	if o.Flavor == "" {
		o.Flavor = flavor
	}
	switch flavor {
	case FlavorCilium:
		switch o.CNI {
		case "", CNIKubernetes:
			o.CNI = CNICilium
		case CNICilium:
		default:
			return o, fmt.Errorf("--cni %s: the cilium flavor is enforced by Cilium (use --cni cilium or leave it unset)", o.CNI)
		}
	case FlavorCalico:
		if o.CNI == CNIKubernetes {
			o.CNI = CNICalico
		}
	}
	return o, nil
}

// icmpExpressible reports whether the flavor can write ICMP rules: Cilium
// (icmps) and Calico can, NetworkPolicy cannot. Without a flavor, the CNI
// decides (the behaviour before flavors were known to synth).
func (s *synth) icmpExpressible() bool {
	switch s.opts.Flavor {
	case FlavorK8s:
		return false
	case FlavorCilium, FlavorCalico:
		return true
	}
	return s.opts.CNI == CNICilium || s.opts.CNI == CNICalico
}

// ciliumEntities reports whether node and API-server peers are written as
// Cilium entities (host, remote-node, kube-apiserver).
func (s *synth) ciliumEntities() bool { return s.opts.Flavor == FlavorCilium }

// needsEntities reports whether ipBlocks fail to match nodes and the API
// server where the policies are enforced: on Cilium, unless the flavor
// writes entities.
func (s *synth) needsEntities() bool { return s.opts.CNI == CNICilium && !s.ciliumEntities() }

// optInSelectors records, for every named metadata opt-in, the labels that
// select the workload's pods, so that cluster-wide guards (the Cilium
// CiliumClusterwideNetworkPolicy, the AdminNetworkPolicy of --guardrails)
// can exclude exactly those pods. A workload that was never observed, or
// whose selector also matches another workload's pods, gets none (the guard
// then keeps blocking it: fail closed) and is reported.
func (s *synth) optInSelectors() {
	g := &s.set.Guard
	for _, o := range g.OptIns {
		key := o.Namespace + "/" + o.Workload
		if _, done := g.OptInSelectors[key]; done {
			continue
		}
		n := s.node("pod:" + key)
		var msg string
		switch {
		case n == nil || n.Kind != learner.NodeWorkload:
			msg = "named in metadata.allow but never observed: a cluster-wide metadata guard (cilium flavor, --guardrails) cannot exclude it and keeps blocking it"
		case s.sel[n.ID] == nil:
			msg = "named in metadata.allow but its pods carry no labels: a cluster-wide metadata guard (cilium flavor, --guardrails) cannot exclude it and keeps blocking it"
		case s.ambiguous[n.ID]:
			msg = "named in metadata.allow but no label set separates it from another workload: a cluster-wide metadata guard (cilium flavor, --guardrails) does not exclude it (that would exclude the other workload too) and keeps blocking it"
		default:
			if g.OptInSelectors == nil {
				g.OptInSelectors = map[string]map[string]string{}
			}
			g.OptInSelectors[key] = s.sel[n.ID]
			continue
		}
		s.finding(policy.Finding{Kind: policy.FindSelector, Namespace: o.Namespace, Workload: o.Workload, Peer: o.Address, Message: msg})
	}
}

// healthPeer reports a Cilium health-check endpoint: it is never a policy
// peer (the agent admits its own health traffic), so no rule is written.
func (s *synth) healthPeer(n *learner.Node, ns, workload string, e *learner.Edge) bool {
	if record.Entity(n.Entity) != record.EntityHealth {
		return false
	}
	s.finding(policy.Finding{Kind: policy.FindUnsupported, Namespace: ns, Workload: workload, Peer: describe(n), Proto: e.Proto, Port: e.Port,
		Flows: e.Flows, Message: "Cilium health-check endpoint (reserved:health): never a policy peer, the agent admits its health traffic itself; no rule written"})
	return true
}

// nodeAdmission says how node traffic is admitted, for findings.
func (s *synth) nodeAdmission() string {
	if s.ciliumEntities() {
		return "admitted by the Cilium entity observed (host or remote-node)"
	}
	return "admitted by node IP"
}

// publicMessage is the finding of a public entrypoint.
func (s *synth) publicMessage() string {
	if s.ciliumEntities() {
		return "called from the internet: admitted from the world entity on this port only"
	}
	return "called from the internet: admitted from any source on this port only (where ipBlocks match pod IPs, that includes every pod)"
}
