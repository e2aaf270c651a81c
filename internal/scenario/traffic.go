package scenario

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	relaypb "github.com/cilium/cilium/api/v1/relay"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Reserved identities as Cilium numbers them.
const (
	identityHost          = 1
	identityWorld         = 2
	identityRemoteNode    = 6
	identityKubeAPIServer = 7
)

// hubbleVersion is the emitter version written into exporter-shaped flows.
const hubbleVersion = "1.20.2"

// peer is one end of a simulated connection: a pod, or a reserved entity
// with an address.
type peer struct {
	pod    *Pod
	entity string
	ip     string
}

func (p peer) isPod() bool { return p.pod != nil }

func (p peer) addr() string {
	if p.pod != nil {
		return p.pod.IP
	}
	return p.ip
}

// tcpFlags is the subset of TCP flags the scenario uses.
type tcpFlags struct{ syn, ack, psh, fin bool }

// packet is one simulated packet (or DNS message) of a connection.
type packet struct {
	t            time.Time
	src, dst     peer
	proto        string // TCP, UDP, ICMPv4
	sport, dport uint32
	flags        tcpFlags
	icmpType     uint32
	reply        bool
	reason       flowpb.TraceReason
	srcNames     []string
	dstNames     []string
}

// obs is one line of output: a flow, or a non-flow event, as seen by node.
type obs struct {
	node  string
	t     time.Time
	seq   int
	flow  *flowpb.Flow
	event *observerpb.GetFlowsResponse
	// dup marks the flow that a relay resend repeats (exporter file only).
	dup bool
}

// gen simulates the scenario's traffic.
type gen struct {
	spec   Spec
	rng    *rand.Rand
	start  time.Time
	span   time.Duration
	ident  map[string]uint32   // pod name → security identity
	epID   map[string]uint32   // pod name → endpoint ID on its node
	labels map[string][]string // pod name → Hubble labels
	obs    []obs
	seq    int
}

func newGen() *gen {
	start, end := Window()
	g := &gen{
		spec:   Cluster(),
		rng:    rand.New(rand.NewPCG(0x666c6f77, 0x66656e63)),
		start:  start,
		span:   end.Sub(start),
		ident:  map[string]uint32{},
		epID:   map[string]uint32{},
		labels: map[string][]string{},
	}
	// Security identities: one per distinct identity-relevant label set.
	byKey := map[string][]string{}
	for _, p := range g.spec.Pods {
		ls := hubbleLabels(g.spec, p)
		g.labels[p.Name] = ls
		k := strings.Join(ls, ",")
		byKey[k] = append(byKey[k], p.Name)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	used := map[uint32]bool{}
	for _, k := range keys {
		id := 10000 + hash32("identity/"+k)%50000
		for used[id] {
			id++
		}
		used[id] = true
		for _, name := range byKey[k] {
			g.ident[name] = id
		}
	}
	// Endpoint IDs: unique per node.
	usedEP := map[string]bool{}
	for _, p := range g.spec.Pods {
		id := 1 + hash32("endpoint/"+p.Name)%4000
		for usedEP[fmt.Sprintf("%s/%d", p.Node, id)] {
			id++
		}
		usedEP[fmt.Sprintf("%s/%d", p.Node, id)] = true
		g.epID[p.Name] = id
	}
	return g
}

// at returns the instant at fraction f of the window, with nanosecond noise.
func (g *gen) at(f float64) time.Time {
	return g.start.Add(time.Duration(f * float64(g.span))).Add(time.Duration(g.rng.Int64N(int64(time.Second))))
}

// times spreads n instants over fractions [from, to] of the window, one per
// n-th of the range, so that the first and the last slices are always used.
func (g *gen) times(n int, from, to float64) []time.Time {
	out := make([]time.Time, n)
	for i := range n {
		f := from + (to-from)*(float64(i)+0.1+0.8*g.rng.Float64())/float64(n)
		out[i] = g.at(f)
	}
	return out
}

func (g *gen) pods(ns, workload string) []*Pod {
	var out []*Pod
	for i := range g.spec.Pods {
		p := &g.spec.Pods[i]
		if p.Namespace == ns && p.WorkloadName == workload {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		panic("scenario: no pods for " + ns + "/" + workload)
	}
	return out
}

func (g *gen) pick(ns, workload string) peer {
	ps := g.pods(ns, workload)
	return peer{pod: ps[g.rng.IntN(len(ps))]}
}

func (g *gen) ephemeral() uint32 { return uint32(32768 + g.rng.IntN(60999-32768+1)) }

func (g *gen) micros(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1))*time.Microsecond + time.Duration(g.rng.IntN(1000))
}

// rtt is a plausible round-trip time between c and s.
func (g *gen) rtt(c, s peer) time.Duration {
	switch {
	case c.entity == EntityWorld || s.entity == EntityWorld:
		return g.micros(4000, 40000)
	case c.isPod() && s.isPod() && c.pod.Node == s.pod.Node:
		return g.micros(20, 90)
	default:
		return g.micros(150, 600)
	}
}

