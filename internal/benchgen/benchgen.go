// Package benchgen generates cluster-scale flow traffic for benchmarks: a
// deterministic synthetic cluster (namespaces, workloads, pods spread over
// nodes) and a fixed set of service edges, with any number of flows drawn
// from those edges, written as Hubble JSON lines (exporter shape: the
// `{"flow":…,"node_name":…,"time":…}` lines of `hubble observe -o jsonpb`
// and Hubble exporter files, ~1.5 KB a flow) or as Calico Felix flow-log
// lines (flows.log JSON) for the same connections.
//
// The edge set depends only on the Spec's cluster fields, never on Flows:
// 10× the flows exercise the same graph (same workloads, same edges), which
// is what memory-boundedness benchmarks need. Every connection opens on one
// of the edges; the first connections visit every edge once, so that any
// run with enough flows learns all of them. The output is byte-for-byte
// deterministic for a Spec, and streams: nothing is held per flow.
package benchgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Spec sizes the cluster and the traffic.
type Spec struct {
	// Namespaces, Workloads (spread round-robin over the namespaces) and
	// Replicas (pods per workload).
	Namespaces int
	Workloads  int
	Replicas   int
	// Nodes is the number of cluster nodes the pods run on.
	Nodes int
	// Peers is how many server workloads each workload calls (besides
	// kube-dns): Workloads×Peers service edges, plus one DNS edge per
	// workload and one external edge per tenth workload.
	Peers int
	// Flows is the number of flow lines to write (Hubble), or of connections'
	// worth of traffic to describe (Calico: two reporter lines per
	// connection, see WriteCalico).
	Flows int64
	// Seed makes a different (but still deterministic) run.
	Seed uint64
	// CalicoShape is the field set of the Calico lines (see WriteCalico).
	CalicoShape CalicoShape
}

// CalicoShape is the field set of a Calico flow-log line.
type CalicoShape int

const (
	// CalicoFelix is the line Felix writes to flows.log: every field of
	// its flow-log JSON output (the serializer has no omitempty, so all
	// are there on every line), in its order, as in the captured
	// felix-flows-log-deny.jsonl: nat_outgoing_ports, the service and
	// process fields, and the TCP statistics (zero unless
	// flowLogsCollectTcpStats is on), followed by the host and @timestamp
	// fields fluentd adds as it ships the line. ~1.5 KB a line.
	CalicoFelix CalicoShape = iota
	// CalicoShort is the shorter line of the earlier benchmarks: the
	// fields of the flow-log documentation's example, with the service and
	// process fields but without nat_outgoing_ports, process_args and the
	// TCP statistics. ~1.16 KB a line.
	CalicoShort
)

// Default is a mid-sized cluster: 200 namespaces, 2,000 workloads, 10,000
// pods on 100 nodes, ~20,000 edges, 1M flows.
func Default() Spec {
	return Spec{Namespaces: 200, Workloads: 2000, Replicas: 5, Nodes: 100, Peers: 8, Flows: 1_000_000, Seed: 1}
}

// Validate reports a Spec that cannot generate traffic.
func (s Spec) Validate() error {
	switch {
	case s.Namespaces < 1 || s.Workloads < 2 || s.Replicas < 1 || s.Nodes < 1:
		return errors.New("benchgen: need at least 1 namespace, 2 workloads, 1 replica and 1 node")
	case s.Workloads < s.Namespaces:
		return errors.New("benchgen: fewer workloads than namespaces")
	case s.Peers < 1 || s.Peers >= s.Workloads:
		return errors.New("benchgen: peers must be between 1 and workloads-1")
	case s.Flows < 0:
		return errors.New("benchgen: negative flow count")
	case s.CalicoShape != CalicoFelix && s.CalicoShape != CalicoShort:
		return fmt.Errorf("benchgen: unknown Calico shape %d", s.CalicoShape)
	}
	return nil
}

// startTime is the time of the first flow; flows are step apart.
func startTime() time.Time { return time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) }

const step = 50 * time.Microsecond

// edge kinds
const (
	edgeService = iota // pod → pod TCP, answered
	edgeDenied         // pod → pod TCP, dropped by policy on the server's node, never answered
	edgeDNS            // pod → kube-dns UDP 53, with L7 DNS events
	edgeWorld          // pod → world IP TCP 443, name resolved by DNS first
)

