package cilium

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// GuardName is the name of the CiliumClusterwideNetworkPolicy that denies
// the cloud credential endpoints.
const GuardName = "flowfence-metadata-guard"

// maxGuardTerms bounds the selectors that exclude opted-in workloads (their
// number is the product of the opted-in selectors' sizes per namespace).
const maxGuardTerms = 64

// Guard returns the CiliumClusterwideNetworkPolicy of the metadata guard and
// its header comment.
//
// Construction:
//   - egressDeny toCIDR of every guarded address. Deny wins over every allow
//     in Cilium, whichever policy allows. An address with DNS ports (GKE
//     Cloud DNS and Azure DNS answer on 169.254.169.254:53 and
//     168.63.129.16:53) is denied on every other port: toPorts with the port
//     ranges around them (protocol ANY = TCP, UDP and SCTP), so DNS keeps
//     working.
//   - enableDefaultDeny {ingress: false, egress: false}: a Cilium policy
//     with egress or egressDeny rules otherwise puts every endpoint it
//     selects into egress default-deny; with it, the policy only adds the
//     denies and leaves every other packet to the other policies (or to
//     nobody, for a pod without any).
//   - a named opt-in (config metadata.allow: namespace, workload, address,
//     port) takes that workload's pods out of the deny of that address:
//     the rule for everyone selects "every pod but the opted-in ones",
//     written as a union of label selectors (a pod in no opted-in namespace;
//     or, per opted-in namespace, a pod whose labels differ from each
//     opted-in selector there: NotIn, which also matches a missing label).
//     With a port, a second rule selecting exactly the opted-in workload
//     denies the address on every other port.
func Guard(set *policy.Set) (*Object, []string, error) {
	g := &set.Guard
	type optIn struct {
		key   string // ns/workload
		ns    string
		sel   map[string]string
		ports []uint16 // nil = every port
		all   bool
	}
	// opt-ins per address, merged per workload
	byAddr := map[netip.Addr]map[string]*optIn{}
	for _, o := range g.OptIns {
		a, err := netip.ParseAddr(o.Address)
		if err != nil {
			return nil, nil, fmt.Errorf("config metadata.allow: address %q: %w", o.Address, err)
		}
		a = a.Unmap()
		key := o.Namespace + "/" + o.Workload
		sel, ok := g.OptInSelectors[key]
		if !ok || !guarded(g, a) {
			continue // cannot be selected (reported by synth), or not a guarded address
		}
		if byAddr[a] == nil {
			byAddr[a] = map[string]*optIn{}
		}
		oi := byAddr[a][key]
		if oi == nil {
			oi = &optIn{key: key, ns: o.Namespace, sel: sel}
			byAddr[a][key] = oi
		}
		if o.Port == 0 {
			oi.all = true
		} else if !slices.Contains(oi.ports, o.Port) {
			oi.ports = append(oi.ports, o.Port)
		}
	}

	// the rule for everyone (minus the opted-in workloads), grouped by the
	// set of excluded workloads
	type group struct {
		excluded []*optIn
		addrs    []policy.GuardedAddress
	}
	groups := map[string]*group{}
	for _, a := range g.Addresses {
		var ex []*optIn
		for _, k := range slices.Sorted(maps.Keys(byAddr[a.Addr])) {
			ex = append(ex, byAddr[a.Addr][k])
		}
		var keys []string
		for _, o := range ex {
			keys = append(keys, o.key)
		}
		gk := strings.Join(keys, ",")
		if groups[gk] == nil {
			groups[gk] = &group{excluded: ex}
		}
		groups[gk].addrs = append(groups[gk].addrs, a)
	}
	var rules []Rule
	for _, gk := range slices.Sorted(maps.Keys(groups)) {
		gr := groups[gk]
		var sels []Selector
		desc := "Deny the cloud credential endpoints to every pod."
		if len(gr.excluded) == 0 {
			sels = []Selector{{}}
		} else {
			var ws []workloadSel
			var names []string
			for _, o := range gr.excluded {
				ws = append(ws, workloadSel{ns: o.ns, sel: o.sel})
				names = append(names, o.key)
			}
			var err error
			if sels, err = complement(ws); err != nil {
				return nil, nil, err
			}
			desc = "Deny these cloud credential endpoints to every pod except the opted-in " + strings.Join(names, ", ") + "."
		}
		deny := denyRules(gr.addrs, nil)
		for _, s := range sels {
			rules = append(rules, guardRule(s, desc, deny))
		}
	}
	// the opted-in workloads: the other ports of their address
	type wl struct {
		o     *optIn
		addrs []policy.GuardedAddress
		extra map[netip.Addr][]uint16
	}
	perWorkload := map[string]*wl{}
	for _, a := range g.Addresses {
		for _, o := range byAddr[a.Addr] {
			if o.all {
				continue
			}
			w := perWorkload[o.key]
			if w == nil {
				w = &wl{o: o, extra: map[netip.Addr][]uint16{}}
				perWorkload[o.key] = w
			}
			w.addrs = append(w.addrs, a)
			w.extra[a.Addr] = o.ports
		}
	}
	for _, k := range slices.Sorted(maps.Keys(perWorkload)) {
		w := perWorkload[k]
		sel := Selector{MatchLabels: map[string]string{NamespaceKey: w.o.ns}}
		for lk, lv := range w.o.sel {
			sel.MatchLabels[SourcePrefix+lk] = lv
		}
		rules = append(rules, guardRule(sel, "Opted-in "+k+": deny its credential endpoints on every port but the opted-in ones.", denyRules(w.addrs, w.extra)))
	}

	obj := &Object{ObjectHead: output.Head(APIVersion, KindCiliumClusterwideNetworkPolicy, GuardName, "")}
	if len(rules) == 1 {
		obj.Spec = &rules[0]
	} else {
		obj.Specs = rules
	}
	excluded := map[netip.Addr]int{}
	for a, m := range byAddr {
		excluded[a] = len(m)
	}
	return obj, guardComment(set, excluded), nil
}

