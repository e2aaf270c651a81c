package pipeline

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/internal/parallel"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/synth/replay"
	"github.com/flowfence/flowfence/verifier"
)

// SelfCheck replays the window against a rendered tree of any flavor
// (Replay).
func SelfCheck(g *learner.Graph, set *policy.Set, tree output.Tree) error {
	return Replay(g, set, tree)
}

// Replay replays every observed request of the window (g's learned edges,
// every label set seen on each side) against the tree written for set,
// through the evaluator of the tree's flavor (newEvaluator: NetworkPolicy
// with the set's CNI semantics, CiliumNetworkPolicy or Calico v3), and
// makes readiness follow from it (synth.ApplyReplay): a request the tree
// denies outside the documented classes (own-node host traffic, metadata
// calls, inexpressible protocols; denied attempts are not learned edges)
// blocks the namespace whose policy denies it, with synth's reason and
// fix. A request synth claimed admitted that the tree denies is a bug in
// flowfence: the run fails loudly instead of writing the tree.
func Replay(g *learner.Graph, set *policy.Set, tree output.Tree) error {
	eng, err := newEvaluator(set, tree)
	if err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	type side struct {
		ev policy.Evidence
		ns string
	}
	type key struct {
		src, dst, proto string
		port            uint16
		dir             string
	}
	rows := map[key]side{}
	for _, ns := range set.Namespaces {
		for _, ev := range ns.Evidence {
			rows[key{ev.SrcID, ev.DstID, ev.Proto, ev.Port, ev.Direction}] = side{ev: ev, ns: ns.Name}
		}
	}
	// every learned edge between known nodes (synth writes nothing for
	// an edge whose node the graph lacks)
	edges := make([]*learner.Edge, 0, len(g.Edges))
	peers := make(map[string][]verifier.Peer, len(g.Nodes)) // each node's peers, made once
	unmanaged := map[string]bool{}                          // nodes replayed with a pod the CNI does not manage
	for _, e := range learner.SortedEdges(g.Edges) {
		if g.Nodes[e.Src] == nil || g.Nodes[e.Dst] == nil {
			continue
		}
		for _, id := range []string{e.Src, e.Dst} {
			if _, done := peers[id]; !done {
				n := g.Nodes[id]
				if slices.Contains(set.UnmanagedWorkloads, id) && !n.Unmanaged {
					// pods without a CiliumEndpoint: replayed as the
					// CNI's unmanaged pods, as synth judged them
					n = n.Clone()
					n.Unmanaged = true
				}
				peers[id] = replay.Peers(n, set.Ports)
				unmanaged[id] = n.Unmanaged
			}
		}
		edges = append(edges, e)
	}
	// what the tree does with one edge, over every label-set pair: the
	// reason of the first pair each side denies, and whether a pair was
	// inexpressible (ICMP to an isolated pod)
	type denial struct {
		e                      *learner.Edge
		egress, ingress        string
		inexpressible, anyDeny bool
	}
	// the engine is read-only: evaluate on all cores
	perWorker := make([][]denial, runtime.GOMAXPROCS(0))
	parallel.Chunks(len(edges), func(w, lo, hi int) {
		for _, e := range edges[lo:hi] {
			if ownNodeHost(g, e) {
				continue // always admitted by real CNIs: documented
			}
			proto, _ := record.ParseProtocol(e.Proto)
			t := verifier.Traffic{Protocol: corev1.Protocol(proto.String()), Port: int32(e.Port)}
			d := denial{e: e}
			for _, sp := range peers[e.Src] {
				for _, dp := range peers[e.Dst] {
					t.Src, t.Dst = sp, dp
					res := eng.Evaluate(t)
					switch res.Verdict {
					case verifier.Allowed:
						continue
					case verifier.Inexpressible:
						d.inexpressible = true
					}
					d.anyDeny = true
					// the CNI enforces nothing on a pod it does not manage:
					// its own side never denies (the other side does: no
					// selector matches it)
					if !res.Egress.Allowed && d.egress == "" && !unmanagedPod(unmanaged[e.Src], sp) {
						d.egress = res.Reason
					}
					if !res.Ingress.Allowed && d.ingress == "" && !unmanagedPod(unmanaged[e.Dst], dp) {
						d.ingress = res.Reason
					}
				}
			}
			if d.anyDeny {
				perWorker[w] = append(perWorker[w], d)
			}
		}
	})
	var failures []string
	blockers := map[string][]policy.Blocker{}
	for _, ds := range perWorker {
		for _, d := range ds {
			e := d.e
			for _, dir := range []struct{ name, reason string }{{"egress", d.egress}, {"ingress", d.ingress}} {
				row, ok := rows[key{e.Src, e.Dst, e.Proto, e.Port, dir.name}]
				switch {
				case dir.reason == "" && !(d.inexpressible && ok && row.ev.Admitted):
					// this side admits it (an inexpressible protocol is
					// judged on the side whose row claims it admitted)
				case !ok:
					// no evidence row on this side, yet a policy denies it
					failures = append(failures, fmt.Sprintf("%s -> %s %s/%d (%s): denied without evidence: %s", e.Src, e.Dst, e.Proto, e.Port, dir.name, dir.reason))
				case row.ev.Documented != "":
					// documented: reported as synth reported it
				case row.ev.Admitted:
					why := dir.reason
					if why == "" {
						why = e.Proto + " is not expressible in NetworkPolicy"
					}
					failures = append(failures, fmt.Sprintf("%s -> %s %s/%d (%s): %s", e.Src, e.Dst, e.Proto, e.Port, dir.name, why))
				default:
					blockers[row.ns] = append(blockers[row.ns], synth.BlockerOf(row.ev, dir.reason))
				}
			}
		}
	}
	if len(failures) > 0 {
		sort.Strings(failures)
		return fmt.Errorf("self-check failed (a flowfence bug, nothing was written): %d observed flows the policies should admit are denied:\n  %s",
			len(failures), strings.Join(failures, "\n  "))
	}
	synth.ApplyReplay(set, blockers)
	return nil
}

// unmanagedPod reports the peer replay.Peers gives for the pods of an
// unmanaged workload: a pod without labels.
func unmanagedPod(unmanaged bool, p verifier.Peer) bool {
	return unmanaged && p.IsPod && p.Labels == nil
}

// ownNodeHost reports a request from the pod's own node (entity host to a
// workload: kubelet probes), which real CNIs always admit whatever the
// policies say (diffcheck counts it as host the same way).
func ownNodeHost(g *learner.Graph, e *learner.Edge) bool {
	src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
	return src != nil && dst != nil && src.Kind == learner.NodeEntity && src.Entity == string(record.EntityHost) && dst.Kind == learner.NodeWorkload
}
