package synth

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// namespace builds one application namespace's policies.
func (s *synth) namespace(ns string) *policy.Namespace {
	out := &policy.Namespace{Name: ns, DenyScope: s.set.DenyScope}
	window := fmt.Sprintf("window %s .. %s", fmtTime(s.g.First), fmtTime(s.g.Last))
	observed := s.observedScope()
	if !observed {
		out.Policies = append(out.Policies, &policy.Policy{
			Name: policy.NameDefaultDeny, Namespace: ns, Kind: policy.KindDefaultDeny, Ingress: true, Egress: true,
			Comment: []string{"Default deny: every pod of " + ns + ", both directions. Rollback: delete this namespace's policies."},
		})
		out.Policies = append(out.Policies, s.dnsPolicy(policy.NameDNS, ns, "", nil,
			"DNS for every pod, to the resolvers observed: "+resolverKinds(s.set.Resolvers)+" (UDP and TCP)."))
	}

	type dirRules struct {
		peers map[string]*peerPorts
		flows uint64
	}
	ingress := map[string]*dirRules{}
	egress := map[string]*dirRules{}
	addRule := func(m map[string]*dirRules, w string, peer policy.Peer, port policy.Port, flows uint64) {
		d := m[w]
		if d == nil {
			d = &dirRules{peers: map[string]*peerPorts{}}
			m[w] = d
		}
		k := peer.Key()
		pp := d.peers[k]
		if pp == nil {
			pp = &peerPorts{peer: peer, ports: map[policy.Port]bool{}}
			d.peers[k] = pp
		}
		pp.ports[port] = true
		d.flows += flows
	}
	workloads := map[string]*learner.Node{}
	for _, w := range s.byNS[ns] {
		workloads[w.Name] = w
		out.Workloads = append(out.Workloads, w.Name)
	}
	names := s.policyNames(ns, slices.Sorted(maps.Keys(workloads)))
	var newest time.Time
	var nsFlows uint64
	callers := map[string]bool{} // other namespaces whose workloads call into ns
	edges := s.nsEdges(ns)
	if len(edges) > 0 {
		out.Evidence = make([]policy.Evidence, 0, len(edges)+len(edges)/4)
	}
	for _, e := range edges {
		src, dst := s.node(e.Src), s.node(e.Dst)
		if src == nil || dst == nil {
			continue
		}
		srcHere := src.Kind == learner.NodeWorkload && src.Namespace == ns
		dstHere := dst.Kind == learner.NodeWorkload && dst.Namespace == ns
		if !srcHere && !dstHere {
			continue
		}
		if dstHere && src.Kind == learner.NodeWorkload && !srcHere {
			callers[src.Namespace] = true
		}
		nsFlows += e.Flows
		if e.FirstSeen.After(newest) {
			newest = e.FirstSeen
		}
		proto, _ := record.ParseProtocol(e.Proto)
		port := policy.Port{Proto: proto, Port: e.Port}
		if srcHere {
			ev := policy.Evidence{Workload: src.Name, Direction: "egress", Peer: describe(dst), Proto: e.Proto, Port: e.Port,
				Flows: e.Flows, FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, SrcID: e.Src, DstID: e.Dst, Via: s.viaServices(dst, port)}
			switch {
			case s.dnsIDs[e.Key()]:
				ev.Rule, ev.Admitted = policy.NameDNS, true
				if observed {
					ev.Rule = names[src.Name] + dnsSuffix
				}
				if r := s.unmanagedResolver(dst); r != "" {
					ev.Rule, ev.Admitted, ev.Fix = "blocked: the resolver "+r+" is "+notManaged+", no selector matches it", false, restartFix(dst)
				}
			case !proto.HasPorts() && !s.icmpExpressible():
				ev.Rule, ev.Documented = "not expressible in NetworkPolicy (use the cilium or calico flavor)", policy.DocInexpressible
				s.finding(policy.Finding{Kind: policy.FindInexpressible, Namespace: ns, Workload: src.Name, Peer: describe(dst),
					Proto: e.Proto, Flows: e.Flows, Message: e.Proto + " cannot be expressed in Kubernetes NetworkPolicy: needs the cilium or calico flavor"})
				if peer, v := s.egressPeer(ns, src, dst, e, true); v.admit {
					addRule(egress, src.Name, peer, port, e.Flows)
				}
			default:
				peer, v := s.egressPeer(ns, src, dst, e, false)
				if v.admit {
					addRule(egress, src.Name, peer, port, e.Flows)
					ev.Rule, ev.Admitted = names[src.Name]+"-egress", s.expressible(peer)
					switch {
					case !ev.Admitted:
						ev.Rule, ev.Fix = "needs the cilium flavor (entity "+string(peer.Entity)+")", ciliumFlavorFix
					case s.unmanagedPods(dst):
						ev.Rule, ev.Admitted, ev.Fix = "blocked: some of "+describe(dst)+"'s pods are "+notManaged+": the rule cannot match them", false, restartFix(dst)
					}
				} else {
					ev.Rule, ev.Documented, ev.Fix = v.rule("not admitted (see findings)"), v.doc, v.fix
				}
			}
			s.selfSelectable(&ev, src)
			out.Evidence = append(out.Evidence, ev)
		}
		if dstHere {
			ev := policy.Evidence{Workload: dst.Name, Direction: "ingress", Peer: describe(src), Proto: e.Proto, Port: e.Port,
				Flows: e.Flows, FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, SrcID: e.Src, DstID: e.Dst}
			if src.Kind == learner.NodeWorkload || src.Entity != string(record.EntityHost) && src.Entity != string(record.EntityRemoteNode) {
				ev.Via = s.viaServices(dst, port) // a node's probes do not go through a Service
			}
			if peer, v := s.ingressPeer(ns, src, dst, e); v.admit {
				addRule(ingress, dst.Name, peer, port, e.Flows)
				ev.Rule, ev.Admitted = names[dst.Name]+"-ingress", s.expressible(peer)
				switch {
				case !proto.HasPorts() && !s.icmpExpressible():
					ev.Rule, ev.Admitted, ev.Documented = "not expressible in NetworkPolicy (use the cilium or calico flavor)", false, policy.DocInexpressible
					// an edge from an application namespace was reported on
					// its egress side; from anywhere else it would go unreported
					if src.Kind != learner.NodeWorkload || !s.app[src.Namespace] {
						s.finding(policy.Finding{Kind: policy.FindInexpressible, Namespace: ns, Workload: dst.Name, Peer: describe(src),
							Proto: e.Proto, Flows: e.Flows, Message: e.Proto + " cannot be expressed in Kubernetes NetworkPolicy: needs the cilium or calico flavor"})
					}
				case !ev.Admitted:
					ev.Rule, ev.Fix = "needs the cilium flavor (entity "+string(peer.Entity)+")", ciliumFlavorFix
				case s.unmanagedPods(src):
					ev.Rule, ev.Admitted, ev.Fix = "blocked: some of "+describe(src)+"'s pods are "+notManaged+": the rule cannot match them", false, restartFix(src)
				case s.looksLikeNode(src):
					ev.Rule += " (the caller looks like a node: see findings)"
				}
			} else {
				ev.Rule, ev.Documented, ev.Fix = v.rule("no rule (see findings)"), v.doc, v.fix
			}
			s.selfSelectable(&ev, dst)
			out.Evidence = append(out.Evidence, ev)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		w := workloads[name]
		if !observed && ingress[name] == nil && egress[name] == nil {
			continue
		}
		sel := s.selector(w)
		if sel == nil {
			if observed {
				s.finding(policy.Finding{Kind: policy.FindSelector, Namespace: ns, Workload: name,
					Message: "deny scope observed: no policy can select it, so it is not isolated (its pods accept and make any connection the other side's policies admit)"})
			}
			continue
		}
		if observed {
			// without a namespace-wide bundle the workload's DNS goes with
			// its own policies: an egress policy isolates it, and the DNS
			// bundle is the documented exception every pod gets
			out.Policies = append(out.Policies, s.dnsPolicy(names[name]+dnsSuffix, ns, name, sel,
				fmt.Sprintf("DNS for %s/%s (%s), to the resolvers observed: %s (UDP and TCP).", ns, name, w.WorkloadKind, resolverKinds(s.set.Resolvers))))
		}
		if d := ingress[name]; d != nil || observed {
			p := &policy.Policy{Name: names[name] + "-ingress", Namespace: ns, Kind: policy.KindIngress, Workload: name, Subject: sel, Ingress: true}
			if d != nil {
				p.IngressRules = rules(d.peers)
				p.Comment = []string{fmt.Sprintf("Who may call %s/%s (%s): learned from %d request flows, %s.", ns, name, w.WorkloadKind, d.flows, window)}
			} else {
				p.Comment = []string{fmt.Sprintf("No call to %s/%s (%s) seen in the %s needs a rule: this policy isolates it (deny scope observed).", ns, name, w.WorkloadKind, window)}
			}
			out.Policies = append(out.Policies, p)
		}
		if d := egress[name]; d != nil || observed {
			p := &policy.Policy{Name: names[name] + "-egress", Namespace: ns, Kind: policy.KindEgress, Workload: name, Subject: sel, Egress: true}
			if d != nil {
				p.EgressRules = rules(d.peers)
				p.Comment = []string{fmt.Sprintf("Whom %s/%s (%s) calls: learned from %d request flows, %s.", ns, name, w.WorkloadKind, d.flows, window)}
			} else {
				p.Comment = []string{fmt.Sprintf("No call from %s/%s (%s) seen in the %s but DNS is admitted: this policy isolates it (deny scope observed).", ns, name, w.WorkloadKind, window)}
			}
			out.Policies = append(out.Policies, p)
		}
	}
	s.nameRules(out.Policies, workloads)
	out.Traffic = s.readiness(nsFlows, newest)
	out.Blockers = append(ClaimedBlockers(out), s.unaddressed[ns]...)
	SortBlockers(out.Blockers)
	out.Silent, out.Unproven = s.silent[ns], s.unproven[ns]
	out.Existing = s.existingPolicies(ns, out.Policies)
	Judge(out)
	out.Dependents = len(callers)
	return out
}

// dnsSuffix ends the name of a workload's own DNS policy (deny scope
// observed); workload policies otherwise end "-ingress" or "-egress".
const dnsSuffix = "-dns"

// dnsPolicy is the DNS bundle for the pods sel selects (all of the
// namespace when nil): egress to every resolver on its ports.
func (s *synth) dnsPolicy(name, ns, workload string, sel map[string]string, comment string) *policy.Policy {
	p := &policy.Policy{Name: name, Namespace: ns, Kind: policy.KindDNS, Workload: workload, Subject: sel, Egress: true, Comment: []string{comment}}
	for _, r := range s.set.Resolvers {
		p.EgressRules = append(p.EgressRules, policy.Rule{Peers: []policy.Peer{r.Peer}, Ports: r.Ports})
	}
	return p
}

// expressible reports whether the flavor can express the peer under the
// configured CNI semantics: on Cilium, ipBlocks match neither nodes nor the
// API server, which need entities (the cilium flavor writes them).
func (s *synth) expressible(p policy.Peer) bool {
	if p.Pods != nil {
		return true
	}
	if s.ciliumEntities() {
		switch p.Entity {
		case record.EntityHost, record.EntityRemoteNode, record.EntityKubeAPIServer, record.EntityWorld:
			return true
		}
	}
	if s.opts.CNI == CNICilium {
		switch p.Entity {
		case record.EntityHost, record.EntityRemoteNode, record.EntityKubeAPIServer:
			return false
		}
	}
	return len(p.CIDRs) > 0
}

type peerPorts struct {
	peer  policy.Peer
	ports map[policy.Port]bool
}

// rules groups peers with identical port sets into one rule: exact, since
// every peer in a rule was observed on every port of it.
//
// Rules are ordered by the key of their first peer (peers keys are their
// policy.Peer.Key, so that is the rule's smallest peer key).
func rules(peers map[string]*peerPorts) []policy.Rule {
	type group struct {
		rule  policy.Rule
		first string // Peers[0].Key()
	}
	groups := map[string]*group{}
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(peers)) {
		pp := peers[k]
		ports := slices.SortedFunc(maps.Keys(pp.ports), policy.ComparePorts)
		sb.Reset()
		for _, p := range ports {
			sb.WriteString(p.String())
			sb.WriteByte(',')
		}
		g := groups[sb.String()]
		if g == nil {
			g = &group{rule: policy.Rule{Ports: ports}, first: k}
			groups[sb.String()] = g
		}
		g.rule.Peers = append(g.rule.Peers, pp.peer)
	}
	sorted := make([]*group, 0, len(groups))
	for _, g := range groups {
		sorted = append(sorted, g)
	}
	slices.SortFunc(sorted, func(a, b *group) int { return cmp.Compare(a.first, b.first) })
	out := make([]policy.Rule, len(sorted))
	for i, g := range sorted {
		out[i] = g.rule
	}
	return out
}

