// Package calico renders the policy model as Calico projectcalico.org/v3
// resources: per namespace a NetworkPolicy per workload direction (selector
// expressions, ingress/egress rules with action Allow, source/destination
// selectors, namespaceSelector on projectcalico.org/name, nets with notNets,
// ports, protocols including ICMP), the namespace default-deny (all(), types
// Ingress and Egress, no rules) and the DNS bundle; cluster-wide the
// metadata guard of docs/DESIGN.md rule 7 — a GlobalNetworkPolicy in its own
// Tier ordered before every other tier, whose egress rules are Pass for the
// DNS ports of a guarded address (GKE Cloud DNS on 169.254.169.254:53), Deny
// to the guarded addresses, then Pass for everything else (a tier that
// selects a pod and takes no action drops the packet), with the named
// opt-ins excluded from its selector. With a tier (--calico-tier) the
// workload policies live in that Tier, emitted with its order; with staged
// (--staged) every policy is a StagedNetworkPolicy/StagedGlobalNetworkPolicy
// (stagedAction Set) for an audit-then-enforce rollout.
//
// The resources are small structs of our own (github.com/projectcalico/api
// is not available here); tests/calico validates them against Calico's
// published CRD schemas.
package calico

import (
	"cmp"
	"encoding/json"
	"fmt"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/record"
)

// API group/version and kinds.
const (
	APIVersion                    = "projectcalico.org/v3"
	KindNetworkPolicy             = "NetworkPolicy"
	KindGlobalNetworkPolicy       = "GlobalNetworkPolicy"
	KindStagedNetworkPolicy       = "StagedNetworkPolicy"
	KindStagedGlobalNetworkPolicy = "StagedGlobalNetworkPolicy"
	KindTier                      = "Tier"
)

// Rule actions, policy types, tier default actions, staged actions.
const (
	ActionAllow = "Allow"
	ActionDeny  = "Deny"
	ActionPass  = "Pass"

	TypeIngress = "Ingress"
	TypeEgress  = "Egress"

	StagedActionSet = "Set"
)

// Object is one projectcalico.org/v3 resource.
type Object struct {
	output.ObjectHead
	// Spec is a *PolicySpec or a *TierSpec.
	Spec any `json:"spec"`
}

// PolicySpec is the spec of a (Staged)(Global)NetworkPolicy.
type PolicySpec struct {
	// Tier is the policy's tier (omitted: the default tier).
	Tier  string   `json:"tier,omitempty"`
	Order *float64 `json:"order,omitempty"`
	// Selector selects the endpoints the policy applies to.
	Selector string   `json:"selector"`
	Types    []string `json:"types"`
	Ingress  []Rule   `json:"ingress,omitempty"`
	Egress   []Rule   `json:"egress,omitempty"`
	// StagedAction is Set on the staged kinds.
	StagedAction string `json:"stagedAction,omitempty"`
}

// Rule is one policy rule.
type Rule struct {
	Action      string      `json:"action"`
	Protocol    string      `json:"protocol,omitempty"`
	IPVersion   int         `json:"ipVersion,omitempty"`
	Source      *EntityRule `json:"source,omitempty"`
	Destination *EntityRule `json:"destination,omitempty"`
}

// EntityRule matches one side of a packet.
type EntityRule struct {
	Nets              []string `json:"nets,omitempty"`
	NotNets           []string `json:"notNets,omitempty"`
	Selector          string   `json:"selector,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	Ports             []Port   `json:"ports,omitempty"`
}

// Port is one entry of a rule's ports (numorstring.Port): a number, or the
// name of a container port (Calico resolves it through the destination
// endpoints' named ports).
type Port struct {
	Number uint16
	Name   string
}

// Num is a numbered port.
func Num(n uint16) Port { return Port{Number: n} }

// MarshalJSON writes a number, or the name as a string.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.Name != "" {
		return json.Marshal(p.Name)
	}
	return json.Marshal(p.Number)
}

// UnmarshalJSON reads a number or a name (a port range string is not a
// port flowfence writes: an error).
func (p *Port) UnmarshalJSON(b []byte) error {
	var n uint16
	if err := json.Unmarshal(b, &n); err == nil {
		*p = Port{Number: n}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("port %s: a number or a container port name", b)
	}
	if !record.ValidPortName(s) {
		return fmt.Errorf("port %q: not a container port name", s)
	}
	*p = Port{Name: s}
	return nil
}

// comparePorts orders numbers before names.
func comparePorts(a, b Port) int {
	if (a.Name == "") != (b.Name == "") {
		if a.Name == "" {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(a.Number, b.Number), cmp.Compare(a.Name, b.Name))
}

// TierSpec is the spec of a Tier.
type TierSpec struct {
	Order         *float64 `json:"order,omitempty"`
	DefaultAction string   `json:"defaultAction,omitempty"`
}
