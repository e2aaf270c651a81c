// Package replay turns graph nodes into the verifier's peers, so that the
// window's traffic can be replayed against a written tree (generate's
// self-check, verify, diff). It sits below synth, apart from it, because it
// speaks the verifier's Kubernetes types and synth reads only plain data.
package replay

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/verifier"
)

// maxPeerLabelSets is how many of a workload's label sets Peers replays.
const maxPeerLabelSets = 8

// Peers returns the verifier peers a graph node stands for when its
// traffic is replayed against a tree (generate's replay, verify, diff):
// one per label set seen on a workload's pods (at most 8; plus a pod
// without labels when some of its pods are not managed by the CNI: no
// selector matches those), or the node's address. A workload's pods carry
// the named ports ports gives it (a tree's named ports resolve through
// them; a name it lacks matches nothing).
func Peers(n *learner.Node, ports policy.PortTable) []verifier.Peer {
	if n.Kind == learner.NodeWorkload {
		sets := n.LabelSets
		if len(sets) == 0 {
			sets = []map[string]string{n.Labels}
		}
		if len(sets) > maxPeerLabelSets {
			sets = sets[:maxPeerLabelSets]
		}
		if n.Unmanaged && len(n.LabelSets) > 0 {
			sets = append(sets[:len(sets):len(sets)], nil)
		}
		named := NamedPorts(ports["pod:"+n.Namespace+"/"+n.Name])
		out := make([]verifier.Peer, 0, len(sets))
		for _, s := range sets {
			out = append(out, verifier.Peer{IsPod: true, Namespace: n.Namespace, Labels: s, NamespaceLabels: n.NamespaceLabels, NamedPorts: named})
		}
		return out
	}
	a, _ := netip.ParseAddr(n.IP)
	isNode := n.Entity == string(record.EntityHost) || n.Entity == string(record.EntityRemoteNode)
	return []verifier.Peer{{IP: a, IsNode: isNode, Entity: n.Entity, DNSNames: n.Names}}
}

// NamedPorts is a workload's named ports as the verifier reads them (nil
// when none).
func NamedPorts(ps []policy.NamedPort) map[string]verifier.NamedPort {
	if len(ps) == 0 {
		return nil
	}
	out := make(map[string]verifier.NamedPort, len(ps))
	for _, p := range ps {
		out[p.Name] = verifier.NamedPort{Port: int32(p.Port), Protocol: corev1.Protocol(p.Proto.String())}
	}
	return out
}