type workload struct {
	ns, name, kind string
	team           string
	identity       uint32
	port           uint16
	firstPod       int
}

type pod struct {
	wl       int
	name, ip string
	node     int
	epID     uint32
	// pre-rendered Hubble endpoint object and Calico fields
	hubble     []byte
	calicoLbls []byte
}

type edge struct {
	kind     int
	src, dst int // workloads (dst unused for DNS/world)
	port     uint16
	world    int // index of the external name/IP
}

// Cluster is the generated cluster and its edges.
type Cluster struct {
	spec      Spec
	workloads []workload
	pods      []pod
	edges     []edge
	nodes     []string
	nodeIPs   []string
	nodeLbls  [][]byte
	dnsPod    int
	worlds    int
}

// NumEdges returns the number of distinct edges the traffic uses (each
// becomes one graph edge; DNS edges and denied edges included).
func (c *Cluster) NumEdges() int { return len(c.edges) }

// NumPods returns the number of pods.
func (c *Cluster) NumPods() int { return len(c.pods) }

// k8s name-suffix alphabet (k8s.io/apimachinery/pkg/util/rand).
const alnum = "bcdfghjklmnpqrstvwxz2456789"

func suffix(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.IntN(len(alnum))]
	}
	return string(b)
}

// NewCluster builds the cluster and its edges (deterministic for the
// Spec's cluster fields and Seed; Flows is not used).
func NewCluster(s Spec) (*Cluster, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(0x62656e63, s.Seed))
	c := &Cluster{spec: s}
	ports := [...]uint16{8080, 8443, 9090, 5432, 6379, 3306, 9092, 50051, 80, 443, 27017, 11211}
	for i := 0; i < s.Nodes; i++ {
		name := fmt.Sprintf("node-%04d", i)
		c.nodes = append(c.nodes, name)
		c.nodeIPs = append(c.nodeIPs, fmt.Sprintf("10.10.%d.%d", i/250, i%250+1))
		zone := "eu-west-1" + string(rune('a'+i%3))
		c.nodeLbls = append(c.nodeLbls, appendStrings(nil, []string{
			"kubernetes.io/arch=amd64", "kubernetes.io/hostname=" + name, "kubernetes.io/os=linux",
			"node.kubernetes.io/instance-type=m5.xlarge", "topology.kubernetes.io/region=eu-west-1",
			"topology.kubernetes.io/zone=" + zone,
		}))
	}
	// workload 0 is kube-system/coredns; the rest spread over namespaces
	for i := 0; i < s.Workloads; i++ {
		w := workload{ns: fmt.Sprintf("ns-%03d", i%s.Namespaces), name: fmt.Sprintf("svc-%04d", i), kind: "Deployment"}
		if i%7 == 3 {
			w.kind = "StatefulSet"
		}
		if i == 0 {
			w.ns, w.name = "kube-system", "coredns"
		}
		w.team = fmt.Sprintf("team-%02d", i%s.Namespaces%37)
		w.identity = uint32(10000 + i)
		w.port = ports[i%len(ports)]
		w.firstPod = len(c.pods)
		hash := suffix(r, 10)
		for j := 0; j < s.Replicas; j++ {
			p := pod{wl: i, node: (i*s.Replicas + j) % s.Nodes, epID: uint32(100 + (i*s.Replicas+j)%3900)}
			if w.kind == "StatefulSet" {
				p.name = w.name + "-" + strconv.Itoa(j)
			} else {
				p.name = w.name + "-" + hash + "-" + suffix(r, 5)
			}
			n := len(c.pods)
			p.ip = fmt.Sprintf("10.%d.%d.%d", 64+n/65536, n/256%256, n%256)
			c.pods = append(c.pods, p)
		}
		c.workloads = append(c.workloads, w)
	}
	for i := range c.pods {
		c.renderPod(i)
	}
	c.dnsPod = 0
	// edges: every workload but coredns calls Peers servers (70% in its own
	// namespace when there are any), kube-dns, and every tenth the world.
	c.worlds = max(1, s.Workloads/20)
	for i := 1; i < s.Workloads; i++ {
		seen := map[int]bool{i: true, 0: true}
		for k := 0; k < s.Peers; k++ {
			var dst int
			for tries := 0; ; tries++ {
				if r.IntN(10) < 7 && s.Workloads/s.Namespaces > 2 {
					// same namespace: workloads i±n*Namespaces
					per := (s.Workloads + s.Namespaces - 1) / s.Namespaces
					dst = i%s.Namespaces + r.IntN(per)*s.Namespaces
				} else {
					dst = r.IntN(s.Workloads)
				}
				if dst < s.Workloads && !seen[dst] {
					break
				}
				if tries > 50 {
					dst = -1
					break
				}
			}
			if dst < 0 {
				continue
			}
			seen[dst] = true
			kind := edgeService
			if r.IntN(100) == 0 {
				kind = edgeDenied
			}
			c.edges = append(c.edges, edge{kind: kind, src: i, dst: dst, port: c.workloads[dst].port})
		}
		c.edges = append(c.edges, edge{kind: edgeDNS, src: i, port: 53})
		if i%10 == 0 {
			c.edges = append(c.edges, edge{kind: edgeWorld, src: i, port: 443, world: r.IntN(c.worlds)})
		}
	}
	return c, nil
}

