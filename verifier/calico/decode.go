package calico

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	caliout "github.com/flowfence/flowfence/output/calico"
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
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var raw struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, err
	}
	if !IsKind(raw.APIVersion, raw.Kind) {
		return nil, fmt.Errorf("%s %s is not a Calico policy or tier", raw.APIVersion, raw.Kind)
	}
	o := &Object{Kind: raw.Kind, Name: raw.Metadata.Name, Namespace: raw.Metadata.Namespace}
	if o.Name == "" {
		return nil, fmt.Errorf("%s without metadata.name", raw.Kind)
	}
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

// strict decodes JSON refusing members v does not have.
func strict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w (flowfence evaluates tier, order, selector, namespaceSelector, types, ingress, egress; rules: action, protocol, notProtocol, ipVersion, icmp, notICMP, source/destination nets, notNets, selector, notSelector, namespaceSelector, ports, notPorts)", err)
	}
	return nil
}
