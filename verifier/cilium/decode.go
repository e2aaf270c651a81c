package cilium

import (
	"encoding/json"
	"fmt"

	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/verifier"
)

// IsKind reports whether apiVersion and kind name a policy this package
// evaluates.
func IsKind(apiVersion, kind string) bool {
	return apiVersion == ciliumout.APIVersion &&
		(kind == ciliumout.KindCiliumNetworkPolicy || kind == ciliumout.KindCiliumClusterwideNetworkPolicy)
}

// DecodeObject decodes one YAML document holding a CiliumNetworkPolicy or
// CiliumClusterwideNetworkPolicy. Metadata is read leniently (a policy
// exported from a cluster carries uid, annotations, …); spec and specs
// strictly: a member this package does not evaluate is an error naming the
// object. A namespaced policy without a namespace is in "default", as
// kubectl would create it.
func DecodeObject(doc []byte) (*Object, error) {
	raw, err := verifier.DecodeObject(doc, IsKind, "a Cilium policy")
	if err != nil {
		return nil, err
	}
	o := &Object{Kind: raw.Kind, Name: raw.Metadata.Name, Namespace: raw.Metadata.Namespace}
	switch {
	case raw.Kind == ciliumout.KindCiliumClusterwideNetworkPolicy && o.Namespace != "":
		return nil, fmt.Errorf("%s %s: a clusterwide policy has no metadata.namespace (%q)", raw.Kind, o.Name, o.Namespace)
	case raw.Kind == ciliumout.KindCiliumNetworkPolicy && o.Namespace == "":
		o.Namespace = "default"
	}
	name := raw.Kind + " " + o.Key()
	if isNull(raw.Spec) && isNull(raw.Specs) {
		return nil, fmt.Errorf("%s: neither spec nor specs", name)
	}
	if !isNull(raw.Spec) {
		var r Rule
		if err := strict(raw.Spec, &r); err != nil {
			return nil, fmt.Errorf("%s: spec: %w", name, err)
		}
		o.Rules = append(o.Rules, r)
	}
	if !isNull(raw.Specs) {
		var rs []Rule
		if err := strict(raw.Specs, &rs); err != nil {
			return nil, fmt.Errorf("%s: specs: %w", name, err)
		}
		o.Rules = append(o.Rules, rs...)
	}
	for i := range o.Rules {
		if o.Rules[i].EndpointSelector == nil {
			return nil, fmt.Errorf("%s: rule %d: no endpointSelector (nodeSelector host policies are not evaluated)", name, i)
		}
	}
	return o, nil
}

func isNull(m json.RawMessage) bool { return verifier.IsNullJSON(m) }

// strict decodes JSON refusing members v does not have; an unknown member
// is named as not evaluated.
func strict(data []byte, v any) error {
	return verifier.StrictJSON(data, v, "endpointSelector, ingress, ingressDeny, egress, egressDeny, enableDefaultDeny; from/toEndpoints, from/toCIDR, from/toCIDRSet, from/toEntities, toFQDNs, toPorts with DNS rules, icmps")
}
