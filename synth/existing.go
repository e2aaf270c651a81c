package synth

import (
	"slices"
	"strings"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// existingPolicies lists the inventory's NetworkPolicies of namespace ns
// that select an observed workload (written: the tree's policies of ns),
// with the window's dropped flows attributed to them: by name where a
// flow source named the denying policy, else as possible where the policy
// isolates the direction the flow was dropped in at a workload it selects.
func (s *synth) existingPolicies(ns string, written []*policy.Policy) []policy.ExistingPolicy {
	nps := s.policiesByNS[ns]
	if len(nps) == 0 {
		return nil
	}
	var out []policy.ExistingPolicy
	for _, np := range nps {
		ep := policy.ExistingPolicy{Name: np.Name, Ingress: np.Ingress, Egress: np.Egress, Exact: np.SelectorExact}
		selected := map[string]bool{}
		for _, w := range s.byNS[ns] {
			if s.selectsWorkload(np, w) {
				ep.Workloads = append(ep.Workloads, w.Name)
				selected[w.ID] = true
			}
		}
		if len(ep.Workloads) == 0 {
			continue
		}
		slices.Sort(ep.Workloads)
		ep.SameName = slices.ContainsFunc(written, func(p *policy.Policy) bool { return p.Name == np.Name })
		for _, edges := range []map[learner.EdgeKey]*learner.Edge{s.g.Edges, s.g.Denied} {
			for _, e := range edges {
				if e.Dropped == 0 {
					continue
				}
				for _, d := range e.DeniedBy {
					if deniedByName(d.Policy, ns, np.Name) {
						ep.Denied += d.Flows
					}
				}
				if n := e.Unattributed(); n > 0 && (np.Ingress && selected[e.Dst] || np.Egress && selected[e.Src]) {
					ep.MayHaveDenied += n
				}
			}
		}
		out = append(out, ep)
	}
	return out
}

// selectsWorkload reports whether a NetworkPolicy's pod selector (its
// matchLabels: every pod when empty) matches a pod of w: a label set the
// flows saw, or a pod or the template of its inventory workload.
func (s *synth) selectsWorkload(np *inventory.NetworkPolicy, w *learner.Node) bool {
	sets := slices.Clone(w.LabelSets)
	if w.Labels != nil {
		sets = append(sets, w.Labels)
	}
	if ix := s.invIx[w.Namespace]; ix != nil {
		if iw := ix.of[w.ID]; iw != nil {
			sets = append(sets, ix.labelSets(iw)...)
		}
	}
	for _, l := range sets {
		if inventory.Matches(np.PodSelector, l) {
			return true
		}
	}
	return len(np.PodSelector) == 0
}

// deniedByName reports whether a flow source's name for a denying policy
// is NetworkPolicy name of namespace ns: "ns/name" (Hubble), or Calico's
// "ns/knp.default.name" (a Kubernetes NetworkPolicy in Calico's default
// tier).
func deniedByName(by, ns, name string) bool {
	rest, ok := strings.CutPrefix(by, ns+"/")
	if !ok {
		return false
	}
	return rest == name || rest == "knp.default."+name || rest == "default.knp.default."+name
}