func guarded(g *policy.Guard, a netip.Addr) bool {
	for _, x := range g.Addresses {
		if x.Addr == a {
			return true
		}
	}
	return false
}

func guardRule(sel Selector, desc string, deny []EgressDenyRule) Rule {
	f := false
	return Rule{
		EndpointSelector:  sel,
		EnableDefaultDeny: &DefaultDenyConfig{Ingress: &f, Egress: &f},
		EgressDeny:        deny,
		Description:       desc,
	}
}

// denyRules denies the addresses on every port but their DNS ports (and
// the extra ports of an opt-in), grouping addresses with the same ports.
func denyRules(addrs []policy.GuardedAddress, extra map[netip.Addr][]uint16) []EgressDenyRule {
	type grp struct {
		open  []uint16
		cidrs []string
	}
	groups := map[string]*grp{}
	for _, a := range addrs {
		open := slices.Clone(a.DNSPorts)
		open = append(open, extra[a.Addr]...)
		slices.Sort(open)
		open = slices.Compact(open)
		var k strings.Builder
		for _, p := range open {
			k.WriteString(strconv.Itoa(int(p)) + ",")
		}
		gr := groups[k.String()]
		if gr == nil {
			gr = &grp{open: open}
			groups[k.String()] = gr
		}
		gr.cidrs = append(gr.cidrs, netip.PrefixFrom(a.Addr, a.Addr.BitLen()).String())
	}
	var out []EgressDenyRule
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		gr := groups[k]
		slices.Sort(gr.cidrs)
		r := EgressDenyRule{ToCIDR: gr.cidrs}
		if len(gr.open) > 0 {
			for c := range slices.Chunk(PortRanges(gr.open), maxPorts) {
				r.ToPorts = append(r.ToPorts, PortDenyRule{Ports: c})
			}
		}
		out = append(out, r)
	}
	return out
}

// PortRanges returns every port 1-65535 except open, as Cilium port ranges
// of protocol ANY (TCP, UDP and SCTP).
func PortRanges(open []uint16) []PortProtocol {
	var out []PortProtocol
	add := func(lo, hi int) {
		if lo > hi {
			return
		}
		p := PortProtocol{Port: strconv.Itoa(lo), Protocol: "ANY"}
		if hi > lo {
			p.EndPort = int32(hi)
		}
		out = append(out, p)
	}
	lo := 1
	for _, p := range open {
		if int(p) < lo {
			continue
		}
		add(lo, int(p)-1)
		lo = int(p) + 1
	}
	add(lo, 65535)
	return out
}

