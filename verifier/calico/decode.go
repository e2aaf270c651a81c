package calico

import (
	"fmt"
	"strings"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/verifier"
)

// Kinds of projectcalico.org/v3 this package reads.
const (
	kindStagedKubernetesNetworkPolicy = "StagedKubernetesNetworkPolicy"
)

// IsKind reports whether apiVersion and kind name a resource this package
// reads (policies, staged policies, tiers).
func IsKind(apiVersion, kind string) bool {
	if apiVersion != caliout.APIVersion {
		return false
	}
	switch kind {
	case caliout.KindNetworkPolicy, caliout.KindGlobalNetworkPolicy, caliout.KindStagedNetworkPolicy,
		caliout.KindStagedGlobalNetworkPolicy, kindStagedKubernetesNetworkPolicy, caliout.KindTier:
		return true
	}
	return false
}

// IsStaged reports a staged kind: not enforced, ignored by the engine.
func IsStaged(kind string) bool {
	return strings.HasPrefix(kind, "Staged")
}

// DecodeObject decodes one YAML document holding a Calico policy or tier.
// Metadata is read leniently; spec strictly: a member this package does not
// evaluate is an error naming the object. A staged policy is returned
// without its spec (it is never enforced). A namespaced policy without a
// namespace is in "default".
func DecodeObject(doc []byte) (*Object, error) {
	raw, err := verifier.DecodeObject(doc, IsKind, "a Calico policy or tier")
	if err != nil {
		return nil, err
	}
	o := &Object{Kind: raw.Kind, Name: raw.Metadata.Name, Namespace: raw.Metadata.Namespace}
	namespaced := raw.Kind == caliout.KindNetworkPolicy || raw.Kind == caliout.KindStagedNetworkPolicy || raw.Kind == kindStagedKubernetesNetworkPolicy
	switch {
	case namespaced && o.Namespace == "":
		o.Namespace = "default"
	case !namespaced && o.Namespace != "":
		return nil, fmt.Errorf("%s %s: a cluster-scoped resource has no metadata.namespace (%q)", raw.Kind, o.Name, o.Namespace)
	}
	name := raw.Kind + " " + o.Key()
	if IsStaged(raw.Kind) {
		return o, nil
	}
	if raw.Kind == caliout.KindTier {
		o.Tier = &TierSpec{}
		if err := strict(raw.Spec, o.Tier); err != nil {
			return nil, fmt.Errorf("%s: spec: %w", name, err)
		}
		return o, nil
	}
	o.Policy = &PolicySpec{}
	if err := strict(raw.Spec, o.Policy); err != nil {
		return nil, fmt.Errorf("%s: spec: %w", name, err)
	}
	return o, nil
}

// strict decodes JSON refusing members v does not have (an absent spec
// is an empty one).
func strict(data []byte, v any) error {
	if verifier.IsNullJSON(data) {
		return nil
	}
	return verifier.StrictJSON(data, v, "tier, order, selector, namespaceSelector, types, ingress, egress; rules: action, protocol, notProtocol, ipVersion, icmp, notICMP, source/destination nets, notNets, selector, notSelector, namespaceSelector, ports, notPorts")
}
