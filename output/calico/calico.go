package calico

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// FormatName is the --format value.
const FormatName = "calico"

// Tiers and labels flowfence uses.
const (
	// GuardTier holds the metadata guard. Its order puts it before every
	// tier a cluster normally has (Calico Enterprise's allow-tigera 100,
	// kube-admin 1000, kube-baseline 10000, default 1000000).
	GuardTier      = "flowfence-metadata-guard"
	GuardTierOrder = 1.0
	// GuardPolicy is the guard's (global) policy name within GuardTier.
	GuardPolicy = "deny-cloud-metadata"
	// WorkloadTierOrder is the order of the --calico-tier tier: after
	// kube-admin (AdminNetworkPolicy, 1000), before kube-baseline (10000)
	// and the default tier (1000000).
	WorkloadTierOrder = 5000.0
	// NamespaceNameLabel is Calico's automatic namespace-name label, for
	// namespaceSelector.
	NamespaceNameLabel = "projectcalico.org/name"
	// NamespaceLabel is the label Calico gives every workload endpoint with
	// its namespace, for the selector of a global policy.
	NamespaceLabel = "projectcalico.org/namespace"
)

// Formatter renders Calico projectcalico.org/v3 YAML.
type Formatter struct {
	// Tier puts the namespace policies in this tier (emitted with order
	// WorkloadTierOrder); empty = the default tier.
	Tier string
	// Staged emits the staged kinds (stagedAction Set).
	Staged bool
}

// Name returns "calico".
func (Formatter) Name() string { return FormatName }

// Render returns <ns>/<file>.yaml and <ns>/kustomization.yaml for every
// namespace, and _cluster/ with the tiers and the metadata guard.
func (f Formatter) Render(set *policy.Set) (output.Tree, error) {
	t := output.Tree{}
	err := output.AddNamespaces(t, set, requires, func(_ *policy.Namespace, p *policy.Policy) ([]byte, error) {
		if err := checkInputs(p); err != nil {
			return nil, err
		}
		obj, notes := f.Build(p)
		if err := Validate(obj); err != nil {
			return nil, fmt.Errorf("generated policy %s/%s is invalid: %w", p.Namespace, p.Name, err)
		}
		return Marshal(obj, p.Comment, notes, output.CIDRNames(p))
	})
	if err != nil {
		return nil, err
	}
	if err := checkGuardInputs(set); err != nil {
		return nil, err
	}
	var cluster []string
	if tiers := f.tiers(set); len(tiers) > 0 {
		b, err := output.ClusterObjects(tiers, func(o *Object) string { return "tier " + o.Metadata.Name }, Validate, func(_ int, o *Object) ([]byte, error) {
			comment := []string{"Tier " + o.Metadata.Name + ": apply before the policies in it (a policy cannot be created in a missing tier)."}
			return Marshal(o, comment, nil, nil)
		})
		if err != nil {
			return nil, err
		}
		t[output.ClusterDir+"/"+TiersFile] = b
		cluster = append(cluster, TiersFile)
	}
	if guard, comment := f.Guard(set); guard != nil {
		b, err := output.ClusterObjects([]*Object{guard}, metadataGuard, Validate, func(_ int, o *Object) ([]byte, error) { return Marshal(o, comment, nil, nil) })
		if err != nil {
			return nil, err
		}
		t[output.ClusterDir+"/"+output.GuardFile] = b
		cluster = append(cluster, output.GuardFile)
	}
	if len(cluster) > 0 {
		t[output.ClusterDir+"/"+output.KustomizationFile] = output.Kustomization("", cluster, requires)
	}
	return t, nil
}

// TiersFile holds the Tier objects inside output.ClusterDir.
const TiersFile = "00-tiers.yaml"

// requires is the kustomizations' note on what the objects need.
const requires = "projectcalico.org/v3 objects need the Calico API server (or: calicoctl apply -f <file>)."

