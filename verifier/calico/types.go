// Package calico evaluates Calico projectcalico.org/v3 NetworkPolicy and
// GlobalNetworkPolicy with Calico's semantics (Felix's policy model):
//
//   - Tiers in order (Tier spec.order, unset last, then name; the default
//     tier, implicit, at 1000000). In a tier, the policies selecting the
//     endpoint for the direction are taken in order (spec.order, unset
//     last, then name) and their rules in order: the first matching rule's
//     action decides — Allow, Deny, Pass (on to the next tier), Log (go
//     on). A tier with such policies where no rule matches ends in its
//     defaultAction: Deny (the end-of-tier drop) unless the Tier says Pass.
//     A tier with no such policy is skipped.
//   - When no tier decides (no policy selects the endpoint, or every tier
//     passed), the Kubernetes namespace profile applies: allowed.
//   - Staged policies are evaluated as promoted (Promote, the one home of
//     that rule): what the tree will enforce once its staged policies are
//     promoted, which is what verify and diff are asked. A
//     StagedNetworkPolicy or StagedGlobalNetworkPolicy with stagedAction
//     Set (or none: Calico's default) is the NetworkPolicy or
//     GlobalNetworkPolicy of the same name and spec, replacing an enforced
//     one of that name; with stagedAction Delete it removes the enforced
//     policy of that name. A StagedKubernetesNetworkPolicy is the
//     networking.k8s.io/v1 NetworkPolicy it becomes, as Calico converts
//     one: a NetworkPolicy named knp.default.<name> in the default tier at
//     order 1000 (knp.go). stagedAction Learn and Ignore (Calico
//     Enterprise's policy recommendations) say nothing about promotion:
//     an error, as is any other value.
//   - A NetworkPolicy selects endpoints of its namespace; a
//     GlobalNetworkPolicy of every namespace (spec.namespaceSelector
//     narrows it). A rule's selector without namespaceSelector selects
//     the policy's namespace (every namespace for a global policy);
//     namespaceSelector matches the namespace's labels plus
//     projectcalico.org/name. Endpoint labels include
//     projectcalico.org/namespace and projectcalico.org/orchestrator (k8s).
//   - nets/notNets match the peer's address (pods carry none in flow
//     graphs: a nets rule never matches a pod), ports and notPorts (numbers,
//     "lo:hi" ranges, named ports) the destination port, protocol and
//     notProtocol, ipVersion, icmp/notICMP types (an ICMP flow without a
//     type is an echo request).
//
// Selector expressions: all(), global(), has(), ==, !=, in, not in,
// contains, starts with, ends with, !, &&, ||, parentheses. Anything else
// (serviceAccounts, services, HTTP match, source ports, doNotTrack,
// preDNAT, applyOnForward, …) is refused with an error naming the object.
package calico

import (
	"encoding/json"

	caliout "github.com/flowfence/flowfence/output/calico"
)

// Object is one decoded Calico resource this package evaluates: a policy
// (PolicySpec set) or a Tier (TierSpec set).
type Object struct {
	Kind      string
	Namespace string // empty for global kinds and tiers
	Name      string
	Policy    *PolicySpec
	Tier      *TierSpec
	// From is, for a policy Promote made of a staged one, the staged
	// document as read ("StagedNetworkPolicy shop/web"); empty otherwise.
	From string
}

// ID names the object in errors: its kind and key, or the staged document
// it was promoted from.
func (o *Object) ID() string {
	if o.From != "" {
		return o.From + " (as promoted)"
	}
	return o.Kind + " " + o.Key()
}

// Key is how results name the object: "namespace/name" or the name.
func (o *Object) Key() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// PolicySpec is the spec of a (Global)NetworkPolicy: output/calico's
// PolicySpec and the members hand-written policies use.
type PolicySpec struct {
	Tier              string   `json:"tier,omitempty"`
	Order             *float64 `json:"order,omitempty"`
	Selector          string   `json:"selector,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	Types             []string `json:"types,omitempty"`
	Ingress           []Rule   `json:"ingress,omitempty"`
	Egress            []Rule   `json:"egress,omitempty"`
	StagedAction      string   `json:"stagedAction,omitempty"`
}

// Rule is one policy rule.
type Rule struct {
	Action      string      `json:"action"`
	Protocol    Protocol    `json:"protocol,omitempty"`
	NotProtocol Protocol    `json:"notProtocol,omitempty"`
	IPVersion   int         `json:"ipVersion,omitempty"`
	ICMP        *ICMPFields `json:"icmp,omitempty"`
	NotICMP     *ICMPFields `json:"notICMP,omitempty"`
	Source      *EntityRule `json:"source,omitempty"`
	Destination *EntityRule `json:"destination,omitempty"`
	Metadata    *struct {
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata,omitempty"`
}

// Protocol is a protocol name or number.
type Protocol = json.RawMessage

// ICMPFields match an ICMP type and code.
type ICMPFields struct {
	Type *int `json:"type,omitempty"`
	Code *int `json:"code,omitempty"`
}

// EntityRule matches one side of a packet.
type EntityRule struct {
	Nets              []string          `json:"nets,omitempty"`
	NotNets           []string          `json:"notNets,omitempty"`
	Selector          string            `json:"selector,omitempty"`
	NotSelector       string            `json:"notSelector,omitempty"`
	NamespaceSelector string            `json:"namespaceSelector,omitempty"`
	Ports             []json.RawMessage `json:"ports,omitempty"`
	NotPorts          []json.RawMessage `json:"notPorts,omitempty"`
}

// TierSpec is the spec of a Tier: output/calico's, whose members are all a
// Tier has that this package evaluates.
type TierSpec = caliout.TierSpec
