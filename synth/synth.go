// Package synth turns a learned flow graph into the flavor-neutral policy
// model: per application namespace a default-deny, the DNS bundle and one
// least-privilege ingress and egress policy per workload, plus the metadata
// guard, readiness and the findings a user must read. It never admits more
// than was observed, except where docs/DESIGN.md says so (the DNS bundle,
// world-facing entrypoints).
package synth

import (
	"cmp"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/flowfence/flowfence/internal/parallel"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// CNI semantics the generator writes for.
const (
	CNIKubernetes = "kubernetes"
	CNICilium     = "cilium"
	CNICalico     = "calico"
)

// Options configure synthesis.
type Options struct {
	Cloud string
	CNI   string
	// Flavor is the policy flavor the set is rendered in (FlavorK8s,
	// FlavorCilium, FlavorCalico): it decides what the evidence rows call
	// expressible (ICMP; nodes and the API server by Cilium entities).
	// Empty keeps the older behaviour that derives it from CNI.
	Flavor string
	// SystemNamespaces are globs of namespaces that get no policies (their
	// pods are still peers); added to the built-in list.
	SystemNamespaces []string
	// Include/Exclude are namespace globs; empty Include means all.
	Include, Exclude []string
	MetadataAllow    []policy.OptIn
	// DNSClusterIPs are kube-dns Service IPs to admit alongside NodeLocal DNS.
	DNSClusterIPs []netip.Addr
	// NodeCIDRs replace per-node /32s for node traffic when set.
	NodeCIDRs []netip.Prefix
	// QuietFraction is the trailing part of the window in which no new edge
	// may appear for a namespace to be "stable" (default 0.25).
	QuietFraction float64
	// QuietPeriod, when set, overrides QuietFraction with a duration.
	QuietPeriod time.Duration
	// MinFlows is the least traffic (request flows) a namespace needs to be
	// judged at all (default 20).
	MinFlows uint64
	// Inventory is the cluster snapshot (nil: none): selectors are proven
	// against every pod it lists and its workloads the window never saw
	// are listed (silent workloads).
	Inventory *inventory.Snapshot
	// DenyScope is what the tree isolates: policy.DenyScopeNamespace (or
	// empty) writes a default-deny and the DNS bundle per application
	// namespace; policy.DenyScopeObserved writes neither and isolates each
	// observed workload by its own ingress, egress and DNS policies
	// (written even when they admit nothing), leaving every other pod alone.
	DenyScope string
}

// DefaultSystemNamespaces are never given policies unless asked for.
func DefaultSystemNamespaces() []string {
	return []string{"kube-system", "kube-public", "kube-node-lease", "calico-system", "calico-apiserver",
		"tigera-operator", "cilium*", "local-path-storage", "gke-*", "gmp-system", "openshift-*"}
}

type synth struct {
	opts Options
	g    *learner.Graph
	set  *policy.Set
	byNS map[string][]*learner.Node
	sel  map[string]map[string]string // node id → selector (nil = cannot select)
	// ambiguous holds workloads whose selector also matches another
	// workload's pods; reported when the selector is used.
	ambiguous   map[string]bool
	reported    map[string]bool
	app         map[string]bool          // app namespaces
	dnsIDs      map[learner.EdgeKey]bool // edges covered by the DNS bundle
	nodeFinding bool
	// once marks the findings made once per run (see findingOnce);
	// onceKeys are their keys, outside the namespace workers (nil in a
	// fork: namespaces() drops its repeats when it merges them)
	once     []onceMark
	onceKeys map[string]bool
	// sorted are the graph's edges in key order (see sortedEdges)
	sorted []*learner.Edge
	// edgesByNS are the edges with a workload of the namespace at either
	// end, in key order (see nsEdges)
	edgesByNS map[string][]*learner.Edge
	// unaddressed are, per namespace, the blockers of traffic with peers
	// recorded without an address (see unaddressedFindings)
	unaddressed map[string][]policy.Blocker
	// silent and unproven are, per namespace, what the inventory holds it
	// back with (see applyInventory)
	silent   map[string][]policy.SilentWorkload
	unproven map[string][]policy.Unproven
	// nodes are the addresses known to be nodes' (config nodes.cidrs and
	// the inventory's nodes)
	nodes *NodeSet
	// invIx is the inventory by namespace (nil without one; see
	// indexWorkloads), only read once built
	invIx map[string]*invIndex
	// policiesByNS are the inventory's NetworkPolicies by namespace
	policiesByNS map[string][]*inventory.NetworkPolicy
	// named are the named ports the pods of each graph workload with a
	// proven selector all declare alike (see namedPorts), by node id
	named map[string][]policy.NamedPort
	// via explains, per graph workload and pod port, the Services that
	// translate another port to it (see servicePorts); servicesByNS are
	// the inventory's Services by namespace
	via          map[string]map[policy.Port][]string
	servicesByNS map[string][]*inventory.Service
}

// onceMark says that finding at (an index into set.Findings) is made once
// per run, under key.
type onceMark struct {
	at  int
	key string
}

// sortedEdges returns the graph's edges in key order, sorted once.
func (s *synth) sortedEdges() []*learner.Edge {
	if s.sorted == nil {
		s.sorted = learner.SortedEdges(s.g.Edges)
	}
	return s.sorted
}

// nsEdges returns, in key order, the edges with a workload of namespace ns
// at either end: what namespace() reads, indexed once for all namespaces
// instead of sorting and scanning every edge per namespace.
func (s *synth) nsEdges(ns string) []*learner.Edge {
	if s.edgesByNS == nil {
		s.edgesByNS = map[string][]*learner.Edge{}
		for _, e := range s.sortedEdges() {
			src, dst := s.node(e.Src), s.node(e.Dst)
			if src == nil || dst == nil {
				continue
			}
			srcNS := ""
			if src.Kind == learner.NodeWorkload {
				srcNS = src.Namespace
				s.edgesByNS[srcNS] = append(s.edgesByNS[srcNS], e)
			}
			if dst.Kind == learner.NodeWorkload && dst.Namespace != srcNS {
				s.edgesByNS[dst.Namespace] = append(s.edgesByNS[dst.Namespace], e)
			}
		}
	}
	return s.edgesByNS[ns]
}

// Synthesize builds the policy set for a graph.
func Synthesize(g *learner.Graph, opts Options) (*policy.Set, error) {
	if opts.CNI == "" {
		opts.CNI = CNIKubernetes
	}
	switch opts.CNI {
	case CNIKubernetes, CNICilium, CNICalico:
	default:
		return nil, fmt.Errorf("--cni %q: one of kubernetes, cilium, calico", opts.CNI)
	}
	switch opts.DenyScope {
	case "", policy.DenyScopeNamespace, policy.DenyScopeObserved:
	default:
		return nil, fmt.Errorf("--deny-scope %q: one of %s, %s", opts.DenyScope, policy.DenyScopeNamespace, policy.DenyScopeObserved)
	}
	if opts.QuietFraction <= 0 || opts.QuietFraction >= 1 {
		opts.QuietFraction = 0.25
	}
	if opts.MinFlows == 0 {
		opts.MinFlows = 20
	}
	for _, globs := range []struct {
		key   string
		globs []string
	}{{"namespaces.system", opts.SystemNamespaces}, {"namespaces.include", opts.Include}, {"namespaces.exclude", opts.Exclude}} {
		for _, p := range globs.globs {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("%s: namespace glob %q: %w", globs.key, p, err)
			}
		}
	}
	guard, err := NewGuard(opts.Cloud, opts.MetadataAllow)
	if err != nil {
		return nil, err
	}
	if !IsCanonical(g) {
		g = Canonical(g) // a copy: callers' graphs (usually canonical already) are not touched
	}
	s := &synth{
		opts: opts, g: g,
		set:  &policy.Set{Guard: guard, WindowStart: g.First, WindowEnd: g.Last, CNI: opts.CNI},
		byNS: map[string][]*learner.Node{}, sel: map[string]map[string]string{},
		app: map[string]bool{}, dnsIDs: map[learner.EdgeKey]bool{},
		ambiguous: map[string]bool{}, reported: map[string]bool{}, unaddressed: map[string][]policy.Blocker{},
		silent: map[string][]policy.SilentWorkload{}, unproven: map[string][]policy.Unproven{},
		onceKeys: map[string]bool{},
		named:    map[string][]policy.NamedPort{}, via: map[string]map[policy.Port][]string{},
	}
	if opts.DenyScope == policy.DenyScopeObserved {
		s.set.DenyScope = opts.DenyScope
	}
	s.nodes = NewNodeSet(opts.NodeCIDRs, opts.Inventory)
	if opts.Inventory != nil {
		s.set.Inventory = opts.Inventory.Summary()
		s.set.CiliumEndpoints = len(opts.Inventory.Endpoints)
		for _, p := range opts.Inventory.Unmanaged() {
			s.set.Unmanaged = append(s.set.Unmanaged, p.Namespace+"/"+p.Name)
		}
		s.policiesByNS = map[string][]*inventory.NetworkPolicy{}
		s.servicesByNS = map[string][]*inventory.Service{}
		for i := range opts.Inventory.Services {
			v := &opts.Inventory.Services[i]
			s.servicesByNS[v.Namespace] = append(s.servicesByNS[v.Namespace], v)
		}
		for i := range opts.Inventory.Policies {
			p := &opts.Inventory.Policies[i]
			s.policiesByNS[p.Namespace] = append(s.policiesByNS[p.Namespace], p)
		}
	}
	for _, e := range g.Edges {
		s.set.Flows += e.Flows
	}
	s.indexWorkloads()
	s.optInSelectors()
	s.resolvers()
	s.deniedFindings()
	s.unaddressedFindings()
	nss := slices.Sorted(func(yield func(string) bool) {
		for ns := range s.byNS {
			if !yield(ns) {
				return
			}
		}
	})
	var apps []string
	for _, ns := range nss {
		if !s.app[ns] {
			s.set.System = append(s.set.System, ns)
			continue
		}
		apps = append(apps, ns)
	}
	s.namespaces(apps)
	s.set.Ports = s.usedPorts()
	s.order()
	policy.SortFindings(s.set.Findings)
	return s.set, nil
}

