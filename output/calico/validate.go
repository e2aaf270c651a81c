package calico

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flowfence/flowfence/record"
)

// Validate checks an object as Calico's API server would for the fields
// flowfence writes: names (DNS-1123; "<tier>." prefix outside the default
// tier), kinds and scope, policy types, rule actions, protocols, ports only
// with TCP/UDP/SCTP, nets and notNets (valid CIDRs, notNets inside a net
// of the rule, one IP family per rule matching ipVersion), selectors,
// stagedAction only on the staged kinds, tier order and default action.
func Validate(o *Object) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, msg := range o.CheckHead(APIVersion) {
		errs = append(errs, errors.New(msg))
	}
	namespaced := o.Kind == KindNetworkPolicy || o.Kind == KindStagedNetworkPolicy
	switch {
	case namespaced:
		for _, msg := range validation.IsDNS1123Label(o.Metadata.Namespace) {
			add("metadata.namespace %q: %s", o.Metadata.Namespace, msg)
		}
	case o.Metadata.Namespace != "":
		add("metadata.namespace %q: %s is cluster-scoped", o.Metadata.Namespace, o.Kind)
	}
	switch o.Kind {
	case KindTier:
		spec, ok := o.Spec.(*TierSpec)
		if !ok {
			return fmt.Errorf("%s %s: spec is %T, want *TierSpec", o.Kind, o.Metadata.Name, o.Spec)
		}
		if spec.Order == nil {
			add("spec.order: required (a tier without an order is evaluated last)")
		}
		if spec.DefaultAction != ActionDeny && spec.DefaultAction != ActionPass {
			add("spec.defaultAction %q: want Deny or Pass", spec.DefaultAction)
		}
	case KindNetworkPolicy, KindGlobalNetworkPolicy, KindStagedNetworkPolicy, KindStagedGlobalNetworkPolicy:
		spec, ok := o.Spec.(*PolicySpec)
		if !ok {
			return fmt.Errorf("%s %s: spec is %T, want *PolicySpec", o.Kind, o.Metadata.Name, o.Spec)
		}
		staged := o.Kind == KindStagedNetworkPolicy || o.Kind == KindStagedGlobalNetworkPolicy
		errs = append(errs, validatePolicy(o.Metadata.Name, spec, staged)...)
	default:
		add("kind %q: not a kind flowfence writes", o.Kind)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind, o.Metadata.Name, err)
	}
	return nil
}

func validatePolicy(name string, s *PolicySpec, staged bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Tier != "" && s.Tier != "default" && !strings.HasPrefix(name, s.Tier+".") {
		add("metadata.name %q: a policy in tier %q is named %q (Calico before v3.32 requires the prefix)", name, s.Tier, s.Tier+".<name>")
	}
	switch {
	case staged && s.StagedAction != StagedActionSet:
		add("spec.stagedAction %q: want Set", s.StagedAction)
	case !staged && s.StagedAction != "":
		add("spec.stagedAction: only on staged kinds")
	}
	if err := checkSelector(s.Selector); err != nil {
		add("spec.selector: %v", err)
	}
	if len(s.Types) == 0 || len(s.Types) > 2 {
		add("spec.types %v: want Ingress and/or Egress, explicitly", s.Types)
	}
	seen := map[string]bool{}
	for _, t := range s.Types {
		if (t != TypeIngress && t != TypeEgress) || seen[t] {
			add("spec.types: %q repeated or unknown", t)
		}
		seen[t] = true
	}
	if len(s.Ingress) > 0 && !seen[TypeIngress] {
		add("spec.ingress: rules without type Ingress are ignored")
	}
	if len(s.Egress) > 0 && !seen[TypeEgress] {
		add("spec.egress: rules without type Egress are ignored")
	}
	for i, r := range s.Ingress {
		errs = append(errs, prefix(fmt.Sprintf("spec.ingress[%d]", i), validateRule(&r))...)
	}
	for i, r := range s.Egress {
		errs = append(errs, prefix(fmt.Sprintf("spec.egress[%d]", i), validateRule(&r))...)
	}
	return errs
}