func (g *gen) nodeLabels(node string) []string {
	n, _ := g.spec.Node(node)
	out := make([]string, 0, len(n.Labels))
	for k, v := range n.Labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// endpoint renders p as node observer's Hubble sees it.
func (g *gen) endpoint(p peer, observer string) *flowpb.Endpoint {
	if p.pod == nil {
		switch p.entity {
		case EntityHost:
			return &flowpb.Endpoint{Identity: identityHost, Labels: []string{"reserved:host"}}
		case EntityRemoteNode:
			return &flowpb.Endpoint{Identity: identityRemoteNode, Labels: []string{"reserved:remote-node"}}
		case EntityKubeAPIServer:
			return &flowpb.Endpoint{Identity: identityKubeAPIServer, Labels: []string{"reserved:kube-apiserver"}}
		default:
			return &flowpb.Endpoint{Identity: identityWorld, Labels: []string{"reserved:world"}}
		}
	}
	ep := &flowpb.Endpoint{
		Identity:    g.ident[p.pod.Name],
		ClusterName: g.spec.Cluster,
		Namespace:   p.pod.Namespace,
		Labels:      append([]string(nil), g.labels[p.pod.Name]...),
		PodName:     p.pod.Name,
	}
	// Hubble knows the endpoint ID and the owning workload of local pods
	// only; remote pods are resolved through the ipcache and the identity.
	if p.pod.Node == observer {
		ep.ID = g.epID[p.pod.Name]
		ep.Workloads = []*flowpb.Workload{{Name: p.pod.WorkloadName, Kind: p.pod.WorkloadKind}}
	}
	return ep
}

func mac(seed string) string {
	h := hash32("mac/" + seed)
	h2 := hash32("mac2/" + seed)
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(h>>24)&0xfe|0x02, byte(h>>16), byte(h>>8), byte(h), byte(h2>>24), byte(h2>>16))
}

func (g *gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return formatUUID(b[:])
}

func (p packet) layer4() *flowpb.Layer4 {
	switch p.proto {
	case "UDP":
		return &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{SourcePort: p.sport, DestinationPort: p.dport}}}
	case "ICMPv4":
		return &flowpb.Layer4{Protocol: &flowpb.Layer4_ICMPv4{ICMPv4: &flowpb.ICMPv4{Type: p.icmpType}}}
	default:
		var fl *flowpb.TCPFlags
		if p.flags != (tcpFlags{}) {
			fl = &flowpb.TCPFlags{SYN: p.flags.syn, ACK: p.flags.ack, PSH: p.flags.psh, FIN: p.flags.fin}
		}
		return &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: p.sport, DestinationPort: p.dport, Flags: fl}}}
	}
}

func (p packet) summary() string {
	switch p.proto {
	case "UDP":
		return "UDP"
	case "ICMPv4":
		if p.icmpType == 8 {
			return "ICMPv4 EchoRequest"
		}
		return "ICMPv4 EchoReply"
	}
	var fl []string
	if p.flags.syn {
		fl = append(fl, "SYN")
	}
	if p.flags.ack {
		fl = append(fl, "ACK")
	}
	if p.flags.fin {
		fl = append(fl, "FIN")
	}
	if p.flags.psh {
		fl = append(fl, "PSH")
	}
	return "TCP Flags: " + strings.Join(fl, ", ")
}

// base returns the fields every L3/L4 event of p seen on node shares.
func (g *gen) base(p packet, node string, t time.Time) *flowpb.Flow {
	return &flowpb.Flow{
		Time:             timestamppb.New(t),
		Uuid:             g.uuid(),
		Emitter:          &flowpb.Emitter{Name: "Hubble", Version: hubbleVersion},
		Ethernet:         &flowpb.Ethernet{Source: mac(p.src.addr()), Destination: mac(p.dst.addr())},
		IP:               &flowpb.IP{Source: p.src.addr(), Destination: p.dst.addr(), IpVersion: flowpb.IPVersion_IPv4},
		L4:               p.layer4(),
		Source:           g.endpoint(p.src, node),
		Destination:      g.endpoint(p.dst, node),
		Type:             flowpb.FlowType_L3_L4,
		NodeName:         node,
		NodeLabels:       g.nodeLabels(node),
		SourceNames:      p.srcNames,
		DestinationNames: p.dstNames,
		Summary:          p.summary(),
	}
}

func (g *gen) emit(node string, t time.Time, f *flowpb.Flow) {
	g.seq++
	g.obs = append(g.obs, obs{node: node, t: t, seq: g.seq, flow: f})
}

func (g *gen) emitEvent(node string, t time.Time, e *observerpb.GetFlowsResponse) {
	g.seq++
	g.obs = append(g.obs, obs{node: node, t: t, seq: g.seq, event: e})
}

// trace emits a trace event (event_type 4) of p at node.
func (g *gen) trace(p packet, node string, pt flowpb.TraceObservationPoint, dir flowpb.TrafficDirection, t time.Time) {
	f := g.base(p, node, t)
	f.Verdict = flowpb.Verdict_FORWARDED
	sub := int32(pt)
	if pt == flowpb.TraceObservationPoint_TO_ENDPOINT {
		sub = 0 // the datapath's TRACE_TO_LXC; Hubble shows it as TO_ENDPOINT
	}
	f.EventType = &flowpb.CiliumEventType{Type: 4, SubType: sub}
	f.TraceObservationPoint = pt
	f.TraceReason = p.reason
	f.TrafficDirection = dir
	f.IsReply = wrapperspb.Bool(p.reply)
	f.Reply = p.reply
	switch pt {
	case flowpb.TraceObservationPoint_TO_ENDPOINT:
		if local := p.dst.pod; local != nil && local.Node == node {
			f.Interface = &flowpb.NetworkInterface{Index: 10 + hash32("ifindex/"+local.Name)%90, Name: fmt.Sprintf("lxc%012x", uint64(hash32("lxc/"+local.Name))<<16|uint64(hash32("lxc2/"+local.Name)&0xffff))}
		}
	case flowpb.TraceObservationPoint_TO_OVERLAY:
		f.Interface = &flowpb.NetworkInterface{Index: 4, Name: "cilium_vxlan"}
	}
	g.emit(node, t, f)
}