func (c *Cluster) renderPod(i int) {
	p := &c.pods[i]
	w := &c.workloads[p.wl]
	labels := []string{
		"k8s:app=" + w.name,
		"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + w.ns,
		"k8s:io.cilium.k8s.namespace.labels.team=" + w.team,
		"k8s:io.cilium.k8s.policy.cluster=default",
		"k8s:io.cilium.k8s.policy.serviceaccount=" + w.name,
		"k8s:io.kubernetes.pod.namespace=" + w.ns,
	}
	if p.wl == 0 {
		labels[0] = "k8s:k8s-app=kube-dns"
	}
	b := []byte(`{"ID":`)
	b = strconv.AppendUint(b, uint64(p.epID), 10)
	b = append(b, `,"identity":`...)
	b = strconv.AppendUint(b, uint64(w.identity), 10)
	b = append(b, `,"cluster_name":"default","namespace":"`...)
	b = append(b, w.ns...)
	b = append(b, `","labels":`...)
	b = appendStrings(b, labels)
	b = append(b, `,"pod_name":"`...)
	b = append(b, p.name...)
	b = append(b, `","workloads":[{"name":"`...)
	b = append(b, w.name...)
	b = append(b, `","kind":"`...)
	b = append(b, w.kind...)
	b = append(b, `"}]}`...)
	p.hubble = b
	cl := []string{"app=" + w.name, "team=" + w.team}
	if p.wl == 0 {
		cl[0] = "k8s-app=kube-dns"
	}
	if w.kind == "Deployment" {
		cl = append(cl, "pod-template-hash="+p.name[len(w.name)+1:len(w.name)+11])
	} else {
		cl = append(cl, "statefulset.kubernetes.io/pod-name="+p.name)
	}
	p.calicoLbls = appendStrings(nil, cl)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	return append(b, ']')
}

func worldIP(i int) string   { return fmt.Sprintf("203.0.%d.%d", 113+i/250%3, i%250+1) }
func worldName(i int) string { return fmt.Sprintf("api-%03d.partner.example.com", i) }

// conn is one connection: an edge and the pods and port it used.
type conn struct {
	e          *edge
	src, dst   int // pods (dst -1 for world)
	sport      uint16
	connection int64
}

// traffic draws connections: every edge once, in order, then at random.
type traffic struct {
	c *Cluster
	r *rand.Rand
	n int64
}

func (t *traffic) next() conn {
	c := t.c
	var e *edge
	if t.n < int64(len(c.edges)) {
		e = &c.edges[t.n]
	} else {
		e = &c.edges[t.r.IntN(len(c.edges))]
	}
	rep := c.spec.Replicas
	cn := conn{e: e, src: c.workloads[e.src].firstPod + t.r.IntN(rep), dst: -1, sport: uint16(32768 + t.r.IntN(60999-32768+1)), connection: t.n}
	switch e.kind {
	case edgeService, edgeDenied:
		cn.dst = c.workloads[e.dst].firstPod + t.r.IntN(rep)
	case edgeDNS:
		cn.dst = c.workloads[0].firstPod + t.r.IntN(rep)
	}
	t.n++
	return cn
}

// WriteHubble writes s.Flows Hubble JSON lines to w.
func WriteHubble(w io.Writer, s Spec) error {
	c, err := NewCluster(s)
	if err != nil {
		return err
	}
	return c.WriteHubble(w, s.Flows)
}

