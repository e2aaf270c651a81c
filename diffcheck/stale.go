package diffcheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// StaleRule is one element of a policy rule — (ingress|egress rule) × peer
// × port — that admits none of the flows observed in the window.
type StaleRule struct {
	// Policy is "namespace/name"; File holds it (relative to the tree).
	Policy    string `json:"policy"`
	Namespace string `json:"namespace"`
	File      string `json:"file"`
	Direction string `json:"direction"` // ingress | egress
	// Rule is the index in spec.ingress or spec.egress; Peer and Port the
	// index in its from/to and ports lists (-1: the list is empty, meaning
	// every peer or every port).
	Rule      int    `json:"rule"`
	PeerIndex int    `json:"peerIndex"`
	PortIndex int    `json:"portIndex"`
	Peer      string `json:"peer"`
	Port      string `json:"port"`
	// Note explains an element flows can never match (named ports).
	Note string `json:"note,omitempty"`
}

// element is one (rule × peer × port) of a policy.
type element struct {
	StaleRule
	np *networkingv1.NetworkPolicy // a policy with just this element
	// group joins the elements that are one peer for people: the /0
	// ipBlocks of a rule (0.0.0.0/0 and ::/0, "any source"), per port.
	group string
}

// StaleRules returns the policy rule elements of the tree that no learned
// edge of g uses, sorted by policy, direction, rule, peer, port.
//
// Method (exact, and the verifier's own semantics): every rule of every
// policy is split into elements, one per peer of its from/to list and per
// entry of its ports list (an empty list is one "every peer" / "every port"
// element); a rule admits a flow exactly when one of its elements does.
// Each element becomes a policy of its own — the original's namespace and
// podSelector, one policy type, one rule with one peer and one port — and
// all of them are compiled into one verifier engine. Every learned edge of
// the observation is then evaluated once per pair of label sets seen on
// its ends (as verify does); an element is used when it appears in the
// Matched list of its direction: its policy selects the pod on that side
// and its single peer and port admit the flow. This is per direction and
// independent of the other side's verdict: a rule that admits observed
// traffic is not stale even when the other end's policies deny it. Edges
// from the pod's own node and ICMP count like any other observed flow;
// denied attempts (connections an existing policy dropped, never answered)
// do not. The default-deny and the DNS bundle (policy.NameDNS) are never
// reported: the first has no rules, the second admits DNS whether or not
// every namespace resolved names in the window. Named ports cannot be
// resolved from flows (they carry numbers): such elements are reported
// with a note. The /0 ipBlocks of one rule (flowfence writes "any
// source" as 0.0.0.0/0 and ::/0) are one peer: stale only when neither
// family was used on that port.
//
// Cilium and Calico trees are split by the same method into their own
// elements (elements.go; their peers and ports described in stale_flavors.go).
func (c *Checker) StaleRules(g *learner.Graph) ([]StaleRule, error) {
	skip := skipStale
	if c.tree.Flavor == policyset.FlavorCalico {
		skip = skipCalicoStale
	}
	es, err := c.elements(skip)
	if err != nil {
		return nil, err
	}
	if len(es.List) == 0 {
		return nil, nil
	}
	used := make([]bool, len(es.List))
	edgeTraffic(g, c.opts.Ports, func(t verifier.Traffic) {
		for _, i := range es.Match(t, Exact) {
			used[i] = true
		}
	})
	groupUsed := map[string]bool{}
	for i := range es.List {
		groupUsed[es.group[i]] = groupUsed[es.group[i]] || used[i]
	}
	var out []StaleRule
	at := map[string]int{}
	for i, el := range es.List {
		if groupUsed[es.group[i]] {
			continue
		}
		if j, ok := at[es.group[i]]; ok {
			out[j].Peer += " + " + el.Peer
			continue
		}
		at[es.group[i]] = len(out)
		out = append(out, el)
	}
	return out, nil
}

