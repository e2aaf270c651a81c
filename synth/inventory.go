package synth

import (
	"fmt"
	"maps"
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

// withoutEndpoints applies the inventory's CiliumEndpoints (nothing when it
// has none): a running pod on the pod network without one is not managed
// by Cilium — no policy isolates it, no selector matches it — exactly as a
// pod Hubble shows as reserved:unmanaged. The graph workload it belongs to
// is marked unmanaged (a copy: the caller's graph is not touched), so every
// namespace whose observed flows need it is held back with the fix; the
// pods of workloads the window never saw are reported.
func (s *synth) withoutEndpoints(ix map[string]*invIndex) {
	byWorkload := withoutEndpointByWorkload(s.opts.Inventory)
	if len(byWorkload) == 0 {
		return
	}
	copied := false
	observed := map[string]bool{}
	for _, ns := range slices.Sorted(maps.Keys(ix)) {
		for i, w := range s.byNS[ns] {
			iw := ix[ns].of[w.ID]
			if iw == nil {
				continue
			}
			key := ns + "/" + iw.Ref().String()
			names := byWorkload[key]
			if len(names) == 0 {
				continue
			}
			observed[key] = true
			if !copied {
				g := *s.g
				g.Nodes = maps.Clone(s.g.Nodes)
				s.g, copied = &g, true
			}
			c := w.Clone()
			c.Unmanaged = true
			s.g.Nodes[c.ID], s.byNS[ns][i] = c, c
			s.set.UnmanagedWorkloads = append(s.set.UnmanagedWorkloads, c.ID)
			s.findingOnce("unmanaged "+c.ID, policy.Finding{Kind: policy.FindUnmanaged, Namespace: ns, Workload: c.Name,
				Message: noEndpoint(names) + ": every namespace whose observed flows need it is blocked; fix: " + restartFix(c)})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(byWorkload)) {
		if observed[key] {
			continue
		}
		ns, ref, _ := strings.Cut(key, "/")
		kind, name, _ := strings.Cut(ref, "/")
		s.finding(policy.Finding{Kind: policy.FindUnmanaged, Namespace: ns, Workload: name,
			Message: noEndpoint(byWorkload[key]) + " (" + kind + ", never observed in the window): restart its pods so that Cilium manages them"})
	}
}

// withoutEndpointByWorkload groups the inventory's running pods without a
// CiliumEndpoint by workload ("namespace/Kind/name").
func withoutEndpointByWorkload(inv *inventory.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, p := range inv.Unmanaged() {
		key := p.Namespace + "/" + p.Workload.String()
		out[key] = append(out[key], p.Name)
	}
	return out
}

// UnmanagedWorkloads returns the graph's workloads (node ids) some of whose
// pods the inventory lists without a CiliumEndpoint: those Synthesize
// treats as unmanaged, matched to the inventory as it matches them (nil
// without an inventory or CiliumEndpoints). verify replays them so.
func UnmanagedWorkloads(g *learner.Graph, inv *inventory.Snapshot) map[string]bool {
	if inv == nil {
		return nil
	}
	byWorkload := withoutEndpointByWorkload(inv)
	if len(byWorkload) == 0 {
		return nil
	}
	out := map[string]bool{}
	eachKnownWorkload(g, inv, func(w *learner.Node, iw *inventory.Workload, _ *invIndex) {
		if len(byWorkload[w.Namespace+"/"+iw.Ref().String()]) > 0 {
			out[w.ID] = true
		}
	})
	return out
}

// eachKnownWorkload calls fn with every workload of g the inventory
// knows, its inventory workload and the index of its namespace.
func eachKnownWorkload(g *learner.Graph, inv *inventory.Snapshot, fn func(w *learner.Node, iw *inventory.Workload, ix *invIndex)) {
	byNS := map[string][]*learner.Node{}
	for _, n := range g.SortedNodes() {
		if n.Kind == learner.NodeWorkload {
			byNS[n.Namespace] = append(byNS[n.Namespace], n)
		}
	}
	invWs, invPods := inventoryByNS(inv)
	for ns, ws := range byNS {
		ix := indexInventory(invWs[ns], invPods[ns], ws)
		for _, w := range ws {
			if iw := ix.of[w.ID]; iw != nil {
				fn(w, iw, ix)
			}
		}
	}
}

// noEndpoint says which pods have no CiliumEndpoint and what that means.
func noEndpoint(pods []string) string {
	const most = 3
	shown := pods
	if len(shown) > most {
		shown = shown[:most]
	}
	list := strings.Join(shown, ", ")
	if len(pods) > most {
		list += fmt.Sprintf(" and %d more", len(pods)-most)
	}
	what := "pod " + list + " has"
	if len(pods) > 1 {
		what = fmt.Sprintf("%d pods (%s) have", len(pods), list)
	}
	return what + " no CiliumEndpoint in the inventory: Cilium does not manage it (started before the agent, or the agent failed), so no policy isolates it and no selector matches it"
}
