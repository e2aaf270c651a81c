package synth

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// Named container ports. With an inventory, a rule's port is written as
// the container port's name (NetworkPolicy `port: http`, Cilium toPorts
// `port: "http"`, Calico `ports: ["http"]`) where that cannot admit more
// than the number did: a named port resolves through the DESTINATION
// pod's container ports (NetworkPolicyPort: "a named port on a pod" — for
// an egress rule, the pods its peers select; for an ingress rule, the
// policy's own pods), so the name is used only when every pod the rule's
// port can reach names that number so:
//
//   - ingress rules of a workload whose selector the inventory proves
//     exact (it selects that workload's pods and no other), when every
//     one of its pods declares a container port of that name with that
//     protocol and number, and no other name for it;
//   - egress rules whose peers are all such workloads, agreeing on the
//     name — only where Calico enforces (the calico flavor, or --cni
//     calico), which resolves it through the peer's pods. Cilium resolves
//     an egress named port against the named ports of every pod of the
//     cluster (pkg/endpoint GetNamedPort), not the peer's, so a pod
//     elsewhere naming it otherwise would silently drop the rule; and the
//     default --cni kubernetes does not say the cluster is not Cilium's
//     (a Hubble flow source says it is).
//
// A renumbered container port then keeps the policy working; a pod that
// disagrees keeps the number.

