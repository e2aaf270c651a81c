package pipeline

import (
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// newEvaluator compiles a rendered tree (every flavor, _cluster/ included)
// for the verifier engine of its flavor, with the set's CNI semantics:
// NetworkPolicy (kubernetes or cilium), CiliumNetworkPolicy, Calico v3.
func newEvaluator(set *policy.Set, tree output.Tree) (verifier.Evaluator, error) {
	ps, err := policyset.FromTree(tree)
	if err != nil {
		return nil, err
	}
	return ps.Evaluator(set.CNI)
}
