package cilium

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/flowfence/flowfence/record"
)

// Validate applies the checks Cilium's sanitizer (pkg/policy/api
// Rule.Sanitize, as the agent and operator run it) and the API server run on
// what flowfence writes, rebuilt here so the product module stays light:
// object meta, one of spec/specs, at least one rule section, one L3 peer
// kind per rule (toFQDNs with nothing else), ICMP never with toPorts, at
// most 40 ports per PortRule with valid numbers, ranges and protocols, DNS
// rules only on egress with explicit non-zero ports and no ranges, known
// entities, strict CIDRs with excepts inside, valid FQDN names and patterns,
// label selectors with valid keys and values. tests/cilium runs Cilium's
// real sanitizer on the same objects.
func Validate(obj *Object) error {
	var errs field.ErrorList
	if obj.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), obj.APIVersion, []string{APIVersion}))
	}
	md := field.NewPath("metadata")
	for _, msg := range validation.IsDNS1123Subdomain(obj.Metadata.Name) {
		errs = append(errs, field.Invalid(md.Child("name"), obj.Metadata.Name, msg))
	}
	switch obj.Kind {
	case KindCiliumNetworkPolicy:
		if obj.Metadata.Namespace == "" {
			errs = append(errs, field.Required(md.Child("namespace"), "a CiliumNetworkPolicy is namespaced"))
		}
	case KindCiliumClusterwideNetworkPolicy:
		if obj.Metadata.Namespace != "" {
			errs = append(errs, field.Forbidden(md.Child("namespace"), "a CiliumClusterwideNetworkPolicy is cluster-scoped"))
		}
	default:
		errs = append(errs, field.NotSupported(field.NewPath("kind"), obj.Kind, []string{KindCiliumNetworkPolicy, KindCiliumClusterwideNetworkPolicy}))
	}
	if obj.Metadata.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(obj.Metadata.Namespace) {
			errs = append(errs, field.Invalid(md.Child("namespace"), obj.Metadata.Namespace, msg))
		}
	}
	errs = append(errs, metav1validation.ValidateLabels(obj.Metadata.Labels, md.Child("labels"))...)
	switch {
	case obj.Spec == nil && len(obj.Specs) == 0:
		errs = append(errs, field.Required(field.NewPath("spec"), "spec or specs must be provided"))
	case obj.Spec != nil && len(obj.Specs) > 0:
		errs = append(errs, field.Forbidden(field.NewPath("specs"), "flowfence writes spec or specs, not both"))
	}
	if obj.Spec != nil {
		errs = append(errs, validateRule(obj.Spec, field.NewPath("spec"))...)
	}
	for i := range obj.Specs {
		errs = append(errs, validateRule(&obj.Specs[i], field.NewPath("specs").Index(i))...)
	}
	return errs.ToAggregate()
}

func validateRule(r *Rule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Ingress)+len(r.Egress)+len(r.EgressDeny) == 0 {
		errs = append(errs, field.Required(p, "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny"))
	}
	errs = append(errs, validateSelector(&r.EndpointSelector, p.Child("endpointSelector"))...)
	for i := range r.Ingress {
		in := &r.Ingress[i]
		ip := p.Child("ingress").Index(i)
		errs = append(errs, oneL3(ip, map[string]int{"fromEndpoints": len(in.FromEndpoints), "fromCIDRSet": len(in.FromCIDRSet), "fromEntities": len(in.FromEntities)})...)
		for j := range in.FromEndpoints {
			errs = append(errs, validateSelector(&in.FromEndpoints[j], ip.Child("fromEndpoints").Index(j))...)
		}
		errs = append(errs, validateCIDRSet(in.FromCIDRSet, ip.Child("fromCIDRSet"))...)
		errs = append(errs, validateEntities(in.FromEntities, ip.Child("fromEntities"))...)
		errs = append(errs, validatePorts(in.ToPorts, in.ICMPs, false, ip)...)
	}
	for i := range r.Egress {
		e := &r.Egress[i]
		ep := p.Child("egress").Index(i)
		errs = append(errs, oneL3(ep, map[string]int{"toEndpoints": len(e.ToEndpoints), "toCIDR": len(e.ToCIDR), "toCIDRSet": len(e.ToCIDRSet), "toEntities": len(e.ToEntities), "toFQDNs": len(e.ToFQDNs)})...)
		for j := range e.ToEndpoints {
			errs = append(errs, validateSelector(&e.ToEndpoints[j], ep.Child("toEndpoints").Index(j))...)
		}
		errs = append(errs, validateCIDRs(e.ToCIDR, ep.Child("toCIDR"))...)
		errs = append(errs, validateCIDRSet(e.ToCIDRSet, ep.Child("toCIDRSet"))...)
		errs = append(errs, validateEntities(e.ToEntities, ep.Child("toEntities"))...)
		for j, f := range e.ToFQDNs {
			errs = append(errs, validateFQDN(f, ep.Child("toFQDNs").Index(j))...)
		}
		errs = append(errs, validatePorts(e.ToPorts, e.ICMPs, true, ep)...)
	}
	for i, d := range r.EgressDeny {
		dp := p.Child("egressDeny").Index(i)
		errs = append(errs, validateCIDRs(d.ToCIDR, dp.Child("toCIDR"))...)
		for j, pr := range d.ToPorts {
			errs = append(errs, validatePortList(pr.Ports, false, dp.Child("toPorts").Index(j).Child("ports"))...)
		}
	}
	return errs
}