// verdictEvent emits a policy-verdict event (event_type 5) of p at node.
func (g *gen) verdictEvent(p packet, node string, v flowpb.Verdict, dir flowpb.TrafficDirection, match uint32, t time.Time) {
	f := g.base(p, node, t)
	f.Verdict = v
	f.EventType = &flowpb.CiliumEventType{Type: 5}
	f.TrafficDirection = dir
	f.PolicyMatchType = match
	f.IsReply = wrapperspb.Bool(false)
	g.emit(node, t, f)
}

// drop emits a drop event (event_type 1) of p at node.
func (g *gen) drop(p packet, node string, reason flowpb.DropReason, dir flowpb.TrafficDirection, t time.Time) {
	f := g.base(p, node, t)
	f.Verdict = flowpb.Verdict_DROPPED
	f.DropReason = uint32(reason)
	f.DropReasonDesc = reason
	f.EventType = &flowpb.CiliumEventType{Type: 1, SubType: int32(reason)}
	f.TrafficDirection = dir
	g.emit(node, t, f)
}

func (g *gen) nodeOf(p peer) string {
	if p.pod != nil {
		return p.pod.Node
	}
	return ""
}

// observe emits the trace events Cilium produces for p on the nodes that
// see it (tunnel mode): the client's node traces the packet leaving
// (TO_OVERLAY / TO_STACK), the server's node traces it arriving
// (TO_ENDPOINT); a same-node packet is traced once, at delivery.
// traffic_direction is the connection's direction from the local endpoint.
func (g *gen) observe(p packet) {
	cli, srv := p.src, p.dst
	if p.reply {
		cli, srv = p.dst, p.src
	}
	cn, sn := g.nodeOf(cli), g.nodeOf(srv)
	hop := g.micros(40, 160)
	if cli.isPod() && srv.isPod() && cn == sn {
		if p.reply {
			g.trace(p, cn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_EGRESS, p.t)
		} else {
			g.trace(p, sn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_INGRESS, p.t)
		}
		return
	}
	out := flowpb.TraceObservationPoint_TO_STACK
	if cli.isPod() && srv.isPod() {
		out = flowpb.TraceObservationPoint_TO_OVERLAY
	}
	if !p.reply {
		if cli.isPod() {
			g.trace(p, cn, out, flowpb.TrafficDirection_EGRESS, p.t)
		}
		if srv.isPod() {
			g.trace(p, sn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_INGRESS, p.t.Add(hop))
		}
		return
	}
	if srv.isPod() {
		g.trace(p, sn, out, flowpb.TrafficDirection_INGRESS, p.t)
	}
	if cli.isPod() {
		g.trace(p, cn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_EGRESS, p.t.Add(hop))
	}
}

type tcpOpts struct {
	// data adds a request and a response segment (ACK, PSH) after the
	// handshake.
	data bool
	// audit: the requests are seen only as policy-verdict AUDIT events
	// (policy audit mode), the replies as normal traces.
	audit bool
	// verdictIngress adds an ingress policy-verdict FORWARDED event at the
	// server's node for the SYN (the namespace has a policy already).
	verdictIngress bool
	// dstNames are the DNS names Hubble knows for the server.
	dstNames []string
}

// tcpConn simulates one TCP connection from c to s:dport starting at t.
func (g *gen) tcpConn(t time.Time, c, s peer, dport uint32, o tcpOpts) {
	sport := g.ephemeral()
	rtt := g.rtt(c, s)
	req := func(t time.Time, fl tcpFlags, reason flowpb.TraceReason) packet {
		return packet{t: t, src: c, dst: s, proto: "TCP", sport: sport, dport: dport, flags: fl, reason: reason, dstNames: o.dstNames}
	}
	rep := func(t time.Time, fl tcpFlags) packet {
		return packet{t: t, src: s, dst: c, proto: "TCP", sport: dport, dport: sport, flags: fl, reply: true, reason: flowpb.TraceReason_REPLY, srcNames: o.dstNames}
	}
	syn := req(t, tcpFlags{syn: true}, flowpb.TraceReason_NEW)
	if o.audit {
		if c.isPod() {
			g.verdictEvent(syn, c.pod.Node, flowpb.Verdict_AUDIT, flowpb.TrafficDirection_EGRESS, 0, t)
		}
		if s.isPod() {
			g.verdictEvent(syn, s.pod.Node, flowpb.Verdict_AUDIT, flowpb.TrafficDirection_INGRESS, 0, t.Add(g.micros(40, 160)))
		}
		g.observe(rep(t.Add(rtt), tcpFlags{syn: true, ack: true}))
		return
	}
	if o.verdictIngress && s.isPod() {
		g.verdictEvent(syn, s.pod.Node, flowpb.Verdict_FORWARDED, flowpb.TrafficDirection_INGRESS, 2, t.Add(g.micros(20, 35)))
	}
	g.observe(syn)
	g.observe(rep(t.Add(rtt), tcpFlags{syn: true, ack: true}))
	t2 := t.Add(rtt + g.micros(5, 40))
	g.observe(req(t2, tcpFlags{ack: true}, flowpb.TraceReason_ESTABLISHED))
	if o.data {
		t3 := t2.Add(g.micros(5, 60))
		g.observe(req(t3, tcpFlags{ack: true, psh: true}, flowpb.TraceReason_ESTABLISHED))
		g.observe(rep(t3.Add(rtt+g.micros(100, 4000)), tcpFlags{ack: true, psh: true}))
	}
}

