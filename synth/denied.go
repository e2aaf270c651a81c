package synth

import (
	"fmt"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// deniedFindings reports what existing policies denied: each denied
// attempt (an edge nobody answered: not learned), and each learned edge
// some of whose connections an existing policy denied — the tree admits
// it, so the generated allow overrides a deny somebody wrote, and the
// report names that policy.
func (s *synth) deniedFindings() {
	for _, e := range learner.SortedEdges(s.g.Denied) {
		src, dst := s.node(e.Src), s.node(e.Dst)
		ns, w := "", ""
		if src != nil && src.Kind == learner.NodeWorkload {
			ns, w = src.Namespace, src.Name
		}
		s.finding(policy.Finding{Kind: policy.FindDenied, Namespace: ns, Workload: w, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
			Flows: e.Dropped, Message: "dropped by " + deniers(e) + " and never answered: not learned (--learn-dropped to learn it)"})
	}
	for _, e := range learner.SortedEdges(s.g.Edges) {
		if e.Dropped == 0 {
			continue
		}
		src, dst := s.node(e.Src), s.node(e.Dst)
		srcApp := src != nil && src.Kind == learner.NodeWorkload && s.app[src.Namespace]
		dstApp := dst != nil && dst.Kind == learner.NodeWorkload && s.app[dst.Namespace]
		if !srcApp && !dstApp {
			continue // no policy of the tree selects either end
		}
		// the finding belongs to the caller's namespace, else the callee's
		f := policy.Finding{Kind: policy.FindDeniedAdmitted, Proto: e.Proto, Port: e.Port, Flows: e.Dropped}
		if srcApp {
			f.Namespace, f.Workload, f.Peer = src.Namespace, src.Name, describe(dst)
		} else {
			f.Namespace, f.Workload, f.Peer = dst.Namespace, dst.Name, "from "+describe(src)
		}
		conns := "connections"
		if e.Dropped == 1 {
			conns = "connection"
		}
		f.Message = fmt.Sprintf("%s -> %s %s/%d: %s denied %d %s of an edge the tree now admits (%d flowed); "+
			"the generated allow overrides that deny where it takes effect: confirm the edge is wanted",
			describe(src), describe(dst), e.Proto, e.Port, deniers(e), e.Dropped, conns, e.Flows)
		s.finding(f)
	}
}

// maxNamed bounds the policies a finding names.
const maxNamed = 3

// deniers names the existing policies that denied an edge's connections,
// with their counts when more than one did. Names are validated when read
// (record.ValidPolicyName) and escaped again here for the terminal.
func deniers(e *learner.Edge) string {
	unnamed := e.Unattributed()
	if len(e.DeniedBy) == 0 {
		return "an existing policy (the flow source did not name it)"
	}
	if len(e.DeniedBy) == 1 && unnamed == 0 {
		return "existing policy " + escape.Terminal(e.DeniedBy[0].Policy)
	}
	var parts []string
	for i, d := range e.DeniedBy {
		if i == maxNamed {
			parts = append(parts, fmt.Sprintf("%d more", len(e.DeniedBy)-maxNamed))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", escape.Terminal(d.Policy), d.Flows))
	}
	if unnamed > 0 {
		parts = append(parts, fmt.Sprintf("policies not named by the flow source (%d)", unnamed))
	}
	return "existing policies " + strings.Join(parts, ", ")
}
