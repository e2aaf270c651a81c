package cilium

// The cilium.io/v2 objects flowfence writes, as small structs of our own
// whose JSON tags match Cilium's (pkg/k8s/apis/cilium.io/v2 and
// pkg/policy/api at v1.20): importing Cilium's pkg/ would pull hundreds of
// modules into the product. tests/cilium decodes every emitted object
// strictly into Cilium's real types and runs its sanitizer, so a tag that
// drifts from Cilium's fails there.

import "github.com/flowfence/flowfence/output"

// API group/version and kinds.
const (
	APIVersion                         = "cilium.io/v2"
	KindCiliumNetworkPolicy            = "CiliumNetworkPolicy"
	KindCiliumClusterwideNetworkPolicy = "CiliumClusterwideNetworkPolicy"
)

// Object is a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: one
// rule in Spec, or several in Specs.
type Object struct {
	output.ObjectHead
	Spec  *Rule  `json:"spec,omitempty"`
	Specs []Rule `json:"specs,omitempty"`
}

// Rule is api.Rule: the endpoints it selects and what they may send and
// receive.
type Rule struct {
	EndpointSelector  Selector           `json:"endpointSelector"`
	Ingress           []IngressRule      `json:"ingress,omitempty"`
	Egress            []EgressRule       `json:"egress,omitempty"`
	EgressDeny        []EgressDenyRule   `json:"egressDeny,omitempty"`
	EnableDefaultDeny *DefaultDenyConfig `json:"enableDefaultDeny,omitempty"`
	Description       string             `json:"description,omitempty"`
}

// DefaultDenyConfig is api.DefaultDenyConfig: whether selecting an endpoint
// puts it into default-deny per direction.
type DefaultDenyConfig struct {
	Ingress *bool `json:"ingress,omitempty"`
	Egress  *bool `json:"egress,omitempty"`
}

// Selector is api.EndpointSelector (a Kubernetes label selector whose keys
// may carry a source prefix such as "k8s:").
type Selector struct {
	MatchLabels      map[string]string `json:"matchLabels,omitempty"`
	MatchExpressions []Requirement     `json:"matchExpressions,omitempty"`
}

// Requirement is a label selector requirement.
type Requirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Label selector operators.
const (
	OpIn    = "In"
	OpNotIn = "NotIn"
)

// IngressRule is api.IngressRule (the members flowfence uses). An empty
// IngressRule selects no peer: `ingress: [{}]` is Cilium's documented way
// to put an endpoint into ingress default-deny without allowing anything.
type IngressRule struct {
	FromEndpoints []Selector `json:"fromEndpoints,omitempty"`
	FromCIDRSet   []CIDRRule `json:"fromCIDRSet,omitempty"`
	FromEntities  []string   `json:"fromEntities,omitempty"`
	ToPorts       []PortRule `json:"toPorts,omitempty"`
	ICMPs         []ICMPRule `json:"icmps,omitempty"`
}

// EgressRule is api.EgressRule (the members flowfence uses).
type EgressRule struct {
	ToEndpoints []Selector     `json:"toEndpoints,omitempty"`
	ToCIDR      []string       `json:"toCIDR,omitempty"`
	ToCIDRSet   []CIDRRule     `json:"toCIDRSet,omitempty"`
	ToEntities  []string       `json:"toEntities,omitempty"`
	ToFQDNs     []FQDNSelector `json:"toFQDNs,omitempty"`
	ToPorts     []PortRule     `json:"toPorts,omitempty"`
	ICMPs       []ICMPRule     `json:"icmps,omitempty"`
}

// EgressDenyRule is api.EgressDenyRule (the members flowfence uses).
type EgressDenyRule struct {
	ToCIDR  []string       `json:"toCIDR,omitempty"`
	ToPorts []PortDenyRule `json:"toPorts,omitempty"`
}

// CIDRRule is api.CIDRRule.
type CIDRRule struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// PortRule is api.PortRule: ports, and optionally L7 rules on them.
type PortRule struct {
	Ports []PortProtocol `json:"ports,omitempty"`
	Rules *L7Rules       `json:"rules,omitempty"`
}

// PortDenyRule is api.PortDenyRule.
type PortDenyRule struct {
	Ports []PortProtocol `json:"ports,omitempty"`
}

// PortProtocol is api.PortProtocol: a port (or range to EndPort) and a
// protocol (TCP, UDP, SCTP, or ANY = any of them).
type PortProtocol struct {
	Port     string `json:"port,omitempty"`
	EndPort  int32  `json:"endPort,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

// L7Rules is api.L7Rules (DNS only: the DNS-proxy rule of --fqdn).
type L7Rules struct {
	DNS []FQDNSelector `json:"dns,omitempty"`
}

// FQDNSelector is api.FQDNSelector.
type FQDNSelector struct {
	MatchName    string `json:"matchName,omitempty"`
	MatchPattern string `json:"matchPattern,omitempty"`
}

// ICMPRule is api.ICMPRule.
type ICMPRule struct {
	Fields []ICMPField `json:"fields,omitempty"`
}

// ICMPField is api.ICMPField: a family (IPv4, IPv6) and a type, by number
// or by Cilium's CamelCase name.
type ICMPField struct {
	Family string `json:"family,omitempty"`
	Type   string `json:"type"`
}

// Cilium entity names (api.Entity) flowfence writes.
const (
	EntityWorld         = "world"
	EntityHost          = "host"
	EntityRemoteNode    = "remote-node"
	EntityKubeAPIServer = "kube-apiserver"
)

// Label keys.
const (
	// NamespaceKey is the label Cilium gives every pod with its namespace:
	// a cross-namespace peer carries it (a peer without it is in the
	// policy's own namespace).
	NamespaceKey = "k8s:io.kubernetes.pod.namespace"
	// SourcePrefix restricts a peer label to Kubernetes pod labels.
	SourcePrefix = "k8s:"
)
