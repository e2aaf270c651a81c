package calico

import (
	"fmt"
	"strings"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/verifier"
)

// Kinds of projectcalico.org/v3 this package reads.
const (
	KindStagedKubernetesNetworkPolicy = "StagedKubernetesNetworkPolicy"
)

// Staged actions (projectcalico.org/v3 StagedAction). Set and Delete say
// what promotion does; Learn and Ignore are the states of Calico
// Enterprise's policy recommendations, which say nothing about it.
const (
	StagedActionSet    = "Set"
	StagedActionDelete = "Delete"
	StagedActionLearn  = "Learn"
	StagedActionIgnore = "Ignore"
)

// IsKind reports whether apiVersion and kind name a resource this package
// reads (policies, staged policies, tiers).
func IsKind(apiVersion, kind string) bool {
	if apiVersion != caliout.APIVersion {
		return false
	}
	switch kind {
	case caliout.KindNetworkPolicy, caliout.KindGlobalNetworkPolicy, caliout.KindStagedNetworkPolicy,
		caliout.KindStagedGlobalNetworkPolicy, KindStagedKubernetesNetworkPolicy, caliout.KindTier:
		return true
	}
	return false
}

// IsStaged reports a staged kind: evaluated as promoted (Promote).
func IsStaged(kind string) bool {
	return strings.HasPrefix(kind, "Staged")
}

// DecodeObject decodes one YAML document holding a Calico policy, staged
// policy or tier. Metadata is read leniently; spec strictly: a member this
// package does not evaluate is an error naming the object. A staged
// policy keeps its kind and name (Promote makes it the policy it becomes);
// its stagedAction is Set (also when absent, Calico's default) or Delete,
// anything else an error. A StagedKubernetesNetworkPolicy's spec is a
// networking.k8s.io/v1 NetworkPolicySpec, validated as the API server
// would and converted as Calico converts a NetworkPolicy (knp.go). A
// namespaced policy without a namespace is in "default".
func DecodeObject(doc []byte) (*Object, error) {
	raw, err := verifier.DecodeObject(doc, IsKind, "a Calico policy or tier")
	if err != nil {
		return nil, err
	}
	o := &Object{Kind: raw.Kind, Name: raw.Metadata.Name, Namespace: raw.Metadata.Namespace}
	namespaced := raw.Kind == caliout.KindNetworkPolicy || raw.Kind == caliout.KindStagedNetworkPolicy || raw.Kind == KindStagedKubernetesNetworkPolicy
	switch {
	case namespaced && o.Namespace == "":
		o.Namespace = "default"
	case !namespaced && o.Namespace != "":
		return nil, fmt.Errorf("%s %s: a cluster-scoped resource has no metadata.namespace (%q)", raw.Kind, o.Name, o.Namespace)
	}
	name := raw.Kind + " " + o.Key()
	switch raw.Kind {
	case caliout.KindTier:
		o.Tier = &TierSpec{}
		if err := strict(raw.Spec, o.Tier); err != nil {
			return nil, fmt.Errorf("%s: spec: %w", name, err)
		}
		return o, nil
	case KindStagedKubernetesNetworkPolicy:
		if o.Policy, err = decodeKubernetes(raw.Spec, o.Namespace, o.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return o, nil
	}
	if raw.Kind == caliout.KindStagedNetworkPolicy && strings.HasPrefix(o.Name, knpPrefix) {
		// a NetworkPolicy of that name is Calico's view of a Kubernetes
		// NetworkPolicy (read from a cluster); a staged one Calico refuses
		return nil, fmt.Errorf("%s: the name prefix %q is Calico's for Kubernetes NetworkPolicies (Calico refuses it on a StagedNetworkPolicy; stage a Kubernetes NetworkPolicy as a StagedKubernetesNetworkPolicy)", name, knpPrefix)
	}
	o.Policy = &PolicySpec{}
	if err := strict(raw.Spec, o.Policy); err != nil {
		return nil, fmt.Errorf("%s: spec: %w", name, err)
	}
	if IsStaged(raw.Kind) {
		if o.Policy.StagedAction, err = stagedAction(o.Policy.StagedAction); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else if o.Policy.StagedAction != "" {
		return nil, fmt.Errorf("%s: spec.stagedAction %q: only the staged kinds have one", name, o.Policy.StagedAction)
	}
	return o, nil
}

// stagedAction checks a staged policy's spec.stagedAction: Set (absent:
// Calico's default) or Delete.
func stagedAction(a string) (string, error) {
	switch a {
	case "", StagedActionSet:
		return StagedActionSet, nil
	case StagedActionDelete:
		return a, nil
	case StagedActionLearn, StagedActionIgnore:
		return "", fmt.Errorf("spec.stagedAction %q: a Calico Enterprise policy recommendation's state, which says nothing of what promotion enforces (flowfence evaluates Set and Delete)", a)
	}
	return "", fmt.Errorf("spec.stagedAction %q is not Set or Delete", a)
}

// strict decodes JSON refusing members v does not have (an absent spec
// is an empty one).
func strict(data []byte, v any) error {
	if verifier.IsNullJSON(data) {
		return nil
	}
	return verifier.StrictJSON(data, v, "tier, order, selector, namespaceSelector, types, ingress, egress, stagedAction (staged kinds); rules: action, protocol, notProtocol, ipVersion, icmp, notICMP, source/destination nets, notNets, selector, notSelector, namespaceSelector, ports, notPorts")
}
