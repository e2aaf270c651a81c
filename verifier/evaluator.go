package verifier

// Evaluator answers whether one policy set admits one flow, and explains
// the answer per direction. The NetworkPolicy Engine implements it, and so
// do the CiliumNetworkPolicy engine (verifier/cilium) and the Calico v3
// engine (verifier/calico): verify, diff and generate's self-check replay
// flows through whichever matches the tree's flavor.
type Evaluator interface {
	// Evaluate decides and explains one flow.
	Evaluate(t Traffic) Result
	// Verdict is Evaluate(t).Verdict, possibly faster.
	Verdict(t Traffic) Verdict
	// Len is the number of policy objects evaluated.
	Len() int
	// CNI names the semantics applied, for reports.
	CNI() CNI
}

// CNICalico names Calico's projectcalico.org/v3 semantics (tiers, order,
// Pass) in reports. The NetworkPolicy Engine does not take it: Calico
// enforces NetworkPolicy with upstream semantics (CNIKubernetes).
const CNICalico CNI = "calico"

var _ Evaluator = (*Engine)(nil)

// Explain is the one-line explanation of r's verdict that Evaluate puts in
// Result.Reason, for engines of other flavors (their Inexpressible never
// occurs: they express every protocol flowfence learns).
func Explain(r *Result) string { return reason(r, "") }

// Combine is the Result of t for engines of other flavors: the source's
// egress and the destination's ingress, each decided by the engine when
// that end is a pod (a peer that is not a pod has no policy, so its
// direction is open); t is allowed when both directions admit it, and
// Reason explains the verdict.
func Combine(t *Traffic, egress, ingress func() DirectionResult) Result {
	var res Result
	res.Egress.Allowed, res.Ingress.Allowed = true, true
	if t.Src.IsPod {
		res.Egress = egress()
	}
	if t.Dst.IsPod {
		res.Ingress = ingress()
	}
	res.Verdict = Denied
	if res.Egress.Allowed && res.Ingress.Allowed {
		res.Verdict = Allowed
	}
	res.Reason = Explain(&res)
	return res
}