func (f Formatter) policyKind(global bool) string {
	switch {
	case global && f.Staged:
		return KindStagedGlobalNetworkPolicy
	case global:
		return KindGlobalNetworkPolicy
	case f.Staged:
		return KindStagedNetworkPolicy
	}
	return KindNetworkPolicy
}

// qualified returns a policy's name in tier: before Calico v3.32 a policy
// outside the default tier must be named "<tier>.<name>" (v3.32 accepts
// the prefixed name as well).
func qualified(tier, name string) string {
	if tier == "" || tier == "default" {
		return name
	}
	return tier + "." + name
}

// Build converts one namespace policy. Rules that cannot be expressed
// (entities without addresses) are dropped whole — never rendered with an
// empty peer, which would admit everything — and listed in notes.
func (f Formatter) Build(p *policy.Policy) (*Object, []string) {
	spec := &PolicySpec{Tier: f.Tier, Selector: Selector(p.Subject)}
	if f.Staged {
		spec.StagedAction = StagedActionSet
	}
	var notes []string
	if p.Ingress {
		spec.Types = append(spec.Types, TypeIngress)
		spec.Ingress = directionRules(p.IngressRules, true, &notes)
	}
	if p.Egress {
		spec.Types = append(spec.Types, TypeEgress)
		spec.Egress = directionRules(p.EgressRules, false, &notes)
	}
	return &Object{ObjectHead: output.Head(APIVersion, f.policyKind(false), qualified(f.Tier, p.Name), p.Namespace), Spec: spec}, notes
}

// Selector renders a label map as a Calico selector expression (sorted
// keys, single-quoted values); the empty map selects everything: all().
func Selector(m map[string]string) string {
	if len(m) == 0 {
		return "all()"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" == '"+m[k]+"'")
	}
	return strings.Join(parts, " && ")
}

// NamespaceSelector selects one namespace by name.
func NamespaceSelector(ns string) string { return NamespaceNameLabel + " == '" + ns + "'" }

// protocolName is a protocol as a Calico rule names it.
func protocolName(p record.Protocol) (string, bool) {
	switch p {
	case record.TCP:
		return "TCP", true
	case record.UDP:
		return "UDP", true
	case record.SCTP:
		return "SCTP", true
	case record.ICMPv4:
		return "ICMP", true
	case record.ICMPv6:
		return "ICMPv6", true
	}
	return "", false
}

// portGroup is one protocol of a rule with its ports (none = every port).
type portGroup struct {
	proto string
	ipv   int // 4 or 6 for ICMP/ICMPv6, else 0
	ports []Port
	all   bool
}

func groups(ports []policy.Port) ([]portGroup, []string) {
	var out []portGroup
	var dropped []string
	idx := map[string]int{}
	for _, p := range ports {
		name, ok := protocolName(p.Proto)
		if !ok {
			dropped = append(dropped, p.String())
			continue
		}
		i, seen := idx[name]
		if !seen {
			g := portGroup{proto: name}
			switch p.Proto {
			case record.ICMPv4:
				g.ipv = 4
			case record.ICMPv6:
				g.ipv = 6
			}
			out = append(out, g)
			i = len(out) - 1
			idx[name] = i
		}
		g := &out[i]
		if p.Port == 0 || !p.Proto.HasPorts() {
			g.all = true
			continue
		}
		// a name every pod the port reaches gives it (synth proves it)
		pt := Port{Number: p.Port, Name: p.Name}
		if p.Name != "" {
			pt.Number = 0
		}
		if !slices.Contains(g.ports, pt) {
			g.ports = append(g.ports, pt)
		}
	}
	for i := range out {
		if out[i].all {
			out[i].ports = nil
		}
		slices.SortFunc(out[i].ports, comparePorts)
	}
	return out, dropped
}

// rules renders one model rule: one Calico rule per peer (per CIDR: each
// keeps its own excepts as notNets) and protocol.
// directionRules renders the model rules of one direction, in order, and
// appends their notes.
func directionRules(rs []policy.Rule, ingress bool, notes *[]string) []Rule {
	var out []Rule
	for _, r := range rs {
		x, note := rules(r, ingress)
		out = append(out, x...)
		if note != "" {
			*notes = append(*notes, note)
		}
	}
	return out
}

