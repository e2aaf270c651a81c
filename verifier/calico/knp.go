package calico

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/verifier"
)

// Calico's rendering of a Kubernetes NetworkPolicy (libcalico-go
// K8sNetworkPolicyToCalico): a NetworkPolicy named knp.default.<name>, in
// the default tier, at order 1000.
const (
	knpPrefix = "knp.default."
	knpOrder  = 1000.0
)

// kubernetesSpec is a StagedKubernetesNetworkPolicy's spec: a
// networking.k8s.io/v1 NetworkPolicySpec and the staged action.
type kubernetesSpec struct {
	StagedAction string `json:"stagedAction,omitempty"`
	networkingv1.NetworkPolicySpec
}

// decodeKubernetes decodes a StagedKubernetesNetworkPolicy's spec
// strictly, validates it as the API server validates the NetworkPolicy
// promotion creates (and defaults its policyTypes as the API server does),
// and returns it as the Calico policy Calico enforces for that
// NetworkPolicy, stagedAction set.
func decodeKubernetes(data []byte, namespace, name string) (*PolicySpec, error) {
	var s kubernetesSpec
	if !verifier.IsNullJSON(data) {
		if err := verifier.StrictJSON(data, &s, "a networking.k8s.io/v1 NetworkPolicySpec and stagedAction"); err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
	}
	action, err := stagedAction(s.StagedAction)
	if err != nil {
		return nil, err
	}
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: s.NetworkPolicySpec}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	if err := k8s.Validate(np); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	p := kubernetesToCalico(&np.Spec)
	p.StagedAction = action
	return p, nil
}

// kubernetesToCalico converts a validated NetworkPolicySpec as Calico
// does: the pod selector ANDed with projectcalico.org/orchestrator ==
// 'k8s'; per rule one Allow rule per protocol and peer (ports without a
// protocol are TCP; a rule with a port of every port of a protocol admits
// the whole protocol; a rule without ports every protocol); a peer's pod
// selector likewise, its namespace selector over the namespace's labels
// (empty: all()), without one the policy's namespace; an ipBlock as nets
// and its except as notNets.
func kubernetesToCalico(s *networkingv1.NetworkPolicySpec) *PolicySpec {
	order := knpOrder
	p := &PolicySpec{Order: &order, Selector: k8sSelector(&s.PodSelector, true)}
	for _, t := range s.PolicyTypes {
		p.Types = append(p.Types, string(t))
	}
	for _, r := range s.Ingress {
		p.Ingress = append(p.Ingress, k8sRules(r.From, r.Ports, true)...)
	}
	for _, r := range s.Egress {
		p.Egress = append(p.Egress, k8sRules(r.To, r.Ports, false)...)
	}
	return p
}

func k8sRules(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ingress bool) []Rule {
	// ports by protocol; nil: every port of it; "" (no ports): everything
	byProto := map[string][]json.RawMessage{}
	if len(ports) == 0 {
		byProto[""] = nil
	}
	for _, q := range ports {
		proto := string(corev1.ProtocolTCP)
		if q.Protocol != nil {
			proto = string(*q.Protocol)
		}
		if q.Port == nil {
			byProto[proto] = nil
			continue
		}
		if cur, ok := byProto[proto]; ok && cur == nil {
			continue // every port of the protocol already
		}
		port := q.Port.String()
		var raw []byte
		switch {
		case q.EndPort != nil:
			raw, _ = json.Marshal(fmt.Sprintf("%s:%d", port, *q.EndPort))
		case q.Port.StrVal != "":
			raw, _ = json.Marshal(port)
		default:
			raw, _ = json.Marshal(q.Port.IntVal)
		}
		byProto[proto] = append(byProto[proto], raw)
	}
	if len(peers) == 0 {
		peers = []networkingv1.NetworkPolicyPeer{{}}
	}
	var out []Rule
	for _, proto := range slices.Sorted(maps.Keys(byProto)) {
		for _, peer := range peers {
			r := Rule{Action: caliout.ActionAllow}
			if proto != "" {
				r.Protocol, _ = json.Marshal(proto)
			}
			side := k8sPeer(peer)
			ps := byProto[proto]
			if ingress {
				r.Source = side
				if len(ps) > 0 {
					r.Destination = &EntityRule{Ports: ps}
				}
			} else {
				side.Ports = ps
				r.Destination = side
			}
			out = append(out, r)
		}
	}
	return out
}

// k8sPeer is the EntityRule of one NetworkPolicyPeer (the zero peer: any).
func k8sPeer(peer networkingv1.NetworkPolicyPeer) *EntityRule {
	er := &EntityRule{}
	switch {
	case peer.IPBlock != nil:
		er.Nets = []string{peer.IPBlock.CIDR}
		er.NotNets = slices.Clone(peer.IPBlock.Except)
	case peer.PodSelector != nil || peer.NamespaceSelector != nil:
		er.Selector = k8sSelector(peer.PodSelector, true)
		if peer.NamespaceSelector != nil {
			er.NamespaceSelector = k8sSelector(peer.NamespaceSelector, false)
		}
	}
	return er
}

// k8sSelector renders a label selector in Calico's selector language: a
// pod selector ANDed with the orchestrator label, an empty namespace
// selector all().
func k8sSelector(s *metav1.LabelSelector, pod bool) string {
	var terms []string
	if pod {
		terms = append(terms, "projectcalico.org/orchestrator == 'k8s'")
	}
	if s == nil {
		return strings.Join(terms, " && ")
	}
	if !pod && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "all()"
	}
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, s.MatchLabels[k]))
	}
	for _, e := range s.MatchExpressions {
		values := "'" + strings.Join(e.Values, "', '") + "'"
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			terms = append(terms, fmt.Sprintf("%s in { %s }", e.Key, values))
		case metav1.LabelSelectorOpNotIn:
			terms = append(terms, fmt.Sprintf("%s not in { %s }", e.Key, values))
		case metav1.LabelSelectorOpExists:
			terms = append(terms, fmt.Sprintf("has(%s)", e.Key))
		case metav1.LabelSelectorOpDoesNotExist:
			terms = append(terms, fmt.Sprintf("! has(%s)", e.Key))
		}
	}
	return strings.Join(terms, " && ")
}