// splitPolicy returns the elements of a normalized policy, in spec order.
func splitPolicy(np *networkingv1.NetworkPolicy, file string) []*element {
	var out []*element
	add := func(dir string, ri, pi, qi int, peer *networkingv1.NetworkPolicyPeer, port *networkingv1.NetworkPolicyPort) {
		el := &element{StaleRule: StaleRule{Policy: PolicyKey(np), Namespace: np.Namespace, File: file, Direction: dir,
			Rule: ri, PeerIndex: pi, PortIndex: qi, Peer: DescribePeer(peer, np.Namespace), Port: DescribePort(port)}}
		if port != nil && port.Port != nil && port.Port.StrVal != "" {
			el.Note = "named port: flows carry port numbers, so it cannot be matched against them; check it by hand"
		}
		en := &networkingv1.NetworkPolicy{
			TypeMeta:   np.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Namespace: np.Namespace, Name: fmt.Sprintf("e%d-%s", len(out), np.Name)},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: *np.Spec.PodSelector.DeepCopy()},
		}
		var peers []networkingv1.NetworkPolicyPeer
		if peer != nil {
			peers = []networkingv1.NetworkPolicyPeer{*peer.DeepCopy()}
		}
		var ports []networkingv1.NetworkPolicyPort
		if port != nil {
			ports = []networkingv1.NetworkPolicyPort{*port.DeepCopy()}
		}
		if dir == "ingress" {
			en.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			en.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: peers, Ports: ports}}
		} else {
			en.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			en.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: peers, Ports: ports}}
		}
		el.np = en
		el.group = fmt.Sprintf("%s|%s|%d|%d|%d", el.Policy, dir, ri, pi, qi)
		if peer != nil && peer.IPBlock != nil && strings.HasSuffix(peer.IPBlock.CIDR, "/0") {
			el.group = fmt.Sprintf("%s|%s|%d|any|%d", el.Policy, dir, ri, qi)
		}
		out = append(out, el)
	}
	each := func(dir string, ri int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) {
		peerIdx := []int{-1}
		if len(peers) > 0 {
			peerIdx = peerIdx[:0]
			for i := range peers {
				peerIdx = append(peerIdx, i)
			}
		}
		portIdx := []int{-1}
		if len(ports) > 0 {
			portIdx = portIdx[:0]
			for i := range ports {
				portIdx = append(portIdx, i)
			}
		}
		for _, pi := range peerIdx {
			for _, qi := range portIdx {
				var pe *networkingv1.NetworkPolicyPeer
				if pi >= 0 {
					pe = &peers[pi]
				}
				var po *networkingv1.NetworkPolicyPort
				if qi >= 0 {
					po = &ports[qi]
				}
				add(dir, ri, pi, qi, pe, po)
			}
		}
	}
	if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		for ri, r := range np.Spec.Ingress {
			each("ingress", ri, r.From, r.Ports)
		}
	}
	if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		for ri, r := range np.Spec.Egress {
			each("egress", ri, r.To, r.Ports)
		}
	}
	return out
}

// DescribePeer renders a NetworkPolicy peer for a report:
// "shop/{app=cart}" (pods of a namespace selected by name, "{*}" for all),
// "namespaces {team=x}/{app=cart}", "10.0.0.1/32", "0.0.0.0/0 except …";
// nil is "any peer".
func DescribePeer(p *networkingv1.NetworkPolicyPeer, policyNS string) string {
	if p == nil {
		return "any peer"
	}
	if p.IPBlock != nil {
		s := p.IPBlock.CIDR
		if len(p.IPBlock.Except) > 0 {
			s += " except " + strings.Join(p.IPBlock.Except, ", ")
		}
		return s
	}
	pods := "{*}"
	if p.PodSelector != nil {
		pods = describeSelector(p.PodSelector)
	}
	switch {
	case p.NamespaceSelector == nil:
		return policyNS + "/" + pods
	case len(p.NamespaceSelector.MatchExpressions) == 0 && len(p.NamespaceSelector.MatchLabels) == 1 && p.NamespaceSelector.MatchLabels[verifier.NamespaceNameLabel] != "":
		return p.NamespaceSelector.MatchLabels[verifier.NamespaceNameLabel] + "/" + pods
	default:
		return "namespaces " + describeSelector(p.NamespaceSelector) + "/" + pods
	}
}

func describeSelector(s *metav1.LabelSelector) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, e := range s.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(string(e.Operator)), strings.Join(e.Values, ", ")))
	}
	if len(parts) == 0 {
		return "{*}"
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// DescribePort renders a NetworkPolicy port: "TCP/8080", "TCP/8000-8100",
// "TCP/http", "UDP" (every port); nil is "any port".
func DescribePort(p *networkingv1.NetworkPolicyPort) string {
	if p == nil {
		return "any port"
	}
	proto := "TCP"
	if p.Protocol != nil {
		proto = string(*p.Protocol)
	}
	switch {
	case p.Port == nil:
		return proto
	case p.EndPort != nil:
		return fmt.Sprintf("%s/%s-%d", proto, p.Port.String(), *p.EndPort)
	default:
		return proto + "/" + p.Port.String()
	}
}