func rules(r policy.Rule, ingress bool) ([]Rule, string) {
	gs, dropped := groups(r.Ports)
	if len(r.Ports) == 0 {
		gs = []portGroup{{all: true}}
	}
	var peers []EntityRule
	var peerFamily []int // 4, 6, or 0 (selector)
	var noIP []string
	for _, pe := range r.Peers {
		switch {
		case pe.Pods != nil:
			e := EntityRule{Selector: Selector(pe.Pods.Selector)}
			if pe.Pods.Namespace != "" {
				e.NamespaceSelector = NamespaceSelector(pe.Pods.Namespace)
			}
			peers, peerFamily = append(peers, e), append(peerFamily, 0)
		case len(pe.CIDRs) > 0:
			for _, c := range pe.CIDRs {
				e := EntityRule{Nets: []string{c.Prefix.String()}}
				for _, x := range c.Except {
					e.NotNets = append(e.NotNets, x.String())
				}
				fam := 4
				if c.Prefix.Addr().Is6() {
					fam = 6
				}
				peers, peerFamily = append(peers, e), append(peerFamily, fam)
			}
		default:
			noIP = append(noIP, string(pe.Entity))
		}
	}
	var out []Rule
	for i, peer := range peers {
		for _, g := range gs {
			if g.ipv != 0 && peerFamily[i] != 0 && g.ipv != peerFamily[i] {
				continue // ICMP never matches an IPv6 net, nor ICMPv6 an IPv4 one
			}
			rule := Rule{Action: ActionAllow, Protocol: g.proto}
			p := peer
			p.Nets, p.NotNets = slices.Clone(peer.Nets), slices.Clone(peer.NotNets)
			dst := &EntityRule{Ports: slices.Clone(g.ports)}
			if ingress {
				rule.Source = &p
				if len(dst.Ports) > 0 {
					rule.Destination = dst
				}
			} else {
				p.Ports = dst.Ports
				rule.Destination = &p
			}
			out = append(out, rule)
		}
	}
	var notes []string
	if len(dropped) > 0 {
		notes = append(notes, "not expressible in Calico policy: "+strings.Join(dropped, ", "))
	}
	if len(noIP) > 0 {
		notes = append(notes, "peers without an address cannot be nets: "+strings.Join(noIP, ", "))
	}
	return out, strings.Join(notes, "; ")
}

// metadataGuard names the guard in the error of an invalid one.
func metadataGuard(*Object) string { return "metadata guard" }

// Marshal renders an object with its header comments and DNS-name comments
// on nets.
func Marshal(obj *Object, comment, notes []string, cidrNames map[string]string) ([]byte, error) {
	inNets := false
	annotate := func(line string) (string, bool) {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "nets:":
			inNets = true
		case inNets && strings.HasPrefix(trimmed, "- "):
			n, ok := cidrNames[strings.TrimPrefix(trimmed, "- ")]
			return n, ok
		default:
			inNets = false
		}
		return "", false
	}
	return output.Marshal(obj, obj.Kind, obj.Metadata.Name, comment, notes, output.Generated, annotate)
}

// tiers returns the Tier objects the tree needs: the guard's and, with a
// workload tier, that one.
func (f Formatter) tiers(set *policy.Set) []*Object {
	var out []*Object
	if len(set.Namespaces) > 0 && len(set.Guard.Addresses) > 0 {
		o := GuardTierOrder
		out = append(out, &Object{ObjectHead: output.Head(APIVersion, KindTier, GuardTier, ""),
			Spec: &TierSpec{Order: &o, DefaultAction: ActionPass}})
	}
	if f.Tier != "" && f.Tier != "default" && len(set.Namespaces) > 0 {
		o := WorkloadTierOrder
		out = append(out, &Object{ObjectHead: output.Head(APIVersion, KindTier, f.Tier, ""),
			Spec: &TierSpec{Order: &o, DefaultAction: ActionDeny}})
	}
	return out
}