func oneL3(p *field.Path, members map[string]int) field.ErrorList {
	var set []string
	for k, n := range members {
		if n > 0 {
			set = append(set, k)
		}
	}
	if len(set) > 1 {
		slices.Sort(set)
		return field.ErrorList{field.Forbidden(p, "combining "+strings.Join(set, " and ")+" is not supported by Cilium")}
	}
	return nil
}

func validateSelector(s *Selector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range s.MatchLabels {
		errs = append(errs, validateLabelKey(k, p.Child("matchLabels"))...)
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Child("matchLabels").Key(k), v, msg))
		}
	}
	for i, r := range s.MatchExpressions {
		rp := p.Child("matchExpressions").Index(i)
		errs = append(errs, validateLabelKey(r.Key, rp.Child("key"))...)
		switch r.Operator {
		case OpIn, OpNotIn:
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must be specified for In and NotIn"))
			}
		default:
			errs = append(errs, field.NotSupported(rp.Child("operator"), r.Operator, []string{OpIn, OpNotIn}))
		}
		for j, v := range r.Values {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(rp.Child("values").Index(j), v, msg))
			}
		}
	}
	return errs
}

// validateLabelKey checks a key after its Cilium source prefix ("k8s:").
func validateLabelKey(k string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := k
	if src, rest, ok := strings.Cut(k, ":"); ok && !strings.Contains(src, "/") && !strings.Contains(src, ".") {
		key = rest
	}
	for _, msg := range validation.IsQualifiedName(key) {
		errs = append(errs, field.Invalid(p, k, msg))
	}
	return errs
}

func validateCIDRs(cs []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		if _, err := strictPrefix(c); err != nil {
			errs = append(errs, field.Invalid(p.Index(i), c, err.Error()))
		}
	}
	return errs
}

func validateCIDRSet(cs []CIDRRule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		cp := p.Index(i)
		pf, err := strictPrefix(c.CIDR)
		if err != nil {
			errs = append(errs, field.Invalid(cp.Child("cidr"), c.CIDR, err.Error()))
			continue
		}
		for j, e := range c.Except {
			ex, err := strictPrefix(e)
			switch {
			case err != nil:
				errs = append(errs, field.Invalid(cp.Child("except").Index(j), e, err.Error()))
			case !pf.Contains(ex.Addr()) || ex.Bits() <= pf.Bits():
				errs = append(errs, field.Invalid(cp.Child("except").Index(j), e, "must lie strictly inside cidr "+c.CIDR))
			}
		}
	}
	return errs
}

func strictPrefix(s string) (netip.Prefix, error) {
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		return pf, err
	}
	if pf != pf.Masked() {
		return pf, fmt.Errorf("not a network address (%s)", pf.Masked())
	}
	return pf, nil
}

// knownEntities are Cilium's entity names (api.EntitySelectorMapping).
func knownEntities() []string {
	return []string{"all", "world", "world-ipv4", "world-ipv6", "cluster", "host", "init", "ingress", "unmanaged",
		"remote-node", "health", "none", "kube-apiserver"}
}

