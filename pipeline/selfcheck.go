package pipeline

import (
	"fmt"
	"net/netip"
	"runtime"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/verifier"
)

// SelfCheck replays every learned edge that the policy set claims to admit
// against the rendered NetworkPolicies with the verifier, for every label
// set seen on each side. An observed flow that should be admitted but is
// denied is a bug in flowfence: the run fails loudly instead of writing it.
func SelfCheck(g *learner.Graph, set *policy.Set, tree output.Tree) error {
	eng, err := newEvaluator(set, tree)
	if err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	type key struct {
		src, dst, proto string
		port            uint16
	}
	n := 0
	for _, ns := range set.Namespaces {
		n += len(ns.Evidence)
	}
	expect := make(map[key]bool, n)
	for _, ns := range set.Namespaces {
		for _, ev := range ns.Evidence {
			k := key{ev.SrcID, ev.DstID, ev.Proto, ev.Port}
			if cur, seen := expect[k]; !seen {
				expect[k] = ev.Admitted
			} else {
				expect[k] = cur && ev.Admitted
			}
		}
	}
	todo := make([]key, 0, len(expect))
	peers := make(map[string][]verifier.Peer, len(g.Nodes)) // each node's peers, made once
	for k, want := range expect {
		if !want {
			continue
		}
		for _, id := range []string{k.src, k.dst} {
			if _, done := peers[id]; done {
				continue
			}
			n := g.Nodes[id]
			if n == nil {
				return fmt.Errorf("self-check: evidence names unknown nodes %s -> %s", k.src, k.dst)
			}
			peers[id] = Peers(n)
		}
		todo = append(todo, k)
	}
	// the engine is read-only: evaluate on all cores; only a flow that is
	// not allowed is evaluated again for its explanation
	perWorker := make([][]string, runtime.GOMAXPROCS(0))
	forChunks(len(todo), func(w, lo, hi int) {
		for _, k := range todo[lo:hi] {
			proto, _ := record.ParseProtocol(k.proto)
			for _, sp := range peers[k.src] {
				for _, dp := range peers[k.dst] {
					t := verifier.Traffic{Src: sp, Dst: dp, Protocol: corev1.Protocol(proto.String()), Port: int32(k.port)}
					if eng.Verdict(t) != verifier.Allowed {
						perWorker[w] = append(perWorker[w], fmt.Sprintf("%s -> %s %s/%d: %s", k.src, k.dst, k.proto, k.port, eng.Evaluate(t).Reason))
					}
				}
			}
		}
	})
	var failures []string
	for _, f := range perWorker {
		failures = append(failures, f...)
	}
	if len(failures) > 0 {
		sort.Strings(failures)
		return fmt.Errorf("self-check failed (a flowfence bug, nothing was written): %d observed flows the policies should admit are denied:\n  %s",
			len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// Peers returns the verifier peers a graph node stands for: one per label
// set seen on a workload's pods (at most 8), or the node's address.
func Peers(n *learner.Node) []verifier.Peer {
	if n.Kind == learner.NodeWorkload {
		sets := n.LabelSets
		if len(sets) == 0 {
			sets = []map[string]string{n.Labels}
		}
		if len(sets) > 8 {
			sets = sets[:8]
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
