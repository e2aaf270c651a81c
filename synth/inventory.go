package synth

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// invIndex is the inventory of one namespace as synth reads it: its
// workloads, and which of them each graph workload is.
type invIndex struct {
	workloads []*inventory.Workload
	pods      map[string]*inventory.Pod
	// of maps a graph workload's id to its inventory workload (absent:
	// the inventory does not know it, deleted since the window)
	of map[string]*inventory.Workload
	// seen are the inventory workloads some graph workload is
	seen map[*inventory.Workload]bool
}

// inventoryByNS groups the inventory's workloads and pods by namespace,
// once for all namespaces.
func inventoryByNS(inv *inventory.Snapshot) (map[string][]*inventory.Workload, map[string][]*inventory.Pod) {
	ws, ps := map[string][]*inventory.Workload{}, map[string][]*inventory.Pod{}
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		ws[w.Namespace] = append(ws[w.Namespace], w)
	}
	for i := range inv.Pods {
		p := &inv.Pods[i]
		ps[p.Namespace] = append(ps[p.Namespace], p)
	}
	return ws, ps
}

// indexInventory matches the graph's workloads ws of one namespace to the
// inventory's (iws, with their pods): by name, else by a pod the flows
// named.
func indexInventory(iws []*inventory.Workload, pods []*inventory.Pod, ws []*learner.Node) *invIndex {
	ix := &invIndex{workloads: iws, pods: make(map[string]*inventory.Pod, len(pods)),
		of: map[string]*inventory.Workload{}, seen: map[*inventory.Workload]bool{}}
	byName := map[string][]*inventory.Workload{}
	byPod := map[string]*inventory.Workload{}
	for _, iw := range ix.workloads {
		byName[iw.Name] = append(byName[iw.Name], iw)
		for _, p := range iw.Pods {
			byPod[p] = iw
		}
	}
	for _, p := range pods {
		ix.pods[p.Name] = p
	}
	for _, w := range ws {
		var iw *inventory.Workload
		// by name, the same kind first (a Deployment and a CronJob may
		// share a name)
		for _, c := range byName[w.Name] {
			if iw == nil || c.Kind == w.WorkloadKind {
				iw = c
			}
		}
		for _, p := range w.Pods {
			if iw != nil {
				break
			}
			iw = byPod[p]
		}
		if iw != nil {
			ix.of[w.ID] = iw
			ix.seen[iw] = true
		}
	}
	return ix
}

// labelSets are the label sets of a workload's pods in the inventory and
// of the pods its template creates.
func (ix *invIndex) labelSets(iw *inventory.Workload) []map[string]string {
	var out []map[string]string
	for _, name := range iw.Pods {
		if p := ix.pods[name]; p != nil {
			out = append(out, p.Labels)
		}
	}
	if iw.Template != nil {
		out = append(out, iw.Template)
	}
	return out
}

// unseen returns stand-ins for the inventory workloads no graph workload
// is, for selectorFor to separate the graph's workloads from them too.
func (ix *invIndex) unseen(ns string) []*learner.Node {
	var out []*learner.Node
	for _, iw := range ix.workloads {
		if ix.seen[iw] {
			continue
		}
		out = append(out, &learner.Node{ID: "inventory:" + ns + "/" + iw.Kind + "/" + iw.Name, Kind: learner.NodeWorkload,
			Namespace: ns, Name: iw.Name, LabelSets: ix.labelSets(iw)})
	}
	return out
}

// disproof says why sel does not select exactly the pods of iw (the
// workload w is; nil when the inventory does not know it) among every pod
// of the namespace and every pod the workloads' templates create; "" when
// it does.
func (ix *invIndex) disproof(sel map[string]string, iw *inventory.Workload) string {
	for _, o := range ix.workloads {
		if o == iw {
			continue
		}
		for _, set := range ix.labelSets(o) {
			if inventory.Matches(sel, set) {
				what := "also selects the pods of " + o.Kind + " " + o.Name
				if !ix.seen[o] {
					what += ", never observed"
				}
				return what
			}
		}
	}
	if iw == nil {
		return ""
	}
	for _, name := range iw.Pods {
		if p := ix.pods[name]; p != nil && !inventory.Matches(sel, p.Labels) {
			return "misses its own pod " + name
		}
	}
	if iw.Template != nil && !inventory.Matches(sel, iw.Template) {
		return "misses the pods its template creates"
	}
	return ""
}

// ownSelector returns a workload's spec.selector when it can stand for
// synth's: all of the selector (no matchExpressions) and no controller
// label.
func ownSelector(iw *inventory.Workload) map[string]string {
	if iw == nil || !iw.SelectorExact || len(iw.Selector) == 0 {
		return nil
	}
	for k := range iw.Selector {
		if inventory.ControllerLabel(k) || isSyntheticKey(k) {
			return nil
		}
	}
	return maps.Clone(iw.Selector)
}

