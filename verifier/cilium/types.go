// Package cilium evaluates CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy with Cilium's semantics (pkg/policy and
// pkg/k8s/apis/cilium.io/utils at v1.20, cross-checked against Cilium's own
// engine in tests/cilium):
//
//   - A CiliumNetworkPolicy in namespace N selects endpoints (pods) of N
//     only; a clusterwide policy selects pods of every namespace.
//   - A pod is in default-deny for a direction once a rule selecting it has
//     rules of that direction (allow or deny) and does not set
//     enableDefaultDeny to false for it; otherwise the direction is open.
//   - A matching deny rule (ingressDeny, egressDeny) wins over every allow.
//   - A rule's peers: fromEndpoints/toEndpoints label selectors (keys with
//     the k8s:, any: or reserved: source or none; a selector without the
//     namespace label k8s:io.kubernetes.pod.namespace selects the policy's
//     namespace, or, when it names namespace labels
//     (io.cilium.k8s.namespace.labels.*), any namespace; in a clusterwide
//     policy every namespace's pods), entities, CIDR/CIDRSet with except and
//     toFQDNs (matchName, matchPattern against the DNS names observed for
//     the destination). CIDR and FQDN rules select only addresses outside
//     the cluster (world): never a pod, a node or the API server. (Cilium
//     also selects by CIDR an API server that runs outside the cluster, a
//     managed control plane; flows do not say where it runs, so a CIDR
//     rule for it is judged as not matching — a loud denial, not a silent
//     pass: flowfence writes the kube-apiserver entity.)
//   - A rule without peers selects every peer when it has toPorts or icmps,
//     and nothing otherwise: `ingress: [{}]` is a default-deny that admits
//     nothing. A rule with peers and without ports admits every protocol.
//     An explicitly empty peer list selects nothing.
//   - toPorts: port (0 or empty: every port) to endPort, protocol TCP, UDP,
//     SCTP or ANY (those three); named ports resolve through the
//     destination's container ports. icmps: type by number or Cilium's
//     name, per family. An ICMP flow's type is Traffic.Port, 0 (the graph
//     keeps none) being an echo request.
//
// Anything else a policy may say (nodeSelector, fromRequires, toServices,
// toGroups, L7 HTTP/Kafka rules, authentication, …) is refused with an
// error naming the object: a verdict that ignored it could be wrong.
package cilium

import (
	"k8s.io/apimachinery/pkg/util/intstr"

	ciliumout "github.com/flowfence/flowfence/output/cilium"
)

// Object is one decoded CiliumNetworkPolicy or
// CiliumClusterwideNetworkPolicy.
type Object struct {
	Kind string
	// Namespace is empty for a clusterwide policy.
	Namespace string
	Name      string
	Rules     []Rule
}

// Key is how results name the object: "namespace/name", or the name of a
// clusterwide policy.
func (o *Object) Key() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Rule is api.Rule: the members flowfence writes (output/cilium) and the
// deny and CIDR members hand-written policies use. Unknown members fail the
// strict decode.
type Rule struct {
	EndpointSelector  *ciliumout.Selector          `json:"endpointSelector"`
	Ingress           []IngressRule                `json:"ingress,omitempty"`
	IngressDeny       []IngressRule                `json:"ingressDeny,omitempty"`
	Egress            []EgressRule                 `json:"egress,omitempty"`
	EgressDeny        []EgressRule                 `json:"egressDeny,omitempty"`
	EnableDefaultDeny *ciliumout.DefaultDenyConfig `json:"enableDefaultDeny,omitempty"`
	Description       string                       `json:"description,omitempty"`
	Labels            []RuleLabel                  `json:"labels,omitempty"`
}

// RuleLabel is a label of a rule (metadata, not matched).
type RuleLabel struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Source string `json:"source,omitempty"`
}

// IngressRule is api.IngressRule (and api.IngressDenyRule, whose ports
// carry no L7 rules).
type IngressRule struct {
	FromEndpoints []ciliumout.Selector `json:"fromEndpoints,omitempty"`
	FromCIDR      []string             `json:"fromCIDR,omitempty"`
	FromCIDRSet   []ciliumout.CIDRRule `json:"fromCIDRSet,omitempty"`
	FromEntities  []string             `json:"fromEntities,omitempty"`
	ToPorts       []ciliumout.PortRule `json:"toPorts,omitempty"`
	ICMPs         []ICMPRule           `json:"icmps,omitempty"`
}

// EgressRule is api.EgressRule (and api.EgressDenyRule, which has no
// toFQDNs).
type EgressRule struct {
	ToEndpoints []ciliumout.Selector     `json:"toEndpoints,omitempty"`
	ToCIDR      []string                 `json:"toCIDR,omitempty"`
	ToCIDRSet   []ciliumout.CIDRRule     `json:"toCIDRSet,omitempty"`
	ToEntities  []string                 `json:"toEntities,omitempty"`
	ToFQDNs     []ciliumout.FQDNSelector `json:"toFQDNs,omitempty"`
	ToPorts     []ciliumout.PortRule     `json:"toPorts,omitempty"`
	ICMPs       []ICMPRule               `json:"icmps,omitempty"`
}

// ICMPRule is api.ICMPRule.
type ICMPRule struct {
	Fields []ICMPField `json:"fields,omitempty"`
}

// ICMPField is api.ICMPField: the type is a number or Cilium's name.
type ICMPField struct {
	Family string             `json:"family,omitempty"`
	Type   intstr.IntOrString `json:"type"`
}