// podPeer is the peer for a workload as seen from namespace ns.
func (s *synth) podPeer(ns string, w *learner.Node) (policy.Peer, verdict) {
	sel := s.selector(w)
	if sel == nil {
		if w.Unmanaged {
			s.unmanagedFinding(w)
			return policy.Peer{}, blocking(describe(w)+" is "+notManaged+": no selector matches its pods", restartFix(w))
		}
		return policy.Peer{}, blocking("no labels seen for "+describe(w)+"'s pods: no selector can name it",
			"give its pods labels (or export their labels to the flow source), then generate again")
	}
	p := policy.Peer{Pods: &policy.PodPeer{Selector: sel}, Workload: w.ID}
	if w.Namespace != ns {
		p.Pods.Namespace = w.Namespace
	}
	return p, admitted()
}

func (s *synth) nodePeer(n *learner.Node, ns, workload string) (policy.Peer, verdict) {
	a := n.NodeAddr()
	p := policy.Peer{Entity: record.Entity(n.Entity), Workload: n.ID}
	for _, c := range s.nodes.prefixes(a) {
		p.CIDRs = append(p.CIDRs, policy.CIDR{Prefix: c, Except: broadExcepts(&s.set.Guard, c)})
	}
	if len(p.CIDRs) > 0 && !s.ciliumEntities() && !s.needsEntities() {
		// where ipBlocks match nodes, a node is its ipBlock whatever it
		// was observed as (host, remote-node, a plain address): one peer
		// per prefix, so a rule never writes a node prefix twice
		p.Entity = ""
	}
	if !s.nodeFinding {
		s.nodeFinding = true
		msg := "node traffic is admitted by node IP /32s: node IPs change when nodes are replaced; set nodes.cidrs in config to use the node CIDRs instead"
		if s.nodes.configured() {
			msg = "node traffic is admitted from/to the configured node CIDRs (nodes.cidrs) that hold the node addresses observed (a node outside them by its /32)"
		}
		if s.ciliumEntities() {
			msg = "node traffic is admitted by the Cilium entity it was observed as (host: the pod's own node; remote-node: the other nodes), not by node IPs: a pod whose replicas later run elsewhere may need the other one"
		}
		s.findingOnce("node IPs", policy.Finding{Kind: policy.FindNodeIPs, Message: msg})
	}
	if s.needsEntities() {
		s.finding(policy.Finding{Kind: policy.FindCNI, Namespace: ns, Workload: workload, Peer: describe(n),
			Message: "on Cilium, ipBlocks do not match node IPs: use the cilium flavor (entities " + n.Entity + ")"})
	}
	if len(p.CIDRs) > 0 || s.opts.CNI == CNICilium || s.ciliumEntities() {
		return p, admitted()
	}
	s.finding(policy.Finding{Kind: policy.FindUnsupported, Namespace: ns, Workload: workload, Peer: describe(n),
		Message: "node address not observed: no rule written (set nodes.cidrs in config, or use the cilium flavor)"})
	return p, blocking("node address not observed: no rule written", "set nodes.cidrs in config, or generate with --format cilium")
}