// Canonical returns the graph synth works on: one workload name in one
// namespace is one workload, whatever cluster reported it (policies are per
// namespace). Idempotent.
func Canonical(g *learner.Graph) *learner.Graph {
	return g.Relabel(func(n *learner.Node) string {
		if n.Kind == learner.NodeWorkload {
			return "pod:" + n.Namespace + "/" + n.Name
		}
		return n.ID
	})
}

// IsCanonical reports whether Canonical would only copy g (every graph of
// one cluster): callers that only read the graph can use g itself.
func IsCanonical(g *learner.Graph) bool {
	for id, n := range g.Nodes {
		if n.Kind == learner.NodeWorkload && id != "pod:"+n.Namespace+"/"+n.Name {
			return false
		}
	}
	return true
}

func matchAny(globs []string, ns string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, ns); ok {
			return true
		}
	}
	return false
}

func (s *synth) isApp(ns string) bool {
	if matchAny(DefaultSystemNamespaces(), ns) || matchAny(s.opts.SystemNamespaces, ns) {
		// system namespaces only when explicitly included by name or by a
		// glob that is not the catch-all "*" (include: ["*"] must not put
		// kube-system under default-deny)
		var named []string
		for _, g := range s.opts.Include {
			if g != "*" {
				named = append(named, g)
			}
		}
		return matchAny(named, ns) && !matchAny(s.opts.Exclude, ns)
	}
	if len(s.opts.Include) > 0 && !matchAny(s.opts.Include, ns) {
		return false
	}
	return !matchAny(s.opts.Exclude, ns)
}