// WriteCalico writes the Calico flow-log lines of the same traffic as
// WriteHubble: one line per reporter (src, dst) per connection, until as
// many lines as s.Flows were written.
func WriteCalico(w io.Writer, s Spec) error {
	c, err := NewCluster(s)
	if err != nil {
		return err
	}
	return c.WriteCalico(w, s.Flows)
}

// hubble flow builder state
type hflow struct {
	at                  time.Time
	verdict             string
	src, dst            []byte // endpoint objects
	srcIP, dstIP        string
	proto               string // TCP, UDP
	sport, dport        uint16
	flags               string // `"SYN":true` etc.
	reply               bool
	hasReply            bool
	node                int
	eventType, subType  int
	obsPoint, direction string
	dropReason          int
	l7                  []byte
	typ                 string
	summary             string
	dstNames            []string
	traceReason         string
	ifIndex             int
	uuidHi, uuidLo      uint64
}

// WriteHubble writes n flow lines.
func (c *Cluster) WriteHubble(out io.Writer, n int64) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	t := &traffic{c: c, r: rand.New(rand.NewPCG(0x68756262, c.spec.Seed))}
	ur := rand.New(rand.NewPCG(0x75756964, c.spec.Seed))
	var (
		line    []byte
		written int64
		at      = startTime()
	)
	emit := func(f *hflow) error {
		if written >= n {
			return nil
		}
		f.at = at
		at = at.Add(step)
		f.uuidHi, f.uuidLo = ur.Uint64(), ur.Uint64()
		line = c.appendHubble(line[:0], f)
		written++
		_, err := bw.Write(line)
		return err
	}
	for written < n {
		cn := t.next()
		if cn.connection > 0 && cn.connection%50000 == 0 {
			// a lost-events notice now and then (not a flow: not counted)
			line = append(line[:0], `{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"`...)
			line = strconv.AppendInt(line, 1+cn.connection%17, 10)
			line = append(line, `","cpu":1},"node_name":"`...)
			line = append(line, c.nodes[cn.connection%int64(len(c.nodes))]...)
			line = append(line, `","time":"`...)
			line = at.AppendFormat(line, time.RFC3339Nano)
			line = append(line, "\"}\n"...)
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		for _, f := range c.connFlows(&cn) {
			if err := emit(&f); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// connFlows returns the flow events one connection produces.
func (c *Cluster) connFlows(cn *conn) []hflow {
	sp := &c.pods[cn.src]
	e := cn.e
	base := hflow{verdict: "FORWARDED", src: sp.hubble, srcIP: sp.ip, proto: "TCP", sport: cn.sport, dport: e.port,
		node: sp.node, eventType: 4, typ: "L3_L4", ifIndex: 10 + int(sp.epID%90)}
	req := func(f hflow, obs, dir, flags, summary string) hflow {
		f.obsPoint, f.direction, f.flags, f.summary, f.hasReply, f.reply = obs, dir, flags, summary, true, false
		return f
	}
	rep := func(f hflow, flags, summary string) hflow {
		f.src, f.dst, f.srcIP, f.dstIP, f.sport, f.dport = f.dst, f.src, f.dstIP, f.srcIP, f.dport, f.sport
		f.flags, f.summary, f.hasReply, f.reply = flags, summary, true, true
		return f
	}
	switch e.kind {
	case edgeService, edgeDenied:
		dp := &c.pods[cn.dst]
		base.dst, base.dstIP = dp.hubble, dp.ip
		syn := req(base, "TO_STACK", "EGRESS", `"SYN":true`, "TCP Flags: SYN")
		syn.traceReason = "NEW"
		if e.kind == edgeDenied {
			drop := syn
			drop.verdict, drop.node, drop.eventType, drop.subType, drop.dropReason = "DROPPED", dp.node, 1, 133, 133
			drop.obsPoint, drop.direction, drop.traceReason, drop.hasReply = "", "INGRESS", "", false
			return []hflow{syn, drop, drop}
		}
		in := syn
		in.node, in.obsPoint, in.direction = dp.node, "TO_ENDPOINT", "INGRESS"
		synack := rep(in, `"SYN":true,"ACK":true`, "TCP Flags: SYN, ACK")
		synack.traceReason = "REPLY"
		ack := req(base, "TO_STACK", "EGRESS", `"ACK":true`, "TCP Flags: ACK")
		ack.traceReason = "ESTABLISHED"
		data := rep(in, `"PSH":true,"ACK":true`, "TCP Flags: ACK, PSH")
		data.traceReason = "REPLY"
		return []hflow{syn, in, synack, ack, data}
	case edgeDNS:
		dp := &c.pods[cn.dst]
		base.dst, base.dstIP, base.proto = dp.hubble, dp.ip, "UDP"
		q := req(base, "TO_STACK", "EGRESS", "", "UDP")
		q.traceReason = "NEW"
		name := c.workloads[(cn.src/c.spec.Replicas*7+3)%c.spec.Workloads].name + "." + c.workloads[e.src].ns + ".svc.cluster.local."
		answer := fmt.Sprintf("10.96.%d.%d", cn.src/250%250, cn.src%250+1)
		if e.src%10 == 0 {
			// the workloads that call the world resolve its name
			w := c.edgeWorld(e.src)
			name, answer = worldName(w)+".", worldIP(w)
		}
		l7q := q
		l7q.eventType, l7q.typ, l7q.obsPoint, l7q.traceReason = 129, "L7", "", ""
		l7q.l7 = fmt.Appendf(nil, `{"type":"REQUEST","dns":{"query":"%s","observation_source":"proxy","qtypes":["A"]}}`, name)
		l7q.summary = "DNS Query " + name + " A"
		l7r := rep(l7q, "", "DNS Answer \""+answer+"\" TTL: 30 (Proxy "+name+" A)")
		l7r.l7 = fmt.Appendf(nil, `{"type":"RESPONSE","dns":{"query":"%s","ips":["%s"],"ttl":30,"observation_source":"proxy","qtypes":["A"],"rrtypes":["A"]}}`, name, answer)
		r := rep(q, "", "UDP")
		r.traceReason = "REPLY"
		return []hflow{q, l7q, l7r, r}
	default: // world
		w := e.world
		base.dst, base.dstIP = []byte(`{"identity":2,"labels":["reserved:world"]}`), worldIP(w)
		base.dstNames = []string{worldName(w)}
		syn := req(base, "TO_STACK", "EGRESS", `"SYN":true`, "TCP Flags: SYN")
		syn.traceReason = "NEW"
		synack := rep(syn, `"SYN":true,"ACK":true`, "TCP Flags: SYN, ACK")
		synack.traceReason, synack.direction, synack.obsPoint = "REPLY", "INGRESS", "FROM_NETWORK"
		synack.dstNames = nil
		return []hflow{syn, synack}
	}
}

func (c *Cluster) edgeWorld(wl int) int {
	for i := range c.edges {
		if c.edges[i].src == wl && c.edges[i].kind == edgeWorld {
			return c.edges[i].world
		}
	}
	return 0
}

const hexdigits = "0123456789abcdef"

func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, v := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexdigits[v>>4], hexdigits[v&15])
	}
	return b
}