// deniedAttempt simulates a connection that an ingress policy at the
// server's node drops: the client's node forwards the SYN (and its
// retransmissions), the server's node drops each, nothing answers.
func (g *gen) deniedAttempt(t time.Time, c, s peer, dport uint32) {
	sport := g.ephemeral()
	for _, retry := range []time.Duration{0, time.Second, 3 * time.Second} {
		ts := t.Add(retry).Add(g.micros(0, 900))
		p := packet{t: ts, src: c, dst: s, proto: "TCP", sport: sport, dport: dport, flags: tcpFlags{syn: true}, reason: flowpb.TraceReason_NEW}
		g.trace(p, c.pod.Node, flowpb.TraceObservationPoint_TO_OVERLAY, flowpb.TrafficDirection_EGRESS, ts)
		g.drop(p, s.pod.Node, flowpb.DropReason_POLICY_DENIED, flowpb.TrafficDirection_INGRESS, ts.Add(g.micros(60, 200)))
	}
}

// dnsQuery is one DNS question and its answer.
type dnsQuery struct {
	name     string
	ips      []string
	ttl      uint32
	rcode    uint32
	external bool // CoreDNS forwards it upstream
}

func (q dnsQuery) l7(typ flowpb.L7FlowType) *flowpb.Layer7 {
	d := &flowpb.DNS{Query: q.name, ObservationSource: "proxy", Qtypes: []string{"A"}}
	if typ == flowpb.L7FlowType_RESPONSE {
		d.Ips = q.ips
		d.Ttl = q.ttl
		d.Rcode = q.rcode
		if len(q.ips) > 0 {
			d.Rrtypes = []string{"A"}
		}
	}
	return &flowpb.Layer7{Type: typ, Record: &flowpb.Layer7_Dns{Dns: d}}
}

func (q dnsQuery) summary(typ flowpb.L7FlowType) string {
	if typ == flowpb.L7FlowType_REQUEST {
		return "DNS Query " + q.name + " A"
	}
	var answer string
	switch {
	case q.rcode == 3:
		answer = "RCode: Non-Existent Domain"
	case len(q.ips) > 0:
		answer = fmt.Sprintf("%q", strings.Join(q.ips, ","))
	}
	return fmt.Sprintf("DNS Answer %s TTL: %d (Proxy %s A)", answer, q.ttl, q.name)
}

// l7Event emits an L7 DNS event (event_type 129) seen by the DNS proxy on
// the client's node.
func (g *gen) l7Event(p packet, q dnsQuery, typ flowpb.L7FlowType) {
	node := p.src.pod.Node
	if p.reply {
		node = p.dst.pod.Node
	}
	f := &flowpb.Flow{
		Time:             timestamppb.New(p.t),
		Uuid:             g.uuid(),
		Emitter:          &flowpb.Emitter{Name: "Hubble", Version: hubbleVersion},
		Verdict:          flowpb.Verdict_FORWARDED,
		IP:               &flowpb.IP{Source: p.src.addr(), Destination: p.dst.addr(), IpVersion: flowpb.IPVersion_IPv4},
		L4:               p.layer4(),
		Source:           g.endpoint(p.src, node),
		Destination:      g.endpoint(p.dst, node),
		Type:             flowpb.FlowType_L7,
		NodeName:         node,
		NodeLabels:       g.nodeLabels(node),
		L7:               q.l7(typ),
		Reply:            p.reply,
		EventType:        &flowpb.CiliumEventType{Type: 129},
		TrafficDirection: flowpb.TrafficDirection_EGRESS,
		IsReply:          wrapperspb.Bool(p.reply),
		Summary:          q.summary(typ),
	}
	g.emit(node, p.t, f)
}