func validateEntities(es []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range es {
		if !slices.Contains(knownEntities(), e) {
			errs = append(errs, field.NotSupported(p.Index(i), e, knownEntities()))
		}
	}
	return errs
}

func validateFQDN(f FQDNSelector, p *field.Path) field.ErrorList {
	switch {
	case (f.MatchName == "") == (f.MatchPattern == ""):
		return field.ErrorList{field.Invalid(p, f, "exactly one of matchName and matchPattern")}
	case f.MatchName != "" && !validFQDN(f.MatchName):
		return field.ErrorList{field.Invalid(p.Child("matchName"), f.MatchName, "not a DNS name")}
	case f.MatchPattern != "" && !validFQDNPattern(f.MatchPattern):
		return field.ErrorList{field.Invalid(p.Child("matchPattern"), f.MatchPattern, "not a DNS name pattern")}
	}
	return nil
}

func validatePorts(prs []PortRule, icmps []ICMPRule, egress bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(prs) > 0 && len(icmps) > 0 {
		errs = append(errs, field.Forbidden(p.Child("icmps"), "the ICMPs block may only be present without ToPorts"))
	}
	for i, pr := range prs {
		pp := p.Child("toPorts").Index(i)
		dns := pr.Rules != nil && len(pr.Rules.DNS) > 0
		if dns && !egress {
			errs = append(errs, field.Forbidden(pp.Child("rules", "dns"), "DNS rules are not allowed on ingress"))
		}
		if dns && len(pr.Ports) == 0 {
			errs = append(errs, field.Required(pp.Child("ports"), "port 53 must be specified for DNS rules"))
		}
		errs = append(errs, validatePortList(pr.Ports, dns, pp.Child("ports"))...)
		if pr.Rules != nil {
			for j, f := range pr.Rules.DNS {
				errs = append(errs, validateFQDN(f, pp.Child("rules", "dns").Index(j))...)
			}
		}
	}
	for i, r := range icmps {
		if len(r.Fields) > 40 {
			errs = append(errs, field.TooMany(p.Child("icmps").Index(i).Child("fields"), len(r.Fields), 40))
		}
		for j, f := range r.Fields {
			fp := p.Child("icmps").Index(i).Child("fields").Index(j)
			if f.Family != "IPv4" && f.Family != "IPv6" && f.Family != "" {
				errs = append(errs, field.NotSupported(fp.Child("family"), f.Family, []string{"IPv4", "IPv6"}))
			}
			if f.Type == "" {
				errs = append(errs, field.Required(fp.Child("type"), ""))
			}
		}
	}
	return errs
}

func validatePortList(ps []PortProtocol, dns bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ps) > maxPorts {
		errs = append(errs, field.TooMany(p, len(ps), maxPorts))
	}
	for i, pp := range ps {
		ip := p.Index(i)
		n, err := strconv.ParseUint(pp.Port, 10, 16)
		if err != nil {
			// a named container port (an IANA service name), without a
			// range and outside DNS rules
			switch {
			case !record.ValidPortName(pp.Port):
				errs = append(errs, field.Invalid(ip.Child("port"), pp.Port, "must be a port number or a container port name"))
			case dns:
				errs = append(errs, field.Invalid(ip.Child("port"), pp.Port, "DNS rules need a port number"))
			case pp.EndPort != 0:
				errs = append(errs, field.Forbidden(ip.Child("endPort"), "a named port has no range"))
			}
			continue
		}
		if dns && n == 0 {
			errs = append(errs, field.Invalid(ip.Child("port"), pp.Port, "L7 rules can not be used when a port is 0"))
		}
		if pp.EndPort != 0 {
			if dns {
				errs = append(errs, field.Forbidden(ip.Child("endPort"), "DNS rules do not support port ranges"))
			}
			if pp.EndPort < int32(n) || pp.EndPort > 65535 {
				errs = append(errs, field.Invalid(ip.Child("endPort"), pp.EndPort, "must be between port and 65535"))
			}
		}
		switch pp.Protocol {
		case "TCP", "UDP", "SCTP", "ANY":
		default:
			errs = append(errs, field.NotSupported(ip.Child("protocol"), pp.Protocol, []string{"TCP", "UDP", "SCTP", "ANY"}))
		}
	}
	return errs
}