func (s *synth) indexWorkloads() {
	for _, n := range s.g.SortedNodes() {
		if n.Kind == learner.NodeWorkload {
			s.byNS[n.Namespace] = append(s.byNS[n.Namespace], n)
		}
	}
	var (
		ix      map[string]*invIndex
		invWs   map[string][]*inventory.Workload
		invPods map[string][]*inventory.Pod
	)
	if s.opts.Inventory != nil {
		ix = map[string]*invIndex{}
		invWs, invPods = inventoryByNS(s.opts.Inventory)
	}
	for ns, ws := range s.byNS {
		s.app[ns] = s.isApp(ns)
		var others []*learner.Node // ws and the inventory's workloads the window never saw
		if ix != nil && (len(invWs[ns]) > 0 || len(invPods[ns]) > 0) {
			ix[ns] = indexInventory(invWs[ns], invPods[ns], ws)
			others = append(slices.Clone(ws), ix[ns].unseen(ns)...)
		}
		for _, w := range ws {
			sel, ok := selectorFor(w, ws)
			if others != nil {
				// separated from the unseen workloads too, when labels can;
				// else the window's choice stands and proveSelectors says so
				if sel2, ok2 := selectorFor(w, others); ok2 {
					sel, ok = sel2, ok2
				}
			}
			s.sel[w.ID] = sel
			s.ambiguous[w.ID] = sel != nil && !ok
		}
	}
	if ix != nil {
		s.applyInventory(ix)
		s.withoutEndpoints(ix)
	}
	s.invIx = ix
}