// apiServerPeer is the peer for the API server node n: a /32 (/128) of its
// observed address, the entity for Cilium. It reports when neither applies.
func (s *synth) apiServerPeer(n *learner.Node, ns, workload string) (policy.Peer, verdict) {
	p := policy.Peer{Entity: record.EntityKubeAPIServer, Workload: n.ID}
	if a := n.NodeAddr(); a.IsValid() {
		p.CIDRs = []policy.CIDR{{Prefix: netip.PrefixFrom(a, a.BitLen())}}
	}
	if len(p.CIDRs) > 0 || s.opts.CNI == CNICilium || s.ciliumEntities() {
		return p, admitted()
	}
	s.finding(policy.Finding{Kind: policy.FindUnsupported, Namespace: ns, Workload: workload, Peer: describe(n),
		Message: "API server address not observed: no rule written (use the cilium flavor: entity kube-apiserver)"})
	return p, blocking("API server address not observed: no rule written", "generate with --format cilium (entity kube-apiserver)")
}

// egressPeer decides how src may reach dst (or reports why not).
func (s *synth) egressPeer(ns string, src, dst *learner.Node, e *learner.Edge, portless bool) (policy.Peer, verdict) {
	switch dst.Kind {
	case learner.NodeWorkload:
		return s.podPeer(ns, dst)
	case learner.NodeExternal:
		a := dst.NodeAddr()
		if ga, guarded := s.set.Guard.Guards(a, e.Port); guarded {
			if !optedIn(&s.set.Guard, ns, src.Name, a, e.Port) {
				s.finding(policy.Finding{Kind: policy.FindMetadata, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
					Flows: e.Flows, Message: ga.What + " called: never allowed by default (opt in with config metadata.allow)"})
				return policy.Peer{}, documented(policy.DocMetadata, "cloud credential endpoint: never allowed by default (config metadata.allow)")
			}
			s.finding(policy.Finding{Kind: policy.FindMetadata, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
				Flows: e.Flows, Message: ga.What + " called: ALLOWED by the named opt-in in config metadata.allow"})
		}
		if !portless && e.Port >= 32768 && e.Port <= 60999 {
			s.finding(policy.Finding{Kind: policy.FindAmbiguousPort, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
				Flows: e.Flows, Message: "request to an ephemeral port: check it is a real service port"})
		}
		if s.nodes.isNode(a) {
			// a node's address (nodes.cidrs, the inventory's nodes and
			// hostNetwork pods), such as a Calico flow log's hostNetwork
			// server: node traffic, admitted as Hubble's node entities are
			s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
				Flows: e.Flows, Message: "egress to a node's address (hostNetwork pod or node port): " + s.nodeAdmission()})
			return s.nodePeer(dst, ns, src.Name)
		}
		return cidrPeer(a, dst), admitted()
	}
	// entities
	switch record.Entity(dst.Entity) {
	case record.EntityKubeAPIServer:
		if s.needsEntities() {
			s.finding(policy.Finding{Kind: policy.FindCNI, Namespace: ns, Workload: src.Name, Peer: describe(dst),
				Message: "on Cilium, ipBlocks do not match the API server: use the cilium flavor (entity kube-apiserver)"})
		}
		return s.apiServerPeer(dst, ns, src.Name)
	case record.EntityHost, record.EntityRemoteNode:
		if a := dst.NodeAddr(); a.IsValid() {
			if ga, guarded := s.set.Guard.Guards(a, e.Port); guarded && !optedIn(&s.set.Guard, ns, src.Name, a, e.Port) {
				s.finding(policy.Finding{Kind: policy.FindMetadata, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
					Flows: e.Flows, Message: ga.What + " called: never allowed by default (opt in with config metadata.allow)"})
				return policy.Peer{}, documented(policy.DocMetadata, "cloud credential endpoint: never allowed by default (config metadata.allow)")
			}
		}
		s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
			Flows: e.Flows, Message: "egress to a node (hostNetwork pod or node port): " + s.nodeAdmission()})
		return s.nodePeer(dst, ns, src.Name)
	}
	if s.healthPeer(dst, ns, src.Name, e) {
		return policy.Peer{}, documented(policy.DocHost, "Cilium health endpoint: the agent admits its health traffic")
	}
	s.finding(policy.Finding{Kind: policy.FindUnsupported, Namespace: ns, Workload: src.Name, Peer: describe(dst), Proto: e.Proto, Port: e.Port,
		Flows: e.Flows, Message: "peer without a workload or routable identity: no rule written"})
	return policy.Peer{}, blocking("peer without a workload or routable identity ("+describe(dst)+"): no rule can name it",
		"find what "+describe(dst)+" is; if the CNI does not manage it, restart it so that it does, else admit it yourself")
}

