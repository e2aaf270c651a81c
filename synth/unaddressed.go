package synth

import (
	"strings"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// unaddressedFindings reports the traffic of application workloads with
// peers the source named but gave no address for (Calico's aggregated
// pub/pvt networks, Goldmane): no rule is written for it — an ipBlock
// needs an address and widening to 0.0.0.0/0 would admit the internet —
// so once the namespace enforces, that traffic is dropped.
func (s *synth) unaddressedFindings() {
	for _, u := range learner.SortedUnaddressed(s.g.Unaddressed) {
		w := s.node(u.Workload)
		if w == nil || w.Kind != learner.NodeWorkload || !s.app[w.Namespace] {
			continue
		}
		peer := u.Peer
		if len(u.Names) > 0 {
			peer += " (" + strings.Join(u.Names, ", ") + ")"
		}
		msg := "calls a peer the flow source recorded without an address (" + peerMeaning(u.Peer) + "): no ipBlock can be written and flowfence never widens to 0.0.0.0/0, so this traffic is dropped once the namespace enforces; add its addresses yourself (an ipBlock, or a Calico NetworkSet), or learn from flow logs that keep addresses"
		if u.Direction == learner.DirIngress {
			msg = "called by a peer the flow source recorded without an address (" + peerMeaning(u.Peer) + "): no rule is written for it, so this traffic is dropped once the namespace enforces; add the callers' addresses yourself, or learn from flow logs that keep addresses"
			if u.Peer == "pub" {
				msg += " (a public entrypoint is admitted from any source on its port: add that rule yourself if this is one)"
			}
		}
		s.finding(policy.Finding{Kind: policy.FindUnaddressed, Namespace: w.Namespace, Workload: w.Name, Peer: peer,
			Proto: u.Proto, Port: u.Port, Flows: u.Flows + u.Dropped, Message: msg})
		if u.Flows > 0 {
			// traffic that flowed and that no rule can admit: it holds the
			// namespace back (the replay cannot see it: it is no edge)
			s.unaddressed[w.Namespace] = append(s.unaddressed[w.Namespace], policy.Blocker{Workload: w.Name, Direction: u.Direction,
				Peer: peer, Proto: u.Proto, Port: u.Port, Flows: u.Flows,
				Reason: "the flow source recorded the peer without an address (" + peerMeaning(u.Peer) + "): no rule can admit it",
				Fix:    "add the peer's addresses yourself (an ipBlock, or a Calico NetworkSet), or learn from flow logs that keep addresses"})
		}
	}
}

func peerMeaning(peer string) string {
	switch {
	case peer == "pub":
		return "pub: the public internet"
	case peer == "pvt":
		return "pvt: a private network Calico does not manage"
	case strings.HasPrefix(peer, "NetworkSet "), strings.HasPrefix(peer, "GlobalNetworkSet "):
		return "a Calico " + peer + ": its nets are not in the flow"
	case strings.HasPrefix(peer, "HostEndpoint "):
		return "a Calico " + peer + " with no address in the flow"
	}
	return peer
}