// dnsLookup simulates pod c asking CoreDNS pod s for q over UDP. With l7,
// the namespace has DNS visibility: the query goes through Cilium's DNS
// proxy on c's node (policy verdict REDIRECTED, trace TO_PROXY, L7 request
// and response events), which forwards it with c's address and port.
func (g *gen) dnsLookup(t time.Time, c, s peer, q dnsQuery, l7 bool) {
	sport := g.ephemeral()
	rtt := g.rtt(c, s)
	req := packet{t: t, src: c, dst: s, proto: "UDP", sport: sport, dport: 53, reason: flowpb.TraceReason_NEW}
	rep := packet{t: t.Add(rtt), src: s, dst: c, proto: "UDP", sport: 53, dport: sport, reply: true, reason: flowpb.TraceReason_REPLY}
	upstream := func(at time.Time) {
		if !q.external {
			return
		}
		up := peer{entity: EntityWorld, ip: UpstreamDNSIP}
		g.dnsUpstream(at, s, up)
		rep.t = rep.t.Add(g.micros(3000, 20000))
	}
	if !l7 {
		g.observe(req)
		upstream(t)
		g.observe(rep)
		return
	}
	cn := c.pod.Node
	g.verdictEvent(req, cn, flowpb.Verdict_REDIRECTED, flowpb.TrafficDirection_EGRESS, 2, t)
	toProxy := req
	toProxy.t = t.Add(g.micros(10, 40))
	g.trace(toProxy, cn, flowpb.TraceObservationPoint_TO_PROXY, flowpb.TrafficDirection_EGRESS, toProxy.t)
	l7req := req
	l7req.t = toProxy.t.Add(g.micros(50, 300))
	g.l7Event(l7req, q, flowpb.L7FlowType_REQUEST)
	// The proxy's upstream query arrives at CoreDNS's node.
	fwd := l7req
	fwd.t = l7req.t.Add(g.micros(60, 200))
	sn := s.pod.Node
	g.trace(fwd, sn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_INGRESS, fwd.t)
	upstream(fwd.t)
	back := rep
	back.t = rep.t.Add(g.micros(300, 600))
	if sn == cn {
		g.trace(back, sn, flowpb.TraceObservationPoint_TO_STACK, flowpb.TrafficDirection_INGRESS, back.t)
	} else {
		g.trace(back, sn, flowpb.TraceObservationPoint_TO_OVERLAY, flowpb.TrafficDirection_INGRESS, back.t)
	}
	l7rep := rep
	l7rep.t = back.t.Add(g.micros(100, 400))
	g.l7Event(l7rep, q, flowpb.L7FlowType_RESPONSE)
	toPod := rep
	toPod.t = l7rep.t.Add(g.micros(10, 60))
	g.trace(toPod, cn, flowpb.TraceObservationPoint_TO_ENDPOINT, flowpb.TrafficDirection_EGRESS, toPod.t)
}

// dnsUpstream simulates CoreDNS pod s forwarding a query to the upstream
// resolver.
func (g *gen) dnsUpstream(t time.Time, s, up peer) {
	sport := g.ephemeral()
	t = t.Add(g.micros(50, 200))
	g.observe(packet{t: t, src: s, dst: up, proto: "UDP", sport: sport, dport: 53, reason: flowpb.TraceReason_NEW})
	g.observe(packet{t: t.Add(g.rtt(s, up)), src: up, dst: s, proto: "UDP", sport: 53, dport: sport, reply: true, reason: flowpb.TraceReason_REPLY})
}

// sockLB emits the socket-LB pair Cilium traces when pod c connects to the
// kube-dns ClusterIP: TRACED before translation (destination: the
// ClusterIP, unknown to the ipcache, hence world), TRANSLATED after it
// (destination: the chosen backend).
func (g *gen) sockLB(t time.Time, c, backend peer, cookie uint64) {
	node := c.pod.Node
	svc := &flowpb.Service{Name: "kube-dns", Namespace: "kube-system"}
	mk := func(ts time.Time, dst peer, v flowpb.Verdict, pt flowpb.SocketTranslationPoint, dsvc *flowpb.Service) {
		f := &flowpb.Flow{
			Time:               timestamppb.New(ts),
			Uuid:               g.uuid(),
			Emitter:            &flowpb.Emitter{Name: "Hubble", Version: hubbleVersion},
			Verdict:            v,
			IP:                 &flowpb.IP{Source: c.addr(), Destination: dst.addr(), IpVersion: flowpb.IPVersion_IPv4},
			L4:                 &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{DestinationPort: 53}}},
			Source:             g.endpoint(c, node),
			Destination:        g.endpoint(dst, node),
			Type:               flowpb.FlowType_SOCK,
			NodeName:           node,
			NodeLabels:         g.nodeLabels(node),
			EventType:          &flowpb.CiliumEventType{Type: 7, SubType: int32(pt)},
			DestinationService: dsvc,
			SockXlatePoint:     pt,
			SocketCookie:       cookie,
			CgroupId:           uint64(hash32("cgroup/" + c.pod.Name)),
			Summary:            "UDP",
		}
		g.emit(node, ts, f)
	}
	mk(t, peer{entity: EntityWorld, ip: KubeDNSClusterIP}, flowpb.Verdict_TRACED, flowpb.SocketTranslationPoint_SOCK_XLATE_POINT_PRE_DIRECTION_FWD, svc)
	mk(t.Add(g.micros(1, 5)), backend, flowpb.Verdict_TRANSLATED, flowpb.SocketTranslationPoint_SOCK_XLATE_POINT_POST_DIRECTION_FWD, nil)
}

// icmpPing simulates one ICMPv4 echo request and its reply.
func (g *gen) icmpPing(t time.Time, c, s peer) {
	g.observe(packet{t: t, src: c, dst: s, proto: "ICMPv4", icmpType: 8, reason: flowpb.TraceReason_NEW})
	g.observe(packet{t: t.Add(g.rtt(c, s)), src: s, dst: c, proto: "ICMPv4", icmpType: 0, reply: true, reason: flowpb.TraceReason_REPLY})
}