func prefix(p string, errs []error) []error {
	for i, e := range errs {
		errs[i] = fmt.Errorf("%s: %w", p, e)
	}
	return errs
}

func validateRule(r *Rule) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch r.Action {
	case ActionAllow, ActionDeny, ActionPass:
	default:
		add("action %q: want Allow, Deny or Pass", r.Action)
	}
	switch r.Protocol {
	case "", "TCP", "UDP", "SCTP", "ICMP", "ICMPv6":
	default:
		add("protocol %q: not one flowfence writes", r.Protocol)
	}
	switch {
	case r.IPVersion != 0 && r.IPVersion != 4 && r.IPVersion != 6:
		add("ipVersion %d: want 4 or 6", r.IPVersion)
	case r.Protocol == "ICMP" && r.IPVersion == 6, r.Protocol == "ICMPv6" && r.IPVersion == 4:
		add("protocol %s with ipVersion %d", r.Protocol, r.IPVersion)
	}
	family := r.IPVersion
	switch r.Protocol {
	case "ICMP":
		family = 4
	case "ICMPv6":
		family = 6
	}
	for _, side := range []struct {
		name string
		e    *EntityRule
	}{{"source", r.Source}, {"destination", r.Destination}} {
		if side.e == nil {
			continue
		}
		e := side.e
		if len(e.Ports) > 0 && r.Protocol != "TCP" && r.Protocol != "UDP" && r.Protocol != "SCTP" {
			add("%s.ports: need protocol TCP, UDP or SCTP (have %q)", side.name, r.Protocol)
		}
		for _, p := range e.Ports {
			if p.Name == "" && p.Number == 0 {
				add("%s.ports: port 0", side.name)
			}
			if p.Name != "" && !record.ValidPortName(p.Name) {
				add("%s.ports: %q is not a container port name", side.name, p.Name)
			}
		}
		if e.Selector != "" {
			if err := checkSelector(e.Selector); err != nil {
				add("%s.selector: %v", side.name, err)
			}
		}
		if e.NamespaceSelector != "" {
			if err := checkSelector(e.NamespaceSelector); err != nil {
				add("%s.namespaceSelector: %v", side.name, err)
			}
		}
		var nets []netip.Prefix
		for _, n := range e.Nets {
			p, err := netip.ParsePrefix(n)
			if err != nil || p != p.Masked() {
				add("%s.nets: %q is not a network CIDR", side.name, n)
				continue
			}
			nets = append(nets, p)
			fam := 4
			if p.Addr().Is6() {
				fam = 6
			}
			if family == 0 {
				family = fam
			} else if family != fam {
				add("%s.nets: %s mixes IP families in one rule", side.name, n)
			}
		}
		for _, n := range e.NotNets {
			p, err := netip.ParsePrefix(n)
			if err != nil || p != p.Masked() {
				add("%s.notNets: %q is not a network CIDR", side.name, n)
				continue
			}
			inside := false
			for _, net := range nets {
				if net.Bits() < p.Bits() && net.Contains(p.Addr()) {
					inside = true
				}
			}
			if !inside {
				add("%s.notNets: %s lies in no net of the rule", side.name, n)
			}
		}
		if len(e.Nets) > 0 && (e.Selector != "" || e.NamespaceSelector != "") {
			add("%s: nets and selectors in one rule match only endpoints in both", side.name)
		}
	}
	return errs
}

// checkSelector checks what a generated selector can get wrong: emptiness,
// unbalanced quotes or parentheses.
func checkSelector(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty (use all())")
	}
	if strings.Count(s, "'")%2 != 0 || strings.Count(s, `"`)%2 != 0 {
		return fmt.Errorf("%q: unbalanced quotes", s)
	}
	depth := 0
	for _, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth < 0 {
			return fmt.Errorf("%q: unbalanced parentheses", s)
		}
	}
	if depth != 0 {
		return fmt.Errorf("%q: unbalanced parentheses", s)
	}
	return nil
}
