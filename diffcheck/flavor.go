package diffcheck

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/verifier"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// finish settles a tree once every file is read: its flavor (one per
// tree), its NetworkPolicies sorted, the files of its policies; a tree
// without any policy is an error.
func (t *Tree) finish() error {
	flavor, err := t.set.Flavor()
	if err != nil {
		return fmt.Errorf("--policies %s: %w", t.Dir, err)
	}
	if flavor == "" {
		return fmt.Errorf("--policies %s: no policy found (NetworkPolicy, CiliumNetworkPolicy or Calico NetworkPolicy: want the tree flowfence generate wrote)", t.Dir)
	}
	t.Flavor = flavor
	t.Files = t.set.Files
	t.Policies = slices.Clone(t.set.NetworkPolicies)
	slices.SortFunc(t.Policies, func(a, b *networkingv1.NetworkPolicy) int { return strings.Compare(PolicyKey(a), PolicyKey(b)) })
	return nil
}

// objects is the tree's policy set: the one ReadTree read, or, for a Tree
// built in code from NetworkPolicies alone, a k8s set of them.
func (t *Tree) objects() *policyset.Set {
	if t.set != nil {
		return t.set
	}
	s := policyset.New()
	s.NetworkPolicies = t.Policies
	return s
}

// Promotion says what promoting the tree's Calico staged policies does;
// nil when it has none. Verify and diff evaluate a staged policy as the
// policy it becomes (verifier/calico Promote).
func (t *Tree) Promotion() *calicoeval.Promotion {
	_, pr := t.objects().CalicoPromoted()
	if pr.Staged() == 0 {
		return nil
	}
	return &pr
}

// Ignored lists the objects of the tree no engine evaluates
// (AdminNetworkPolicy, BaselineAdminNetworkPolicy): "file: Kind name".
func (t *Tree) Ignored() []string { return t.objects().Ignored }

// evaluator compiles the tree for its flavor's engine with the --cni the
// user gave.
func (t *Tree) evaluator(opts Options) (verifier.Evaluator, error) {
	cni := opts.CNIFlag
	if cni == "" {
		cni = string(opts.CNI)
	}
	return t.objects().Evaluator(cni)
}