// invalidSourceDrop emits the classic non-policy drop: an IPv6 router
// solicitation from a link-local address, dropped as INVALID_SOURCE_IP.
func (g *gen) invalidSourceDrop(node string, t time.Time) {
	f := &flowpb.Flow{
		Time:    timestamppb.New(t),
		Uuid:    g.uuid(),
		Emitter: &flowpb.Emitter{Name: "Hubble", Version: hubbleVersion},
		Verdict: flowpb.Verdict_DROPPED,
		IP: &flowpb.IP{
			Source:      fmt.Sprintf("fe80::%x:%xff:fe%x:%x", hash32(node)>>16, hash32(node)&0xff, hash32(node+"/2")&0xff, hash32(node+"/3")&0xffff),
			Destination: "ff02::2",
			IpVersion:   flowpb.IPVersion_IPv6,
		},
		L4:             &flowpb.Layer4{Protocol: &flowpb.Layer4_ICMPv6{ICMPv6: &flowpb.ICMPv6{Type: 133}}},
		Source:         &flowpb.Endpoint{},
		Destination:    &flowpb.Endpoint{},
		Type:           flowpb.FlowType_L3_L4,
		NodeName:       node,
		NodeLabels:     g.nodeLabels(node),
		DropReason:     uint32(flowpb.DropReason_INVALID_SOURCE_IP),
		DropReasonDesc: flowpb.DropReason_INVALID_SOURCE_IP,
		EventType:      &flowpb.CiliumEventType{Type: 1, SubType: int32(flowpb.DropReason_INVALID_SOURCE_IP)},
		Summary:        "ICMPv6 RouterSolicitation",
	}
	g.emit(node, t, f)
}

// dnsNames is what each workload resolves in its routine lookups.
func dnsNames(ns, workload string) []dnsQuery {
	svc := func(name, ip string) dnsQuery { return dnsQuery{name: name, ips: []string{ip}, ttl: 30} }
	nx := func(name string) dnsQuery { return dnsQuery{name: name, ttl: 30, rcode: 3} }
	switch ns + "/" + workload {
	case "shop/frontend":
		return []dnsQuery{svc("cart.shop.svc.cluster.local.", "10.96.12.41"), svc("catalog.shop.svc.cluster.local.", "10.96.12.42"), svc("payments-api.payments.svc.cluster.local.", "10.96.20.10")}
	case "shop/cart", "data/redis":
		return []dnsQuery{svc("redis.data.svc.cluster.local.", "10.96.30.11")}
	case "shop/catalog", "payments/api", "data/postgres":
		return []dnsQuery{svc("postgres.data.svc.cluster.local.", "10.96.30.10")}
	case "shop/report", "payments/worker":
		return []dnsQuery{svc("payments-api.payments.svc.cluster.local.", "10.96.20.10")}
	case "payments/fraud":
		return []dnsQuery{nx("fraud-0.fraud.payments.svc.cluster.local."), nx("fraud-1.fraud.payments.svc.cluster.local.")}
	case "data/backup":
		return []dnsQuery{backupQuery()}
	case "monitoring/prometheus":
		return []dnsQuery{svc("kubernetes.default.svc.cluster.local.", "10.96.0.1")}
	case "shop-staging/frontend":
		return []dnsQuery{svc("cart.shop-staging.svc.cluster.local.", "10.96.14.41"), svc("cart.shop.svc.cluster.local.", "10.96.12.41")}
	case "shop-staging/cart":
		return []dnsQuery{nx("redis.shop-staging.svc.cluster.local.")}
	}
	return nil
}

func stripeQuery() dnsQuery {
	return dnsQuery{name: "api.stripe.com.", ips: []string{StripeIP}, ttl: 30, external: true}
}

func backupQuery() dnsQuery {
	return dnsQuery{name: "backups.s3.example.com.", ips: []string{BackupIP}, ttl: 60, external: true}
}

// l7DNSNamespaces have DNS visibility (a DNS proxy rule) in the scenario.
func l7DNSNamespace(ns string) bool { return ns == "payments" || ns == "data" }

// activeSpan returns the fractions of the window in which pod p runs.
func activeSpans(p *Pod) [][2]float64 {
	switch {
	case p.Namespace == "shop-staging":
		return [][2]float64{{0.8, 1}}
	case p.Namespace == "shop" && p.WorkloadName == "report":
		// Job runs at 01:00 and 23:00 (the job name is the scheduled minute).
		if strings.HasSuffix(p.Labels["job-name"], "29913180") {
			return [][2]float64{{1.0 / 24, 1.0/24 + 0.008}}
		}
		return [][2]float64{{23.0 / 24, 23.0/24 + 0.008}}
	}
	return [][2]float64{{0, 1}}
}