// proveSelectors checks every workload selector of namespace ns against
// the inventory: one that selects another workload's pods, or misses
// some of its own, is replaced by the workload's own spec.selector when
// that one is exact, and is otherwise reported and (in an application
// namespace) holds the namespace back. A workload flows saw without labels
// gets its spec.selector when exact.
func (s *synth) proveSelectors(ns string, ws []*learner.Node, ix *invIndex) {
	for _, w := range ws {
		iw := ix.of[w.ID]
		sel := s.sel[w.ID]
		if sel == nil && w.Unmanaged {
			continue
		}
		why := "has no labels in the flows"
		if sel != nil {
			why = ix.disproof(sel, iw)
			if why == "" {
				continue
			}
		}
		if own := ownSelector(iw); own != nil && ix.disproof(own, iw) == "" {
			s.sel[w.ID], s.ambiguous[w.ID] = own, false
			if sel != nil {
				s.finding(policy.Finding{Kind: policy.FindSelector, Namespace: ns, Workload: w.Name,
					Message: "the labels seen in flows {" + selectorString(sel) + "} " + why + ": its own spec.selector {" + selectorString(own) + "} is used instead"})
			}
			continue
		}
		if sel == nil {
			continue // selector() reports it
		}
		s.ambiguous[w.ID] = false // this finding says it
		fix := "give " + w.Name + "'s pods a label no other pod of " + ns + " has (or make its spec.selector exact), then generate again"
		s.finding(policy.Finding{Kind: policy.FindSelector, Namespace: ns, Workload: w.Name,
			Message: "the inventory disproves its selector {" + selectorString(sel) + "}: it " + why + "; " + fix})
		if s.app[ns] {
			s.unproven[ns] = append(s.unproven[ns], policy.Unproven{Workload: w.Name, Selector: selectorString(sel), Reason: why, Fix: fix})
		}
	}
}

// silentWorkloads lists the inventory workloads of application namespace
// ns that no flow of the window shows. Workloads whose pods all use the
// host network are left out: no NetworkPolicy isolates them.
func (s *synth) silentWorkloads(ns string, ix *invIndex) {
	for _, iw := range ix.workloads {
		if ix.seen[iw] || hostNetworkOnly(iw, ix) {
			continue
		}
		sw := policy.SilentWorkload{Kind: iw.Kind, Name: iw.Name, Pods: len(iw.Pods)}
		if iw.Kind == inventory.KindCronJob {
			sw.Schedule = iw.Schedule
			if iw.TimeZone != "" {
				sw.Schedule += " (" + iw.TimeZone + ")"
			}
			_, sw.Runs = iw.Runs(s.g.First, s.g.Last)
		}
		s.silent[ns] = append(s.silent[ns], sw)
	}
}

func hostNetworkOnly(iw *inventory.Workload, ix *invIndex) bool {
	n := 0
	for _, name := range iw.Pods {
		if p := ix.pods[name]; p != nil {
			if !p.HostNetwork {
				return false
			}
			n++
		}
	}
	return n > 0
}

// selectorString is a selector as "k=v,k=v" in key order.
func selectorString(sel map[string]string) string {
	keys := slices.Sorted(maps.Keys(sel))
	for i, k := range keys {
		keys[i] = k + "=" + sel[k]
	}
	return strings.Join(keys, ",")
}

// applyInventory runs the inventory's checks once the selectors are
// chosen (indexWorkloads): selectors proven, named ports agreed on,
// silent workloads listed.
func (s *synth) applyInventory(ix map[string]*invIndex) {
	for _, ns := range slices.Sorted(maps.Keys(ix)) {
		s.proveSelectors(ns, s.byNS[ns], ix[ns])
		s.namedPorts(ns, ix[ns])
		s.servicePorts(ns, ix[ns])
		if s.app[ns] {
			s.silentWorkloads(ns, ix[ns])
		}
	}
}

// nodeIndex is what the inventory says of the nodes: which node each
// address belongs to (its InternalIP and ExternalIP addresses, and the
// addresses of its pod CIDRs that no pod has: the node's own router or
// tunnel address).
type nodeIndex struct {
	addrs map[netip.Addr]string
	cidrs []nodeCIDR
	pods  map[netip.Addr]bool
}

type nodeCIDR struct {
	prefix netip.Prefix
	node   string
}

func newNodeIndex(inv *inventory.Snapshot) *nodeIndex {
	if inv == nil || len(inv.Nodes) == 0 {
		return nil
	}
	ix := &nodeIndex{addrs: map[netip.Addr]string{}, pods: map[netip.Addr]bool{}}
	for _, n := range inv.Nodes {
		for _, a := range n.Addresses {
			ix.addrs[a] = n.Name
		}
		for _, c := range n.PodCIDRs {
			ix.cidrs = append(ix.cidrs, nodeCIDR{prefix: c, node: n.Name})
		}
	}
	for _, p := range inv.Pods {
		if !p.HostNetwork {
			for _, a := range p.IPs {
				ix.pods[a] = true
			}
		}
	}
	return ix
}

// node returns the node whose address a is ("" when none).
func (ix *nodeIndex) node(a netip.Addr) string {
	if ix == nil {
		return ""
	}
	a = a.Unmap()
	if n, ok := ix.addrs[a]; ok {
		return n
	}
	if ix.pods[a] {
		return ""
	}
	for _, c := range ix.cidrs {
		if c.prefix.Contains(a) {
			return c.node
		}
	}
	return ""
}

// ownNodeOnly reports an edge from node's address that only node itself
// observed: the node calling its own pods (kubelet probes), which every
// CNI admits without a rule.
func ownNodeOnly(e *learner.Edge, node string) bool {
	if len(e.NodesSeen) == 0 {
		return false
	}
	for _, n := range e.NodesSeen {
		if n != node {
			return false
		}
	}
	return true
}