// Guard returns the metadata guard (nil when there is no application
// namespace): a global policy in GuardTier selecting the pods of the
// application namespaces except the named opt-ins, whose egress rules Pass
// the DNS ports of guarded addresses, Deny the guarded addresses and Pass
// everything else. It changes nothing but the guarded calls.
func (f Formatter) Guard(set *policy.Set) (*Object, []string) {
	if len(set.Namespaces) == 0 || len(set.Guard.Addresses) == 0 {
		return nil, nil
	}
	var nss []string
	for _, ns := range set.Namespaces {
		nss = append(nss, "'"+ns.Name+"'")
	}
	slices.Sort(nss)
	sel := NamespaceLabel + " in {" + strings.Join(nss, ", ") + "}"
	comment := []string{
		"Cloud metadata guard (profile " + set.Guard.Cloud + "): pods of the application namespaces never reach the",
		"credential endpoints, whatever any later tier allows. Rules: Pass for DNS on a guarded address (GKE Cloud DNS),",
		"Deny to the guarded addresses, then Pass everything else to the next tier (a tier that selects a pod and takes",
		"no action would drop the packet).",
	}
	for _, o := range set.Guard.OptIns {
		subject := optInSubject(set, o)
		if subject == nil {
			comment = append(comment, fmt.Sprintf("NOTE: opt-in %s/%s (%s) names a workload without a selector here: it is not excluded.", o.Namespace, o.Workload, o.Address))
			continue
		}
		sel += " && !(" + NamespaceLabel + " == '" + o.Namespace + "' && " + Selector(subject) + ")"
		comment = append(comment, fmt.Sprintf("Opt-in (config metadata.allow): %s/%s may reach %s, excluded from this guard.", o.Namespace, o.Workload, o.Address))
	}
	spec := &PolicySpec{Tier: GuardTier, Selector: sel, Types: []string{TypeEgress}}
	if f.Staged {
		spec.StagedAction = StagedActionSet
	}
	var v4, v6 []string
	for _, a := range set.Guard.Addresses {
		pfx := netip.PrefixFrom(a.Addr, a.Addr.BitLen()).String()
		ipv := 4
		if a.Addr.Is6() {
			ipv, v6 = 6, append(v6, pfx)
		} else {
			v4 = append(v4, pfx)
		}
		if len(a.DNSPorts) > 0 {
			var ports []Port
			for _, n := range slices.Sorted(slices.Values(a.DNSPorts)) {
				ports = append(ports, Num(n))
			}
			for _, proto := range []string{"UDP", "TCP"} {
				spec.Egress = append(spec.Egress, Rule{Action: ActionPass, Protocol: proto, IPVersion: ipv,
					Destination: &EntityRule{Nets: []string{pfx}, Ports: slices.Clone(ports)}})
			}
		}
	}
	if len(v4) > 0 {
		spec.Egress = append(spec.Egress, Rule{Action: ActionDeny, IPVersion: 4, Destination: &EntityRule{Nets: v4}})
	}
	if len(v6) > 0 {
		spec.Egress = append(spec.Egress, Rule{Action: ActionDeny, IPVersion: 6, Destination: &EntityRule{Nets: v6}})
	}
	spec.Egress = append(spec.Egress, Rule{Action: ActionPass})
	return &Object{ObjectHead: output.Head(APIVersion, f.policyKind(true), qualified(GuardTier, GuardPolicy), ""), Spec: spec}, comment
}

// optInSubject is the selector of an opted-in workload: the subject of one
// of its policies.
func optInSubject(set *policy.Set, o policy.OptIn) map[string]string {
	for _, ns := range set.Namespaces {
		if ns.Name != o.Namespace {
			continue
		}
		for _, p := range ns.Policies {
			if p.Workload == o.Workload && len(p.Subject) > 0 {
				return p.Subject
			}
		}
	}
	return nil
}