// run simulates the whole window.
func (g *gen) run() {
	world := func(ip string) peer { return peer{entity: EntityWorld, ip: ip} }
	data := tcpOpts{data: true}

	// 1. World clients → shop/frontend:8080 (public entrypoint).
	clients := []string{"203.0.113.50", "203.0.113.51", "198.51.100.77"}
	for i, t := range g.times(24, 0, 1) {
		g.tcpConn(t, world(clients[i%len(clients)]), g.pick("shop", "frontend"), 8080, data)
	}

	// 2-6, 11 (pods). In-cluster service graph.
	type edge struct {
		sns, swl, dns, dwl string
		port               uint32
		n                  int
		from, to           float64
	}
	edges := []edge{
		{"shop", "frontend", "shop", "cart", 8080, 16, 0, 1},
		{"shop", "frontend", "shop", "catalog", 8080, 14, 0, 1},
		{"shop", "frontend", "shop", "catalog", 9000, 8, 0, 1},
		{"shop", "cart", "data", "redis", 6379, 12, 0, 1},
		{"shop", "catalog", "data", "postgres", 5432, 12, 0, 1},
		{"shop", "frontend", "payments", "api", 8443, 12, 0, 1},
		{"payments", "api", "data", "postgres", 5432, 12, 0, 1},
		{"monitoring", "prometheus", "shop", "frontend", 9090, 9, 0, 1},
		{"monitoring", "prometheus", "payments", "api", 9090, 9, 0, 1},
		// 17. Staging talks to itself, late in the window only.
		{"shop-staging", "frontend", "shop-staging", "cart", 8080, 8, 0.8, 1},
	}
	for _, e := range edges {
		for _, t := range g.times(e.n, e.from, e.to) {
			o := data
			o.verdictIngress = e.dns == "data"
			g.tcpConn(t, g.pick(e.sns, e.swl), g.pick(e.dns, e.dwl), e.port, o)
		}
	}

	coredns := func() peer { return g.pick("kube-system", "coredns") }

	// 7. payments/worker → api.stripe.com, each call after a DNS lookup.
	for _, t := range g.times(10, 0, 1) {
		w := g.pick("payments", "worker")
		g.dnsLookup(t, w, coredns(), stripeQuery(), true)
		g.tcpConn(t.Add(g.micros(20000, 60000)), w, world(StripeIP), 443, tcpOpts{data: true, dstNames: []string{"api.stripe.com"}})
	}

	// 8. payments/fraud → the cloud metadata endpoint.
	for _, t := range g.times(8, 0, 1) {
		g.tcpConn(t, g.pick("payments", "fraud"), world(MetadataIP), 80, data)
	}

	// 9. Both runs of CronJob shop/report → payments/api:8443.
	for _, rp := range g.pods("shop", "report") {
		span := activeSpans(rp)[0]
		for _, t := range g.times(4, span[0], span[1]) {
			g.tcpConn(t, peer{pod: rp}, g.pick("payments", "api"), 8443, data)
		}
	}

	// 10. data/backup → backups.s3.example.com (name known from DNS only).
	for _, t := range g.times(8, 0, 1) {
		b := g.pick("data", "backup")
		g.dnsLookup(t, b, coredns(), backupQuery(), true)
		g.tcpConn(t.Add(g.micros(20000, 60000)), b, world(BackupIP), 443, data)
	}

	// 11. Prometheus → node-exporters, the API server.
	prom := g.pick("monitoring", "prometheus")
	nodeTargets := []peer{
		{entity: EntityHost, ip: "10.0.0.11"},
		{entity: EntityRemoteNode, ip: "10.0.0.12"},
		{entity: EntityRemoteNode, ip: "10.0.0.13"},
	}
	for _, target := range nodeTargets {
		for _, t := range g.times(6, 0, 1) {
			g.tcpConn(t, prom, target, 9100, data)
		}
	}
	for _, t := range g.times(6, 0, 1) {
		g.tcpConn(t, prom, peer{entity: EntityKubeAPIServer, ip: KubeAPIServerIP}, KubeAPIServerPort, data)
	}

	// 13. The API server → payments/api admission webhook.
	for _, t := range g.times(10, 0, 1) {
		g.tcpConn(t, peer{entity: EntityKubeAPIServer, ip: KubeAPIServerIP}, g.pick("payments", "api"), 9443, data)
	}

	// 14. Kubelet probes: host → each frontend pod on its own node.
	for _, fe := range g.pods("shop", "frontend") {
		n, _ := g.spec.Node(fe.Node)
		for _, t := range g.times(6, 0, 1) {
			g.tcpConn(t, peer{entity: EntityHost, ip: n.RouterIP}, peer{pod: fe}, 8080, data)
		}
	}

	// 15. ICMP echo shop/frontend → data/redis (ping -c 3).
	for _, t := range g.times(4, 0, 1) {
		c, s := g.pick("shop", "frontend"), g.pick("data", "redis")
		for k := range 3 {
			g.icmpPing(t.Add(time.Duration(k)*time.Second+g.micros(0, 500)), c, s)
		}
	}

	// 16. Denied attempts shop-staging/frontend → shop/cart:8080, each
	// client/server pair on different nodes.
	stagingFE := g.pods("shop-staging", "frontend")
	carts := g.pods("shop", "cart")
	for i, t := range g.times(4, 0.8, 1) {
		c := stagingFE[i%len(stagingFE)]
		var s *Pod
		for j := range carts {
			if cand := carts[(i+j)%len(carts)]; cand.Node != c.Node {
				s = cand
				break
			}
		}
		g.deniedAttempt(t, peer{pod: c}, peer{pod: s}, 8080)
	}

	// 18. payments/worker → payments/api:8443 seen as AUDIT only.
	for _, t := range g.times(8, 0, 1) {
		g.tcpConn(t, g.pick("payments", "worker"), g.pick("payments", "api"), 8443, tcpOpts{audit: true})
	}

	// 12, 19. Routine DNS from every pod; socket-LB events for shop/cart.
	for i := range g.spec.Pods {
		p := &g.spec.Pods[i]
		if p.Namespace == "kube-system" {
			continue
		}
		qs := dnsNames(p.Namespace, p.WorkloadName)
		n := 5
		if p.WorkloadName == "report" {
			n = 3
		}
		var k int
		for _, span := range activeSpans(p) {
			for _, t := range g.times(n, span[0], span[1]) {
				s := coredns()
				if p.Namespace == "shop" && p.WorkloadName == "cart" && k%2 == 0 {
					g.sockLB(t.Add(-g.micros(5, 30)), peer{pod: p}, s, uint64(hash32(fmt.Sprintf("cookie/%s/%d", p.Name, k))))
				}
				g.dnsLookup(t, peer{pod: p}, s, qs[k%len(qs)], l7DNSNamespace(p.Namespace))
				k++
			}
		}
		// A few lookups over TCP (truncated answers, large records).
		if (p.Namespace == "shop" && p.WorkloadName == "catalog") || (p.Namespace == "payments" && p.WorkloadName == "worker") {
			for _, t := range g.times(4, 0, 1) {
				g.tcpConn(t, peer{pod: p}, coredns(), 53, data)
			}
		}
	}

	// 20, 22. Non-flow lines and a non-policy drop.
	g.emitEvent("node-a", g.at(0.43), &observerpb.GetFlowsResponse{
		ResponseTypes: &observerpb.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
			Source: flowpb.LostEventSource_PERF_EVENT_RING_BUFFER, NumEventsLost: 3, Cpu: wrapperspb.Int32(2),
		}},
		NodeName: "node-a",
	})
	g.emitEvent("node-b", g.at(0.58), &observerpb.GetFlowsResponse{
		ResponseTypes: &observerpb.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
			Source: flowpb.LostEventSource_HUBBLE_RING_BUFFER, NumEventsLost: 12, Cpu: wrapperspb.Int32(1),
		}},
		NodeName: "node-b",
	})
	g.emitEvent("node-b", g.start.Add(-2*time.Second), &observerpb.GetFlowsResponse{
		ResponseTypes: &observerpb.GetFlowsResponse_NodeStatus{NodeStatus: &relaypb.NodeStatusEvent{
			StateChange: relaypb.NodeState_NODE_CONNECTED, NodeNames: []string{"node-b"},
		}},
	})
	g.invalidSourceDrop("node-a", g.at(0.31))
	g.invalidSourceDrop("node-b", g.at(0.67))

	// 21. Mark one node-a request for a relay resend.
	g.markDuplicate()
}