func (c *Cluster) appendHubble(b []byte, f *hflow) []byte {
	ts := func(b []byte) []byte {
		b = append(b, '"')
		b = f.at.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	b = append(b, `{"flow":{"time":`...)
	b = ts(b)
	b = append(b, `,"uuid":"`...)
	b = appendUUID(b, f.uuidHi, f.uuidLo)
	b = append(b, `","emitter":{"name":"Hubble","version":"1.20.2"},"verdict":"`...)
	b = append(b, f.verdict...)
	b = append(b, '"')
	if f.dropReason != 0 {
		b = append(b, `,"drop_reason":`...)
		b = strconv.AppendInt(b, int64(f.dropReason), 10)
	}
	b = append(b, `,"ethernet":{"source":"16:c1:b0:1e:33:ef","destination":"4e:7d:8e:0f:a6:fb"},"IP":{"source":"`...)
	b = append(b, f.srcIP...)
	b = append(b, `","destination":"`...)
	b = append(b, f.dstIP...)
	b = append(b, `","ipVersion":"IPv4"},"l4":{"`...)
	b = append(b, f.proto...)
	b = append(b, `":{"source_port":`...)
	b = strconv.AppendUint(b, uint64(f.sport), 10)
	b = append(b, `,"destination_port":`...)
	b = strconv.AppendUint(b, uint64(f.dport), 10)
	if f.flags != "" {
		b = append(b, `,"flags":{`...)
		b = append(b, f.flags...)
		b = append(b, '}')
	}
	b = append(b, `}},"source":`...)
	b = append(b, f.src...)
	b = append(b, `,"destination":`...)
	b = append(b, f.dst...)
	b = append(b, `,"Type":"`...)
	b = append(b, f.typ...)
	b = append(b, `","node_name":"`...)
	b = append(b, c.nodes[f.node]...)
	b = append(b, `","node_labels":`...)
	b = append(b, c.nodeLbls[f.node]...)
	if len(f.dstNames) > 0 {
		b = append(b, `,"destination_names":`...)
		b = appendStrings(b, f.dstNames)
	}
	if f.l7 != nil {
		b = append(b, `,"l7":`...)
		b = append(b, f.l7...)
	}
	if f.reply {
		b = append(b, `,"reply":true`...)
	}
	b = append(b, `,"event_type":{"type":`...)
	b = strconv.AppendInt(b, int64(f.eventType), 10)
	if f.subType != 0 {
		b = append(b, `,"sub_type":`...)
		b = strconv.AppendInt(b, int64(f.subType), 10)
	}
	b = append(b, '}')
	if f.direction != "" {
		b = append(b, `,"traffic_direction":"`...)
		b = append(b, f.direction...)
		b = append(b, '"')
	}
	if f.obsPoint != "" {
		b = append(b, `,"trace_observation_point":"`...)
		b = append(b, f.obsPoint...)
		b = append(b, '"')
	}
	if f.traceReason != "" {
		b = append(b, `,"trace_reason":"`...)
		b = append(b, f.traceReason...)
		b = append(b, '"')
	}
	if f.dropReason != 0 {
		b = append(b, `,"drop_reason_desc":"POLICY_DENIED"`...)
	}
	if f.hasReply {
		b = append(b, `,"is_reply":`...)
		b = strconv.AppendBool(b, f.reply)
	}
	if f.obsPoint != "" {
		b = append(b, `,"interface":{"index":`...)
		b = strconv.AppendInt(b, int64(f.ifIndex), 10)
		b = append(b, `,"name":"lxc`...)
		h := uint64(f.ifIndex) * 0x9e3779b97f4a7c15
		for i := 0; i < 12; i++ {
			b = append(b, hexdigits[h>>(60-4*i)&15])
		}
		b = append(b, `"}`...)
	}
	b = append(b, `,"Summary":"`...)
	for i := 0; i < len(f.summary); i++ {
		if f.summary[i] == '"' {
			b = append(b, '\\')
		}
		b = append(b, f.summary[i])
	}
	b = append(b, `"},"node_name":"`...)
	b = append(b, c.nodes[f.node]...)
	b = append(b, `","time":`...)
	b = ts(b)
	return append(b, "}\n"...)
}

// WriteCalico writes n Calico flow-log lines of the Spec's CalicoShape: per
// connection the source's reporter line (action allow) and the
// destination's (allow, or deny for a denied edge); DNS and world
// connections have only the source's line.
func (c *Cluster) WriteCalico(out io.Writer, n int64) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	t := &traffic{c: c, r: rand.New(rand.NewPCG(0x68756262, c.spec.Seed))}
	var (
		line    []byte
		written int64
		at      = startTime().Unix()
	)
	for written < n {
		cn := t.next()
		at2 := startTime().Add(time.Duration(written) * step).Unix()
		if at2 >= at+300 {
			at = at2 - at2%300
		}
		reporters := []string{"src", "dst"}
		if cn.e.kind == edgeDNS || cn.e.kind == edgeWorld {
			reporters = reporters[:1]
		}
		for _, rep := range reporters {
			if written >= n {
				break
			}
			line = c.appendCalico(line[:0], &cn, rep, at)
			written++
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func (c *Cluster) appendCalico(b []byte, cn *conn, reporter string, at int64) []byte {
	sp := &c.pods[cn.src]
	sw := &c.workloads[sp.wl]
	e := cn.e
	action := "allow"
	if e.kind == edgeDenied && reporter == "dst" {
		action = "deny"
	}
	host := c.nodes[sp.node]
	var dstIP, dstName, dstAggr, dstNS, dstType string
	var dstLabels []byte
	proto := "tcp"
	switch e.kind {
	case edgeWorld:
		dstIP, dstName, dstAggr, dstNS, dstType = worldIP(e.world), "-", "pub", "-", "net"
	default:
		dp := &c.pods[cn.dst]
		dw := &c.workloads[dp.wl]
		dstIP, dstName, dstNS, dstType, dstLabels = dp.ip, dp.name, dw.ns, "wep", dp.calicoLbls
		dstAggr = dp.name[:len(dw.name)] + "-*"
		if dw.kind == "Deployment" {
			dstAggr = dp.name[:len(dw.name)+11] + "-*"
		}
		if reporter == "dst" {
			host = c.nodes[dp.node]
		}
		if e.kind == edgeDNS {
			proto = "udp"
		}
	}
	felix := c.spec.CalicoShape == CalicoFelix
	srcAggr := sp.name[:len(sw.name)] + "-*"
	if sw.kind == "Deployment" {
		srcAggr = sp.name[:len(sw.name)+11] + "-*"
	}
	b = append(b, `{"start_time":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"end_time":`...)
	b = strconv.AppendInt(b, at+300, 10)
	b = append(b, `,"source_ip":"`...)
	b = append(b, sp.ip...)
	b = append(b, `","source_name":"`...)
	b = append(b, sp.name...)
	b = append(b, `","source_name_aggr":"`...)
	b = append(b, srcAggr...)
	b = append(b, `","source_namespace":"`...)
	b = append(b, sw.ns...)
	b = append(b, '"', ',')
	if felix {
		b = append(b, `"nat_outgoing_ports":null,`...)
	}
	b = append(b, `"source_port":`...)
	b = strconv.AppendUint(b, uint64(cn.sport), 10)
	b = append(b, `,"source_type":"wep","source_labels":{"labels":`...)
	b = append(b, sp.calicoLbls...)
	b = append(b, `},"dest_ip":"`...)
	b = append(b, dstIP...)
	b = append(b, `","dest_name":"`...)
	b = append(b, dstName...)
	b = append(b, `","dest_name_aggr":"`...)
	b = append(b, dstAggr...)
	b = append(b, `","dest_namespace":"`...)
	b = append(b, dstNS...)
	b = append(b, `","dest_port":`...)
	b = strconv.AppendUint(b, uint64(e.port), 10)
	b = append(b, `,"dest_type":"`...)
	b = append(b, dstType...)
	b = append(b, `","dest_labels":`...)
	if dstLabels != nil {
		b = append(b, `{"labels":`...)
		b = append(b, dstLabels...)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"dest_service_namespace":"-","dest_service_name":"-","dest_service_port":"-","dest_service_port_num":null,"proto":"`...)
	b = append(b, proto...)
	b = append(b, `","action":"`...)
	b = append(b, action...)
	b = append(b, `","reporter":"`...)
	b = append(b, reporter...)
	b = append(b, `","policies":{"all_policies":["0|default|`...)
	b = append(b, sw.ns...)
	b = append(b, `/default.allow-`...)
	b = append(b, sw.name...)
	b = append(b, '|')
	b = append(b, action...)
	b = append(b, `|0"]},"bytes_in":`...)
	b = strconv.AppendInt(b, 388+int64(cn.sport%977), 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, 1113+int64(cn.sport%4093), 10)
	b = append(b, `,"num_flows":1,"num_flows_started":1,"num_flows_completed":1,"packets_in":6,"packets_out":5,"http_requests_allowed_in":0,"http_requests_denied_in":0,"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0,`...)
	if felix {
		b = append(b, `"process_args":["-"],"num_process_args":0,`...)
	}
	b = append(b, `"original_source_ips":null,"num_original_source_ips":0,`...)
	if felix {
		b = append(b, `"tcp_mean_send_congestion_window":0,"tcp_min_send_congestion_window":0,"tcp_mean_smooth_rtt":0,"tcp_max_smooth_rtt":0,"tcp_mean_min_rtt":0,"tcp_max_min_rtt":0,"tcp_mean_mss":0,"tcp_min_mss":0,"tcp_total_retransmissions":0,"tcp_lost_packets":0,"tcp_unrecovered_to":0,`...)
	}
	b = append(b, `"host":"`...)
	b = append(b, host...)
	b = append(b, `","@timestamp":`...)
	b = strconv.AppendInt(b, (at+300)*1000, 10)
	return append(b, "}\n"...)
}