// ingressPeer decides how src may reach dst (a workload of ns).
func (s *synth) ingressPeer(ns string, src, dst *learner.Node, e *learner.Edge) (policy.Peer, verdict) {
	switch src.Kind {
	case learner.NodeWorkload:
		return s.podPeer(ns, src)
	case learner.NodeExternal:
		a := src.NodeAddr()
		if a.IsValid() && s.nodes.isNode(a) {
			if node, own := s.nodes.OwnNode(src, dst, e); own {
				// the inventory names the caller's node: its own pods'
				// kubelet probes need no rule (DESIGN.md rule 8)
				msg := "from the pod's own node " + node + " (kubelet probes; its address by the inventory): always allowed, no rule needed"
				s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows, Message: msg})
				return policy.Peer{}, documented(policy.DocHost, msg)
			}
			if node := s.nodes.node(a); node != "" {
				// traffic other nodes saw too is node traffic, admitted as such
				s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows,
					Message: "from node " + node + "'s address (inventory), seen by other nodes too: " + s.nodeAdmission()})
				return s.nodePeer(src, ns, dst.Name)
			}
			// a node address (config nodes.cidrs), such as a Calico
			// flow log's kubelet probe: node traffic (docs/DESIGN.md rule 8)
			s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows,
				Message: "from a node address (nodes.cidrs): kubelet probes from the pod's own node need no rule; admitted from the node CIDRs so that the other nodes' traffic (LoadBalancer, hostNetwork clients) keeps working"})
			return s.nodePeer(src, ns, dst.Name)
		}
		if a.IsValid() && isPrivate(a) {
			if s.looksLikeNode(src) {
				s.finding(policy.Finding{Kind: policy.FindNodeLike, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows,
					Message: "the caller looks like a node (a private address without a pod identity, e.g. the kubelet probing this port): it is admitted by its /32, which also opens the port to that node for replicas on other nodes; set nodes.cidrs in config so that node callers are recognised exactly"})
			}
			// a private caller (an internal load balancer client, a managed
			// API server seen as a plain address) is not the internet: admit
			// exactly the address observed
			return cidrPeer(a, src), admitted()
		}
		s.finding(policy.Finding{Kind: policy.FindPublic, Namespace: ns, Workload: dst.Name, Proto: e.Proto, Port: e.Port, Flows: e.Flows,
			Message: s.publicMessage()})
		return s.worldPeer(), admitted()
	}
	switch record.Entity(src.Entity) {
	case record.EntityWorld:
		s.finding(policy.Finding{Kind: policy.FindPublic, Namespace: ns, Workload: dst.Name, Proto: e.Proto, Port: e.Port, Flows: e.Flows,
			Message: s.publicMessage()})
		return s.worldPeer(), admitted()
	case record.EntityHost:
		s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows,
			Message: "from the pod's own node (kubelet probes): always allowed, no rule needed"})
		return policy.Peer{}, documented(policy.DocHost, "from the pod's own node (kubelet probes): always allowed, no rule needed")
	case record.EntityRemoteNode:
		s.finding(policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port, Flows: e.Flows,
			Message: "from another node (LoadBalancer with externalTrafficPolicy Cluster, hostNetwork clients): " + s.nodeAdmission()})
		return s.nodePeer(src, ns, dst.Name)
	case record.EntityKubeAPIServer:
		return s.apiServerPeer(src, ns, dst.Name)
	}
	if s.healthPeer(src, ns, dst.Name, e) {
		return policy.Peer{}, documented(policy.DocHost, "Cilium health endpoint: the agent admits its health traffic")
	}
	s.finding(policy.Finding{Kind: policy.FindUnsupported, Namespace: ns, Workload: dst.Name, Peer: describe(src), Proto: e.Proto, Port: e.Port,
		Flows: e.Flows, Message: "caller without a workload or routable identity: no rule written"})
	return policy.Peer{}, blocking("caller without a workload or routable identity ("+describe(src)+"): no rule can name it",
		"find what "+describe(src)+" is; if the CNI does not manage it, restart it so that it does, else admit it yourself")
}