// observedScope reports whether the tree isolates only the observed
// workloads (policy.DenyScopeObserved).
func (s *synth) observedScope() bool { return s.opts.DenyScope == policy.DenyScopeObserved }

func (s *synth) finding(f policy.Finding) { s.set.Findings = append(s.set.Findings, f) }

// findingOnce records a finding made once per run, the first time key
// comes up; namespaces built beside each other each make it the first time
// they see key, and namespaces keeps the first of them.
func (s *synth) findingOnce(key string, f policy.Finding) {
	if s.onceKeys != nil {
		if s.onceKeys[key] {
			return
		}
		s.onceKeys[key] = true
	}
	s.once = append(s.once, onceMark{at: len(s.set.Findings), key: key})
	s.finding(f)
}

// namespaces builds the application namespaces' policies on all cores and
// adds them, and their findings, in the order of apps — what building them
// one after the other would add: a finding made once per run is kept where
// the first namespace made it.
func (s *synth) namespaces(apps []string) {
	s.nsEdges("") // index the edges before the workers read them
	type built struct {
		ns       *policy.Namespace
		findings []policy.Finding
		once     []onceMark
	}
	out := make([]built, len(apps))
	parallel.For(len(apps), func(i int) {
		w := s.fork()
		out[i] = built{ns: w.namespace(apps[i]), findings: w.set.Findings, once: w.once}
	})
	seen := map[string]bool{}
	for _, m := range s.once {
		seen[m.key] = true
	}
	for _, b := range out {
		s.set.Namespaces = append(s.set.Namespaces, b.ns)
		once := b.once
		for i, f := range b.findings {
			if len(once) > 0 && once[0].at == i {
				key := once[0].key
				once = once[1:]
				if seen[key] {
					continue
				}
				seen[key] = true
				s.findingOnce(key, f)
				continue
			}
			s.finding(f)
		}
	}
}

// fork returns a copy of s for building one namespace beside others: it
// shares the graph and the indexes (only read from here on) and has its
// own findings and once-per-run state.
func (s *synth) fork() *synth {
	w := *s
	set := *s.set
	set.Findings = nil
	w.set = &set
	w.reported = map[string]bool{}
	w.nodeFinding = false
	w.once, w.onceKeys = nil, nil
	return &w
}

// selector returns a workload's selector for use in a policy, reporting
// (once) a workload that cannot be selected or not precisely.
func (s *synth) selector(w *learner.Node) map[string]string {
	sel := s.sel[w.ID]
	if !s.reported[w.ID] {
		switch {
		case sel == nil && w.Unmanaged:
			s.reported[w.ID] = true // unmanagedFinding says it
		case sel == nil:
			s.reported[w.ID] = true
			s.findingOnce("selector "+w.ID, policy.Finding{Kind: policy.FindSelector, Namespace: w.Namespace, Workload: w.Name,
				Message: "no labels seen for its pods: it cannot be selected, so no rule names it (its flows stay denied until its pods' labels are exported)"})
		case s.ambiguous[w.ID]:
			s.reported[w.ID] = true
			s.findingOnce("selector "+w.ID, policy.Finding{Kind: policy.FindSelector, Namespace: w.Namespace, Workload: w.Name,
				Message: "no label set separates it from another workload of the namespace: its selector also matches that workload's pods"})
		}
	}
	return sel
}

func (s *synth) node(id string) *learner.Node { return s.g.Nodes[id] }

