package synth

import (
	"strings"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// verdict is what synth decided for one side of an observed request:
// admitted by a rule, or not, on purpose (doc, a documented class: the
// namespace can still enforce) or not (fix says what to do; the namespace
// is blocked).
type verdict struct {
	admit bool
	doc   string
	why   string
	fix   string
}

// admitted is the verdict of a request a rule admits.
func admitted() verdict { return verdict{admit: true} }

// documented is a verdict for a request not admitted on purpose.
func documented(class, why string) verdict { return verdict{doc: class, why: why} }

// blocking is a verdict for a request no rule can admit: the namespace is
// blocked until fix is done.
func blocking(why, fix string) verdict { return verdict{why: why, fix: fix} }

// rule is the FLOWS.md "admitted by" text of a verdict that admits
// nothing (def when it gives no reason).
func (v verdict) rule(def string) string {
	switch {
	case v.why == "":
		return def
	case v.doc == "":
		return "blocked: " + v.why
	}
	return v.why
}

// unmanagedPods reports (once per workload) a workload peer some of whose
// pods the CNI does not manage: a rule selecting the others is written,
// but no rule can match those pods.
func (s *synth) unmanagedPods(n *learner.Node) bool {
	if n.Kind != learner.NodeWorkload || !n.Unmanaged {
		return false
	}
	s.unmanagedFinding(n)
	return true
}

// unmanagedFinding reports, once per run, a workload whose pods the CNI
// does not manage.
func (s *synth) unmanagedFinding(n *learner.Node) {
	s.findingOnce("unmanaged "+n.ID, policy.Finding{Kind: policy.FindUnmanaged, Namespace: n.Namespace, Workload: n.Name,
		Message: "pods not managed by the CNI (Cilium reserved:unmanaged: started before the agent): no policy selector matches them, so every namespace whose observed flows need them is blocked; fix: " + restartFix(n)})
}

// selfSelectable makes an evidence row of workload w (its own side)
// blocking when no policy can select w's pods: its policies are not
// written, so the namespace's default-deny isolates it and nothing admits
// the row's traffic.
func (s *synth) selfSelectable(ev *policy.Evidence, w *learner.Node) {
	if !ev.Admitted || s.sel[w.ID] != nil {
		return
	}
	s.selector(w) // reports it
	if s.observedScope() {
		// no namespace default-deny: a pod no policy selects is open
		ev.Rule = "not isolated: no policy can select " + describe(w) + "'s pods (deny scope observed)"
		return
	}
	ev.Admitted = false
	if w.Unmanaged {
		s.unmanagedFinding(w)
		ev.Rule, ev.Fix = "blocked: "+describe(w)+" is not managed by the CNI (reserved:unmanaged): no policy can select it", restartFix(w)
		return
	}
	ev.Rule = "blocked: no labels seen for " + describe(w) + "'s pods: no policy can select it, so the namespace's default-deny isolates it"
	ev.Fix = "give its pods labels (or export their labels to the flow source), then generate again"
}

// ciliumFlavorFix is the fix for node and API-server peers the k8s flavor
// writes as ipBlocks on Cilium.
const ciliumFlavorFix = "generate with --format cilium: on Cilium, ipBlocks match neither nodes nor the API server (they need the entities host, remote-node, kube-apiserver)"

// notManaged says why no selector matches a workload's pods: the CNI does
// not manage them. Hubble shows such a pod as reserved:unmanaged; with
// CiliumEndpoints in the inventory, a running pod without one is the same.
const notManaged = "not managed by the CNI (reserved:unmanaged in the flows, or no CiliumEndpoint in the inventory)"

// restartFix is the fix for a workload the CNI does not manage.
func restartFix(w *learner.Node) string {
	ctl := "<its controller>"
	switch w.WorkloadKind {
	case learner.KindDeployment, learner.KindDaemonSet, learner.KindStatefulSet:
		ctl = strings.ToLower(w.WorkloadKind) + "/" + w.Name
	}
	return "restart " + describe(w) + "'s pods (kubectl -n " + w.Namespace + " rollout restart " + ctl + ") so that the CNI manages them: they started before the CNI agent"
}

// looksLikeNode reports a caller without a pod identity at a private
// address while node addresses are unknown (no nodes.cidrs, no nodes in
// the inventory): it may be a
// node (a kubelet probe in a Calico flow log), which flowfence cannot tell.
func (s *synth) looksLikeNode(n *learner.Node) bool {
	if n.Kind != learner.NodeExternal || s.nodes.known() {
		return false
	}
	a := n.NodeAddr()
	return a.IsValid() && isPrivate(a) && !a.IsLoopback() && !a.IsLinkLocalUnicast()
}