type workloadSel struct {
	ns  string
	sel map[string]string
}

// complement returns label selectors whose union selects every pod except
// those of the given workloads (namespace + labels): a pod outside their
// namespaces, or in one of them with, for each of its workloads there, one
// label that differs (a NotIn requirement also matches a missing label).
func complement(ws []workloadSel) ([]Selector, error) {
	byNS := map[string][]map[string]string{}
	for _, w := range ws {
		byNS[w.ns] = append(byNS[w.ns], w.sel)
	}
	nss := slices.Sorted(maps.Keys(byNS))
	out := []Selector{{MatchExpressions: []Requirement{{Key: NamespaceKey, Operator: OpNotIn, Values: nss}}}}
	for _, ns := range nss {
		sels := byNS[ns]
		// terms: one label chosen from each selector
		terms := []map[string][]string{{}}
		empty := false
		for _, sel := range sels {
			if len(sel) == 0 {
				empty = true // the workload is the whole namespace
				break
			}
			var next []map[string][]string
			for _, t := range terms {
				for _, k := range slices.Sorted(maps.Keys(sel)) {
					nt := map[string][]string{}
					for tk, tv := range t {
						nt[tk] = slices.Clone(tv)
					}
					if !slices.Contains(nt[k], sel[k]) {
						nt[k] = append(nt[k], sel[k])
						slices.Sort(nt[k])
					}
					next = append(next, nt)
				}
			}
			terms = next
			if len(terms) > maxGuardTerms {
				return nil, fmt.Errorf("config metadata.allow: the opted-in workloads of namespace %s need more than %d selectors to exclude: name fewer", ns, maxGuardTerms)
			}
		}
		if empty {
			continue
		}
		seen := map[string]bool{}
		var nsOut []Selector
		for _, t := range terms {
			s := Selector{MatchLabels: map[string]string{NamespaceKey: ns}}
			var key strings.Builder
			for _, k := range slices.Sorted(maps.Keys(t)) {
				s.MatchExpressions = append(s.MatchExpressions, Requirement{Key: SourcePrefix + k, Operator: OpNotIn, Values: t[k]})
				key.WriteString(k + "=" + strings.Join(t[k], "|") + ";")
			}
			if !seen[key.String()] {
				seen[key.String()] = true
				nsOut = append(nsOut, s)
			}
		}
		slices.SortFunc(nsOut, func(a, b Selector) int { return cmp.Compare(selectorKey(a), selectorKey(b)) })
		out = append(out, nsOut...)
	}
	return out, nil
}

func selectorKey(s Selector) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		b.WriteString(k + "=" + s.MatchLabels[k] + ";")
	}
	for _, r := range s.MatchExpressions {
		b.WriteString(r.Key + " " + r.Operator + " " + strings.Join(r.Values, "|") + ";")
	}
	return b.String()
}

func guardComment(set *policy.Set, excluded map[netip.Addr]int) []string {
	g := &set.Guard
	c := []string{
		fmt.Sprintf("Cluster-wide metadata guard (cloud profile %s): no pod reaches a cloud credential endpoint.", g.Cloud),
		"enableDefaultDeny is false both ways: this policy only adds denies; no pod enters default-deny because of it.",
		"Apply it before the namespaces: kubectl apply -k " + output.ClusterDir + ". Deny wins over every Cilium and Kubernetes allow.",
	}
	for _, a := range g.Addresses {
		line := "  " + a.Addr.String() + ": " + a.What
		if len(a.DNSPorts) > 0 {
			var ps []string
			for _, p := range a.DNSPorts {
				ps = append(ps, strconv.Itoa(int(p)))
			}
			line += " (port " + strings.Join(ps, ", ") + " stays open: DNS)"
		}
		if n := excluded[a.Addr]; n > 0 {
			line += fmt.Sprintf("; %d opted-in workload(s) excluded", n)
		}
		c = append(c, line)
	}
	for _, o := range g.OptIns {
		if _, ok := g.OptInSelectors[o.Namespace+"/"+o.Workload]; !ok {
			c = append(c, "  opt-in "+o.Namespace+"/"+o.Workload+" → "+o.Address+": the workload cannot be selected, so it stays denied (see ROLLOUT.md findings)")
		}
	}
	return c
}
