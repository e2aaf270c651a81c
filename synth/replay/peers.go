// Package replay turns graph nodes into the verifier's peers, so that the
// window's traffic can be replayed against a written tree (generate's
// self-check, verify, diff). It sits below synth, apart from it, because it
// speaks the verifier's Kubernetes types and synth reads only plain data.
package replay

import (
	"net/netip"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/verifier"
)

// maxPeerLabelSets is how many of a workload's label sets Peers replays.
const maxPeerLabelSets = 8

// Peers returns the verifier peers a graph node stands for when its
// traffic is replayed against a tree (generate's replay, verify, diff):
// one per label set seen on a workload's pods (at most 8; plus a pod
// without labels when some of its pods are not managed by the CNI: no
// selector matches those), or the node's address.
func Peers(n *learner.Node) []verifier.Peer {
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
		out := make([]verifier.Peer, 0, len(sets))
		for _, s := range sets {
			out = append(out, verifier.Peer{IsPod: true, Namespace: n.Namespace, Labels: s, NamespaceLabels: n.NamespaceLabels})
		}
		return out
	}
	a, _ := netip.ParseAddr(n.IP)
	isNode := n.Entity == string(record.EntityHost) || n.Entity == string(record.EntityRemoteNode)
	return []verifier.Peer{{IP: a, IsNode: isNode, Entity: n.Entity, DNSNames: n.Names}}
}