// isPrivate reports addresses that are not on the internet: RFC 1918, ULA,
// CGNAT (100.64.0.0/10), loopback and link-local.
func isPrivate(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// worldPeer is "any source" for public entrypoints, minus the guard excepts.
func (s *synth) worldPeer() policy.Peer {
	p := policy.Peer{Entity: record.EntityWorld}
	for _, pf := range []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} {
		p.CIDRs = append(p.CIDRs, policy.CIDR{Prefix: pf, Except: broadExcepts(&s.set.Guard, pf)})
	}
	return p
}

func (s *synth) readiness(flows uint64, newest time.Time) policy.Readiness {
	span := s.g.Last.Sub(s.g.First)
	quiet := time.Duration(float64(span) * s.opts.QuietFraction)
	if s.opts.QuietPeriod > 0 {
		quiet = s.opts.QuietPeriod
	}
	cut := s.g.Last.Add(-quiet)
	switch {
	case flows < s.opts.MinFlows:
		return policy.Readiness{State: policy.TooLittle, Evidence: fmt.Sprintf("%d request flows (need %d)", flows, s.opts.MinFlows)}
	case !newest.IsZero() && newest.After(cut):
		return policy.Readiness{State: policy.StillLearning, Evidence: fmt.Sprintf("a new edge appeared at %s, inside the quiet period (after %s)", fmtTime(newest), fmtTime(cut))}
	}
	return policy.Readiness{State: policy.Stable, Evidence: fmt.Sprintf("%d request flows; no new edge since %s (quiet period %s)", flows, fmtTime(newest), quiet.Round(time.Second))}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func resolverKinds(rs []policy.Resolver) string {
	var ks []string
	for _, r := range rs {
		k := r.Kind
		if !r.Observed {
			k += " (not observed: default)"
		}
		if !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return strings.Join(ks, ", ")
}

// safeName turns a workload name into a DNS-1123 label usable in an object
// name with a "-ingress"/"-egress" suffix.
func safeName(n string) string {
	var sb strings.Builder
	for _, c := range strings.ToLower(n) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			sb.WriteRune(c)
		default:
			sb.WriteByte('-')
		}
	}
	out := strings.Trim(sb.String(), "-")
	if len(out) > 200 {
		out = strings.TrimRight(out[:200], "-")
	}
	if out == "" {
		out = "workload"
	}
	return out
}