// agreedPorts returns the named ports every pod of iw declares with the
// same name, protocol and number, sorted by name; nil when iw has no pod
// in the snapshot or one of them uses the host network (a named port of a
// host-network pod is the node's).
func agreedPorts(iw *inventory.Workload, pods map[string]*inventory.Pod) []policy.NamedPort {
	var agreed map[string]policy.NamedPort
	for _, name := range iw.Pods {
		p := pods[name]
		if p == nil {
			continue
		}
		if p.HostNetwork {
			return nil
		}
		mine := map[string]policy.NamedPort{}
		for _, np := range p.Ports {
			proto, ok := record.ParseProtocol(np.Proto)
			if !ok || !proto.HasPorts() || np.Port == 0 {
				continue
			}
			mine[np.Name] = policy.NamedPort{Name: np.Name, Proto: proto, Port: np.Port}
		}
		if agreed == nil {
			agreed = mine
			continue
		}
		for n, np := range agreed {
			if mine[n] != np {
				delete(agreed, n)
			}
		}
	}
	if len(agreed) == 0 {
		return nil
	}
	out := slices.Collect(maps.Values(agreed))
	slices.SortFunc(out, func(a, b policy.NamedPort) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// portName returns the one name ports gives proto/port ("" when none, or
// when two names share it).
func portName(ports []policy.NamedPort, p policy.Port) string {
	name := ""
	for _, np := range ports {
		if np.Proto == p.Proto && np.Port == p.Port {
			if name != "" {
				return ""
			}
			name = np.Name
		}
	}
	return name
}

// namedPorts records, for every graph workload of namespace ns whose
// selector the inventory proves exact, the named ports all its pods agree
// on (s.named); run after proveSelectors.
func (s *synth) namedPorts(ns string, ix *invIndex) {
	for _, w := range s.byNS[ns] {
		iw, sel := ix.of[w.ID], s.sel[w.ID]
		if iw == nil || sel == nil || w.Unmanaged || ix.disproof(sel, iw) != "" {
			continue
		}
		if ports := agreedPorts(iw, ix.pods); ports != nil {
			s.named[w.ID] = ports
		}
	}
}

// egressNames reports whether egress rules may name ports: where Calico
// enforces them, and nowhere Cilium might (see the package comment above).
func (s *synth) egressNames() bool {
	calico := s.opts.CNI == CNICalico || s.opts.Flavor == FlavorCalico
	return calico && s.opts.Flavor != FlavorCilium && s.opts.CNI != CNICilium
}

// nameRules writes the ports of the workload policies ps as container port
// names where every pod they can reach names them alike (s.named).
func (s *synth) nameRules(ps []*policy.Policy, workloads map[string]*learner.Node) {
	if len(s.named) == 0 {
		return
	}
	for _, p := range ps {
		switch p.Kind {
		case policy.KindIngress:
			w := workloads[p.Workload]
			if w == nil {
				continue
			}
			ports := s.named[w.ID]
			for i := range p.IngressRules {
				name(p.IngressRules[i].Ports, func(pt policy.Port) string { return portName(ports, pt) })
			}
		case policy.KindEgress:
			if !s.egressNames() {
				continue
			}
			for i := range p.EgressRules {
				r := &p.EgressRules[i]
				name(r.Ports, func(pt policy.Port) string {
					common := ""
					for _, pe := range r.Peers {
						n := ""
						if pe.Pods != nil {
							n = portName(s.named[pe.Workload], pt)
						}
						if n == "" || common != "" && n != common {
							return ""
						}
						common = n
					}
					return common
				})
			}
		}
	}
}

func name(ports []policy.Port, of func(policy.Port) string) {
	for i := range ports {
		if ports[i].Port != 0 && ports[i].Proto.HasPorts() {
			ports[i].Name = of(ports[i])
		}
	}
}

// usedPorts is the set's port table: the named ports of each workload the
// tree's rules name (Set.Ports), what the replay resolves them with.
func (s *synth) usedPorts() policy.PortTable {
	used := map[string]map[string]bool{}
	mark := func(id string, pt policy.Port) {
		if used[id] == nil {
			used[id] = map[string]bool{}
		}
		used[id][pt.Name] = true
	}
	for _, ns := range s.set.Namespaces {
		workloads := map[string]*learner.Node{}
		for _, w := range s.byNS[ns.Name] {
			workloads[w.Name] = w
		}
		for _, p := range ns.Policies {
			for _, r := range p.IngressRules {
				for _, pt := range r.Ports {
					if pt.Name != "" && workloads[p.Workload] != nil {
						mark(workloads[p.Workload].ID, pt)
					}
				}
			}
			for _, r := range p.EgressRules {
				for _, pt := range r.Ports {
					if pt.Name == "" {
						continue
					}
					for _, pe := range r.Peers {
						mark(pe.Workload, pt)
					}
				}
			}
		}
	}
	if len(used) == 0 {
		return nil
	}
	t := policy.PortTable{}
	for id, names := range used {
		for _, np := range s.named[id] {
			if names[np.Name] {
				t[id] = append(t[id], np)
			}
		}
	}
	return t
}

// PortTable returns, for every workload of g the inventory knows, the
// named ports all its pods declare alike: what verify and diff resolve a
// tree's named ports with when given an inventory (a renumbered container
// port then shows as a denied flow). Unlike generate, it does not ask for
// proven selectors: it describes the pods, it writes nothing.
func PortTable(g *learner.Graph, inv *inventory.Snapshot) policy.PortTable {
	if inv == nil {
		return nil
	}
	t := policy.PortTable{}
	eachKnownWorkload(g, inv, func(w *learner.Node, iw *inventory.Workload, ix *invIndex) {
		if ports := agreedPorts(iw, ix.pods); ports != nil {
			t[w.ID] = ports
		}
	})
	return t
}

// servicePorts records, for every graph workload of namespace ns the
// inventory knows, the Services of ns that select all its pods and
// translate a Service port to another pod port (s.via): the pod port a
// flow through the Service is recorded with (after DNAT) is explained in
// FLOWS.md as "Service NS/NAME port P → targetPort T (NAME)".
func (s *synth) servicePorts(ns string, ix *invIndex) {
	svcs := s.servicesByNS[ns]
	if len(svcs) == 0 {
		return
	}
	for _, w := range s.byNS[ns] {
		iw := ix.of[w.ID]
		if iw == nil || len(iw.Pods) == 0 {
			continue
		}
		agreed := agreedPorts(iw, ix.pods)
		for _, svc := range svcs {
			if len(svc.Selector) == 0 || !selectsAll(svc.Selector, iw, ix) {
				continue
			}
			for _, sp := range svc.Ports {
				proto, ok := record.ParseProtocol(sp.Proto)
				if !ok {
					continue
				}
				target, name := sp.TargetPort, sp.TargetName
				if name != "" {
					np, found := lookupName(agreed, name, proto)
					if !found {
						continue // the pods do not resolve it alike
					}
					target = np.Port
				} else {
					name = portName(agreed, policy.Port{Proto: proto, Port: target})
				}
				if target == 0 || target == sp.Port {
					continue
				}
				via := "Service " + svc.Namespace + "/" + svc.Name + " port " + strconv.Itoa(int(sp.Port)) + " → targetPort " + strconv.Itoa(int(target))
				if name != "" {
					via += " (" + name + ")"
				}
				if s.via[w.ID] == nil {
					s.via[w.ID] = map[policy.Port][]string{}
				}
				k := policy.Port{Proto: proto, Port: target}
				s.via[w.ID][k] = append(s.via[w.ID][k], via)
			}
		}
	}
}

func selectsAll(sel map[string]string, iw *inventory.Workload, ix *invIndex) bool {
	n := 0
	for _, name := range iw.Pods {
		if p := ix.pods[name]; p != nil {
			if !inventory.Matches(sel, p.Labels) {
				return false
			}
			n++
		}
	}
	return n > 0
}

func lookupName(ports []policy.NamedPort, name string, proto record.Protocol) (policy.NamedPort, bool) {
	for _, np := range ports {
		if np.Name == name && np.Proto == proto {
			return np, true
		}
	}
	return policy.NamedPort{}, false
}

// viaServices is the Via of an evidence row to workload dst on port.
func (s *synth) viaServices(dst *learner.Node, port policy.Port) string {
	if dst == nil || dst.Kind != learner.NodeWorkload {
		return ""
	}
	return strings.Join(s.via[dst.ID][port], "; ")
}
