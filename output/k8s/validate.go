package k8s

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/flowfence/flowfence/internal/k8svalid"
)

// Validate applies the checks the API server runs on a NetworkPolicy
// (k8s.io/kubernetes pkg/apis/networking/validation ValidateNetworkPolicy,
// rebuilt on apimachinery so the main module stays light): object meta
// (DNS-1123 names, label syntax), selectors, ports and endPort ranges,
// protocols, peers (exactly one kind, ipBlock alone), strict CIDRs with
// except strictly inside cidr, and policyTypes.
func Validate(np *networkingv1.NetworkPolicy) error {
	if quickValid(np) {
		return nil
	}
	return validate(np)
}

// validate is Validate without the fast path: apimachinery's checks, its
// errors.
func validate(np *networkingv1.NetworkPolicy) error {
	errs := apivalidation.ValidateObjectMeta(&np.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs = append(errs, metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, spec.Child("podSelector"))...)
	for i, r := range np.Spec.Ingress {
		errs = append(errs, validateRule(spec.Child("ingress").Index(i), r.Ports, "from", r.From)...)
	}
	for i, r := range np.Spec.Egress {
		errs = append(errs, validateRule(spec.Child("egress").Index(i), r.Ports, "to", r.To)...)
	}
	seen := map[networkingv1.PolicyType]bool{}
	for i, t := range np.Spec.PolicyTypes {
		p := spec.Child("policyTypes").Index(i)
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(p, t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}))
		}
		if seen[t] {
			errs = append(errs, field.Duplicate(p, t))
		}
		seen[t] = true
	}
	if len(np.Spec.PolicyTypes) > 2 {
		errs = append(errs, field.Invalid(spec.Child("policyTypes"), np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	return errs.ToAggregate()
}

// validateRule checks one ingress or egress rule at p: its ports, then its
// peers (under peersKey, "from" or "to").
func validateRule(p *field.Path, ports []networkingv1.NetworkPolicyPort, peersKey string, peers []networkingv1.NetworkPolicyPeer) field.ErrorList {
	var errs field.ErrorList
	for j := range ports {
		errs = append(errs, validatePort(&ports[j], p.Child("ports").Index(j))...)
	}
	for j := range peers {
		errs = append(errs, validatePeer(&peers[j], p.Child(peersKey).Index(j))...)
	}
	return errs
}

func validatePort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func validatePeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	opts := metav1validation.LabelSelectorValidationOptions{}
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, p.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(p, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(ib *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	if ib.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDR(p.Child("cidr"), ib.CIDR)
	cidr, err := netip.ParsePrefix(ib.CIDR)
	if err != nil {
		return errs
	}
	for i, e := range ib.Except {
		ep := p.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDR(ep, e)...)
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			continue
		}
		if !cidr.Contains(ex.Addr()) || cidr.Bits() >= ex.Bits() {
			errs = append(errs, field.Invalid(ep, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// quickValid reports policies validate certainly accepts, checked without
// apimachinery's regular expressions and error paths: object meta with
// only a DNS-1123 name, a namespace and valid labels; selectors of valid
// matchLabels only; numeric ports (endPort in range); peers of one kind
// (or pod and namespace selectors); canonical CIDRs with excepts strictly
// inside; Ingress and Egress at most once each. Anything else (named
// ports, expressions, any doubt) is left to validate, which words the
// errors.
func quickValid(np *networkingv1.NetworkPolicy) bool {
	m := &np.ObjectMeta
	if !onlyNameNamespaceLabels(m) || m.Name == "" || !k8svalid.DNS1123Subdomain(m.Name) ||
		m.Namespace == "" || !k8svalid.DNS1123Label(m.Namespace) || !validLabels(m.Labels) {
		return false
	}
	if !quickSelector(&np.Spec.PodSelector) {
		return false
	}
	for _, r := range np.Spec.Ingress {
		if !quickPorts(r.Ports) || !quickPeers(r.From) {
			return false
		}
	}
	for _, r := range np.Spec.Egress {
		if !quickPorts(r.Ports) || !quickPeers(r.To) {
			return false
		}
	}
	var ingress, egress bool
	for _, t := range np.Spec.PolicyTypes {
		switch {
		case t == networkingv1.PolicyTypeIngress && !ingress:
			ingress = true
		case t == networkingv1.PolicyTypeEgress && !egress:
			egress = true
		default:
			return false
		}
	}
	return true
}

func validLabels(l map[string]string) bool {
	for k, v := range l {
		if !k8svalid.LabelKey(k) || !k8svalid.LabelValue(v) {
			return false
		}
	}
	return true
}

func quickSelector(ls *metav1.LabelSelector) bool {
	return len(ls.MatchExpressions) == 0 && validLabels(ls.MatchLabels)
}

func quickPorts(ports []networkingv1.NetworkPolicyPort) bool {
	for _, p := range ports {
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP && *p.Protocol != corev1.ProtocolUDP && *p.Protocol != corev1.ProtocolSCTP {
			return false
		}
		switch {
		case p.Port == nil:
			if p.EndPort != nil {
				return false
			}
		case p.Port.Type == intstr.Int:
			if p.Port.IntVal < 1 || p.Port.IntVal > 65535 {
				return false
			}
			if p.EndPort != nil && (*p.EndPort < p.Port.IntVal || *p.EndPort > 65535) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func quickPeers(peers []networkingv1.NetworkPolicyPeer) bool {
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if p.PodSelector != nil || p.NamespaceSelector != nil || !quickIPBlock(p.IPBlock) {
				return false
			}
		case p.PodSelector == nil && p.NamespaceSelector == nil:
			return false
		default:
			if p.PodSelector != nil && !quickSelector(p.PodSelector) || p.NamespaceSelector != nil && !quickSelector(p.NamespaceSelector) {
				return false
			}
		}
	}
	return true
}

func quickIPBlock(ib *networkingv1.IPBlock) bool {
	if ib.CIDR == "" || len(validation.IsValidCIDR(nil, ib.CIDR)) > 0 {
		return false
	}
	cidr, err := netip.ParsePrefix(ib.CIDR)
	if err != nil {
		return false
	}
	for _, e := range ib.Except {
		if len(validation.IsValidCIDR(nil, e)) > 0 {
			return false
		}
		ex, err := netip.ParsePrefix(e)
		if err != nil || !cidr.Contains(ex.Addr()) || cidr.Bits() >= ex.Bits() {
			return false
		}
	}
	return true
}