// resolvers finds the DNS resolvers the workloads used and marks the edges
// the DNS bundle covers.
func (s *synth) resolvers() {
	type res struct {
		r     policy.Resolver
		ports map[policy.Port]bool
	}
	found := map[string]*res{}
	add := func(key, kind string, peer policy.Peer, e *learner.Edge, extra uint16) *res {
		r := found[key]
		if r == nil {
			r = &res{r: policy.Resolver{Kind: kind, Peer: peer, Observed: true}, ports: map[policy.Port]bool{}}
			found[key] = r
		}
		// a configured resolver (dns.cluster-ips) that was also observed
		if !r.r.Observed {
			r.r.Observed, r.r.Peer = true, peer
		}
		for _, p := range []uint16{53, extra} {
			if p != 0 {
				r.ports[policy.Port{Proto: record.UDP, Port: p}] = true
				r.ports[policy.Port{Proto: record.TCP, Port: p}] = true
			}
		}
		s.dnsIDs[e.Key()] = true
		return r
	}
	nodeLocal := false
	for _, e := range s.sortedEdges() {
		if e.Proto != "UDP" && e.Proto != "TCP" {
			continue
		}
		src, dst := s.node(e.Src), s.node(e.Dst)
		if src == nil || dst == nil || src.Kind != learner.NodeWorkload || !s.app[src.Namespace] {
			continue
		}
		switch {
		case dst.Kind == learner.NodeWorkload && dst.Namespace == "kube-system" && (e.Port == 53 || e.Port == 5353 || e.Port == 1053) &&
			(dst.Labels["k8s-app"] == "kube-dns" || isClusterResolver(dst)):
			// the cluster resolver, by its label or, where the CNI gave
			// it none (an unmanaged CoreDNS), by its role: DNS ports in
			// kube-system, a CoreDNS / kube-dns workload
			key, peer := "kube-dns", kubeDNSPeer()
			if sel := s.sel[dst.ID]; dst.Labels["k8s-app"] != "kube-dns" && sel != nil && !s.ambiguous[dst.ID] {
				key, peer = "kube-dns/"+dst.Name, policy.Peer{Pods: &policy.PodPeer{Namespace: dst.Namespace, Selector: sel}}
			}
			r := add(key, "kube-dns", peer, e, e.Port)
			if dst.Unmanaged && !slices.Contains(r.r.Unmanaged, describe(dst)) {
				s.unmanagedFinding(dst)
				r.r.Unmanaged = append(r.r.Unmanaged, describe(dst))
				slices.Sort(r.r.Unmanaged)
			}
		case dst.Kind == learner.NodeWorkload && dst.Namespace == "openshift-dns" && (e.Port == 53 || e.Port == 5353):
			add("openshift-dns", "openshift-dns", policy.Peer{Pods: &policy.PodPeer{Namespace: "openshift-dns",
				Selector: map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"}}}, e, e.Port)
		case dst.Kind != learner.NodeWorkload && e.Port == 53 && dst.IP != "":
			a := dst.NodeAddr()
			switch {
			case a == netip.MustParseAddr("169.254.169.254"):
				add("gke", "gke-cloud-dns", cidrPeer(a, dst), e, 0)
			case a.IsLinkLocalUnicast():
				nodeLocal = true
				add("nodelocal/"+a.String(), "node-local-dns", cidrPeer(a, dst), e, 0)
			}
		}
	}
	if nodeLocal {
		clusterIPs := s.dnsClusterIPs()
		for _, ip := range clusterIPs {
			found["clusterip/"+ip.String()] = &res{r: policy.Resolver{Kind: "kube-dns-clusterip", Peer: cidrPeer(ip, nil)},
				ports: map[policy.Port]bool{{Proto: record.UDP, Port: 53}: true, {Proto: record.TCP, Port: 53}: true}}
		}
		// with kube-proxy in iptables mode NodeLocal DNS also answers on the
		// kube-dns ClusterIP: port-53 traffic to a configured kube-dns
		// ClusterIP joins the bundle. Port-53 traffic to any other IP stays a
		// per-workload /32 rule: an unknown private resolver (a corporate DNS
		// server) must not become every pod's resolver.
		for _, e := range s.sortedEdges() {
			dst := s.node(e.Dst)
			src := s.node(e.Src)
			if e.Port != 53 || dst == nil || src == nil || src.Kind != learner.NodeWorkload || !s.app[src.Namespace] || s.dnsIDs[e.Key()] {
				continue
			}
			if a := dst.NodeAddr(); a.IsValid() && slices.Contains(clusterIPs, a) {
				add("clusterip/"+a.String(), "kube-dns-clusterip", cidrPeer(a, dst), e, 0)
			}
		}
	}
	if len(found) == 0 {
		found["kube-dns"] = &res{r: policy.Resolver{Kind: "kube-dns", Peer: kubeDNSPeer()},
			ports: map[policy.Port]bool{{Proto: record.UDP, Port: 53}: true, {Proto: record.TCP, Port: 53}: true}}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range found {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		r := found[k]
		for p := range r.ports {
			r.r.Ports = append(r.r.Ports, p)
		}
		slices.SortFunc(r.r.Ports, policy.ComparePorts)
		s.set.Resolvers = append(s.set.Resolvers, r.r)
	}
}

// dnsClusterIPs are the kube-dns Service addresses the DNS bundle admits
// beside NodeLocal DNS: those configured (dns.cluster-ips), else the
// cluster IPs of the inventory's kube-system Service that selects the
// cluster resolver (k8s-app=kube-dns, or named kube-dns), said in a
// finding.
func (s *synth) dnsClusterIPs() []netip.Addr {
	if len(s.opts.DNSClusterIPs) > 0 || s.opts.Inventory == nil {
		return s.opts.DNSClusterIPs
	}
	var out []netip.Addr
	var from []string
	for _, svc := range s.opts.Inventory.Services {
		if svc.Namespace != "kube-system" || len(svc.ClusterIPs) == 0 || (svc.Selector["k8s-app"] != "kube-dns" && svc.Name != "kube-dns") {
			continue
		}
		from = append(from, svc.Name)
		for _, a := range svc.ClusterIPs {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if len(out) > 0 {
		slices.SortFunc(out, netip.Addr.Compare)
		ips := make([]string, len(out))
		for i, a := range out {
			ips[i] = a.String()
		}
		s.findingOnce("dns cluster ips", policy.Finding{Kind: policy.FindDNS,
			Message: "NodeLocal DNS: the kube-dns cluster IP " + strings.Join(ips, ", ") + " (the inventory's Service kube-system/" + strings.Join(from, ", kube-system/") + ") joins the DNS bundle, as dns.cluster-ips would"})
	}
	return out
}

// isClusterResolver recognises the cluster's DNS workload by its name
// (CoreDNS, kube-dns) when its labels do not say it: an unmanaged pod has
// none.
func isClusterResolver(n *learner.Node) bool {
	return strings.HasPrefix(n.Name, "coredns") || strings.HasPrefix(n.Name, "kube-dns") || strings.HasPrefix(n.Name, "rke2-coredns")
}

// unmanagedResolver names dst when it is a resolver the DNS bundle admits
// whose pods the CNI does not manage ("" otherwise).
func (s *synth) unmanagedResolver(dst *learner.Node) string {
	if dst == nil || !dst.Unmanaged {
		return ""
	}
	for _, r := range s.set.Resolvers {
		if slices.Contains(r.Unmanaged, describe(dst)) {
			return describe(dst)
		}
	}
	return ""
}

func kubeDNSPeer() policy.Peer {
	return policy.Peer{Pods: &policy.PodPeer{Namespace: "kube-system", Selector: map[string]string{"k8s-app": "kube-dns"}}}
}

func cidrPeer(a netip.Addr, n *learner.Node) policy.Peer {
	p := policy.Peer{CIDRs: []policy.CIDR{{Prefix: netip.PrefixFrom(a, a.BitLen())}}, Entity: record.EntityWorld}
	if n != nil {
		p.Names = n.Names
		p.Workload = n.ID
		if n.Kind == learner.NodeEntity {
			p.Entity = record.Entity(n.Entity)
		}
	}
	return p
}

// describe names a node for reports.
func describe(n *learner.Node) string {
	if n == nil {
		return "?"
	}
	switch n.Kind {
	case learner.NodeWorkload:
		return n.Namespace + "/" + n.Name
	case learner.NodeExternal:
		if len(n.Names) > 0 {
			return n.IP + " (" + strings.Join(n.Names, ", ") + ")"
		}
		return n.IP
	}
	if n.IP != "" {
		return n.Entity + " " + n.IP
	}
	return n.Entity
}

// DescribeNode is describe for other packages (reports).
func DescribeNode(n *learner.Node) string { return describe(n) }

// order sorts namespaces fewest dependents first (namespace sets them).
func (s *synth) order() {
	slices.SortStableFunc(s.set.Namespaces, func(a, b *policy.Namespace) int {
		return cmp.Or(cmp.Compare(a.Dependents, b.Dependents), cmp.Compare(a.Name, b.Name))
	})
}