// markDuplicate marks the first shop/frontend → shop/cart SYN seen by
// node-a after the middle of the window.
func (g *gen) markDuplicate() {
	mid := g.start.Add(g.span / 2)
	best := -1
	for i, o := range g.obs {
		f := o.flow
		if o.node != "node-a" || f == nil || o.t.Before(mid) || f.GetL4().GetTCP().GetFlags().GetSYN() == false || f.GetIsReply().GetValue() {
			continue
		}
		if f.GetSource().GetPodName() == "" || f.GetDestination().GetPodName() == "" {
			continue
		}
		sp, _ := g.spec.Pod(f.GetSource().GetNamespace(), f.GetSource().GetPodName())
		dp, _ := g.spec.Pod(f.GetDestination().GetNamespace(), f.GetDestination().GetPodName())
		if sp.Namespace+"/"+sp.WorkloadName != "shop/frontend" || dp.Namespace+"/"+dp.WorkloadName != "shop/cart" {
			continue
		}
		if best < 0 || o.t.Before(g.obs[best].t) {
			best = i
		}
	}
	if best < 0 {
		panic("scenario: no flow to duplicate")
	}
	g.obs[best].dup = true
}

// truncatedTail is the flow whose line is cut in half at the end of the
// exporter file (a rotated file).
func (g *gen) truncatedTail() *flowpb.Flow {
	prom := peer{pod: g.pods("monitoring", "prometheus")[0]}
	_, end := Window()
	t := end.Add(-80 * time.Millisecond)
	p := packet{t: t, src: prom, dst: peer{entity: EntityKubeAPIServer, ip: KubeAPIServerIP}, proto: "TCP", sport: 41872, dport: KubeAPIServerPort, flags: tcpFlags{ack: true}, reason: flowpb.TraceReason_ESTABLISHED}
	f := g.base(p, prom.pod.Node, t)
	f.Verdict = flowpb.Verdict_FORWARDED
	f.EventType = &flowpb.CiliumEventType{Type: 4, SubType: int32(flowpb.TraceObservationPoint_TO_STACK)}
	f.TraceObservationPoint = flowpb.TraceObservationPoint_TO_STACK
	f.TraceReason = p.reason
	f.TrafficDirection = flowpb.TrafficDirection_EGRESS
	f.IsReply = wrapperspb.Bool(false)
	return f
}
