// Package verifier evaluates Kubernetes NetworkPolicy semantics: given a set
// of NetworkPolicies it answers whether a single flow (source peer,
// destination peer, protocol, port) is admitted, and explains which policies
// isolated each side and which rules admitted it.
//
// It is flowfence's reference oracle for generated policies. The semantics
// are those of the NetworkPolicy API as the API server defaults and validates
// it and as sigs.k8s.io/kube-network-policies enforces it:
//
//   - Egress of the source pod is checked against the policies of the
//     source's namespace that select it and whose policyTypes include Egress;
//     ingress of the destination pod against the policies of the
//     destination's namespace that select it with policyTypes including
//     Ingress. A direction no policy selects is open; a peer that is not a
//     pod has no policies of its own. Traffic is allowed when both
//     directions admit it.
//   - Empty policyTypes default to Ingress, plus Egress when the policy has
//     egress rules; an empty port protocol defaults to TCP; empty and nil
//     rule lists are the same (the API server stores both as nil), so a
//     policy type without rules denies everything in that direction.
//   - Named ports resolve through the destination pod's container ports, in
//     both directions.
//   - Namespaces carry the immutable label kubernetes.io/metadata.name set to
//     their name, as the API server sets it; Evaluate adds it when
//     Peer.NamespaceLabels lacks it.
//   - A policy or pod with an empty namespace is in namespace "default".
//
// With CNI "cilium", ipBlock peers never match a pod or a node: Cilium
// applies CIDR rules only to peers outside the cluster.
//
// Protocols other than TCP, UDP and SCTP cannot be expressed by a
// NetworkPolicy port; such traffic gets the verdict Inexpressible when a
// policy isolates either side, and Allowed when neither side is isolated.
// The ingress from a pod's own node (kubelet probes), which the API
// documentation allows implicitly, is not modelled: nodes are ordinary
// peers.
package verifier

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// CNI names the network plugin whose NetworkPolicy implementation the engine
// mimics where implementations differ.
type CNI string

const (
	// CNIKubernetes is upstream semantics, as in
	// sigs.k8s.io/kube-network-policies: ipBlock peers match any IP,
	// including pod and node IPs. It is the default.
	CNIKubernetes CNI = "kubernetes"
	// CNICilium is Cilium's semantics: ipBlock peers match only peers that
	// are neither pods nor nodes.
	CNICilium CNI = "cilium"
)

// DefaultNamespace is the namespace of a policy or pod whose namespace is
// empty.
const DefaultNamespace = "default"

// NamespaceNameLabel is the label the API server puts on every namespace,
// with the namespace's name as its value.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Options configures an Engine.
type Options struct {
	// CNI selects implementation-specific semantics; empty means
	// CNIKubernetes.
	CNI CNI
}

// NamedPort is a container port a pod declares under a name.
type NamedPort struct {
	Port     int32
	Protocol corev1.Protocol // empty means TCP, as in a container port
}

// Peer is one end of a flow.
type Peer struct {
	// IsPod marks a pod; Namespace, Labels, NamespaceLabels and NamedPorts
	// describe it. A peer that is not a pod is matched by ipBlocks only.
	IsPod           bool
	Namespace       string
	Labels          map[string]string
	NamespaceLabels map[string]string
	// IP is the peer's address, matched against ipBlocks.
	IP netip.Addr
	// IsNode marks a node address (host or remote node); it matters for
	// CNICilium, whose ipBlocks do not match nodes.
	IsNode bool
	// NamedPorts maps a container port name to its port and protocol.
	NamedPorts map[string]NamedPort
	// Entity is the reserved identity of a peer that is not a pod (world,
	// host, remote-node, kube-apiserver, health, init, unmanaged, ingress;
	// empty for a pod, and for an address outside the cluster: world). The
	// Cilium engine matches entities by it; NetworkPolicy ignores it.
	Entity string
	// DNSNames are the names observed resolving to the peer's address,
	// matched by Cilium's toFQDNs.
	DNSNames []string
}

// Traffic is one flow from Src to Dst.
type Traffic struct {
	Src, Dst Peer
	// Protocol is TCP, UDP or SCTP (case-insensitive; empty means TCP), or
	// any other value, such as "ICMPv4" or "ICMPv6", for protocols a
	// NetworkPolicy cannot express.
	Protocol corev1.Protocol
	// Port is the destination port.
	Port int32
}

// Verdict is the outcome of evaluating one flow.
type Verdict int

const (
	// Allowed means both directions admit the flow.
	Allowed Verdict = iota + 1
	// Denied means a policy isolates a side and no rule admits the flow.
	Denied
	// Inexpressible means the flow uses a protocol NetworkPolicy cannot
	// express and a side is isolated: it is counted, not a failure.
	Inexpressible
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "Allowed"
	case Denied:
		return "Denied"
	case Inexpressible:
		return "Inexpressible"
	default:
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
}

// DirectionResult explains one direction (egress of the source or ingress of
// the destination).
type DirectionResult struct {
	// Isolated is true when at least one policy selects the pod for this
	// direction.
	Isolated bool
	// Allowed is true when the direction is not isolated or a rule admits
	// the flow. For protocols NetworkPolicy cannot express, only rules
	// without a ports list can admit it (such rules match every protocol in
	// kube-network-policies and cyclonus); the Verdict is then
	// Inexpressible all the same.
	Allowed bool
	// Policies are the "namespace/name" of the policies selecting the pod
	// in this direction, sorted.
	Policies []string
	// Matched are the policies, among Policies, with a rule admitting the
	// flow, sorted.
	Matched []string
	// UnknownNamedPort is true when a rule whose peers admit the flow names
	// a port (of the flow's protocol) the destination does not declare, so
	// that port entry could not match.
	UnknownNamedPort bool
	// Denied are the policies, among Policies, whose deny rule matches the
	// flow (Cilium ingressDeny/egressDeny, Calico action Deny): a deny wins
	// over every allow. NetworkPolicy has none.
	Denied []string
	// Detail says how a flavor with ordered rules reached the decision
	// (Calico: the tier and the deciding rule, or the end of a tier); empty
	// for NetworkPolicy.
	Detail string
}

// Result is the evaluation of one flow.
type Result struct {
	Verdict Verdict
	Egress  DirectionResult
	Ingress DirectionResult
	// Reason is a one-line human explanation of the verdict.
	Reason string
}

// Engine evaluates flows against a fixed set of NetworkPolicies. It is
// immutable after New and safe for concurrent use.
type Engine struct {
	cni         CNI
	byNamespace map[string]*namespacePolicies
	count       int
}

// Len returns the number of policies in the engine.
func (e *Engine) Len() int { return e.count }

// CNI returns the CNI semantics the engine applies.
func (e *Engine) CNI() CNI { return e.cni }
