package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
)

// Calico flow-log files of the scenario (RenderCalico): the same traffic as
// the Hubble files, as Calico Enterprise would log it, one node per file
// and one shape per node.
const (
	// FileCalicoNodeA is node-a's Felix flows.log (JSON lines).
	FileCalicoNodeA = "node-a.flows.log"
	// FileCalicoNodeB is node-b's records as exported from Elasticsearch,
	// one hit per line, gzipped.
	FileCalicoNodeB = "node-b.es-hits.jsonl.gz"
	// FileCalicoNodeC is node-c's records as one pretty-printed
	// Elasticsearch search response.
	FileCalicoNodeC = "node-c.es-search.json"
)

// CalicoAggregation is a Felix flow-log aggregation level.
type CalicoAggregation int

// Aggregation levels (FelixConfiguration flowLogsFileAggregationKind*).
const (
	// AggregateSourcePort keeps names and IPs; source ports are aggregated.
	AggregateSourcePort CalicoAggregation = 1
	// AggregatePodPrefix aggregates pods by their generateName prefix: names
	// "-", IPs null, external peers only "pub"/"pvt".
	AggregatePodPrefix CalicoAggregation = 2
)

// CalicoOptions say how the flow logs aggregate allowed and denied flows
// (Felix's defaults: allowed by pod prefix, denied by source port).
type CalicoOptions struct {
	Allowed, Denied CalicoAggregation
}

// felixIntervalOffset emulates each Felix's own flush timer (5 minutes,
// started when Felix started).
func felixIntervalOffset(node string) int64 {
	return map[string]int64{"node-a": 0, "node-b": 97, "node-c": 211}[node]
}

const felixInterval = 300

// calicoConn is one connection of the scenario as Calico sees it.
type calicoConn struct {
	t        time.Time
	proto    string
	src, dst peer
	sport    uint32
	dport    uint32
	denied   bool // dropped by policy at the destination
	names    []string
	packets  [2]int
}

// calicoLog is one flow-log document, in Felix's field order.
type calicoLog struct {
	StartTime            int64     `json:"start_time"`
	EndTime              int64     `json:"end_time"`
	SourceIP             *string   `json:"source_ip"`
	SourceName           string    `json:"source_name"`
	SourceNameAggr       string    `json:"source_name_aggr"`
	SourceNamespace      string    `json:"source_namespace"`
	SourcePort           *uint32   `json:"source_port"`
	SourceType           string    `json:"source_type"`
	SourceLabels         *labelSet `json:"source_labels"`
	DestIP               *string   `json:"dest_ip"`
	DestName             string    `json:"dest_name"`
	DestNameAggr         string    `json:"dest_name_aggr"`
	DestNamespace        string    `json:"dest_namespace"`
	DestPort             *uint32   `json:"dest_port"`
	DestType             string    `json:"dest_type"`
	DestLabels           *labelSet `json:"dest_labels"`
	DestServiceNamespace string    `json:"dest_service_namespace"`
	DestServiceName      string    `json:"dest_service_name"`
	DestServicePort      string    `json:"dest_service_port"`
	DestServicePortNum   *int      `json:"dest_service_port_num"`
	DestDomains          []string  `json:"dest_domains"`
	Proto                string    `json:"proto"`
	Action               string    `json:"action"`
	Reporter             string    `json:"reporter"`
	BytesIn              int       `json:"bytes_in"`
	BytesOut             int       `json:"bytes_out"`
	NumFlows             int       `json:"num_flows"`
	NumFlowsStarted      int       `json:"num_flows_started"`
	NumFlowsCompleted    int       `json:"num_flows_completed"`
	PacketsIn            int       `json:"packets_in"`
	PacketsOut           int       `json:"packets_out"`
	Host                 string    `json:"host"`
}

type labelSet struct {
	Labels []string `json:"labels"`
}

// RenderCalico renders the scenario's traffic as Calico Enterprise flow
// logs: every connection reported by the node of each pod end (reporter
// src at the client's node, dst at the server's), aggregated per Felix
// interval; host endpoints are the nodes (auto host endpoints), the API
// server and external peers are networks (pub/pvt). The result is the same
// on every call, byte for byte.
func RenderCalico(o CalicoOptions) ([]File, error) {
	g := simulated()
	conns := g.connections()
	byNode := map[string][]calicoLog{}
	for _, n := range g.spec.Nodes {
		byNode[n.Name] = g.calicoLogs(conns, n.Name, o)
	}
	var a bytes.Buffer
	for _, l := range byNode["node-a"] {
		line, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		a.Write(line)
		a.WriteByte('\n')
	}
	var b bytes.Buffer
	for i, l := range byNode["node-b"] {
		hit := struct {
			Index  string    `json:"_index"`
			ID     string    `json:"_id"`
			Source calicoLog `json:"_source"`
		}{"tigera_secure_ee_flows.cluster.20261116", fmt.Sprintf("node-b-%06d", i), l}
		line, err := json.Marshal(hit)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	gz, err := gzipBytes(b.Bytes(), "node-b.es-hits.jsonl")
	if err != nil {
		return nil, err
	}
	type hit struct {
		Index  string    `json:"_index"`
		ID     string    `json:"_id"`
		Source calicoLog `json:"_source"`
	}
	var resp struct {
		Took int `json:"took"`
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	resp.Took = 12
	for i, l := range byNode["node-c"] {
		resp.Hits.Hits = append(resp.Hits.Hits, hit{"tigera_secure_ee_flows.cluster.20261116", fmt.Sprintf("node-c-%06d", i), l})
	}
	resp.Hits.Total.Value = len(resp.Hits.Hits)
	c, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		return nil, err
	}
	return []File{{Name: FileCalicoNodeA, Data: a.Bytes()}, {Name: FileCalicoNodeB, Data: gz}, {Name: FileCalicoNodeC, Data: append(c, '\n')}}, nil
}

// connections groups the simulated packets into connections (the requests
// of one 5-tuple; ICMP: one echo each).
func (g *gen) connections() []*calicoConn {
	type key struct {
		proto        string
		src, dst     string
		sport, dport uint32
		icmpAt       int64
	}
	byKey := map[key]*calicoConn{}
	var order []*calicoConn
	for _, o := range g.obs {
		f := o.flow
		if f == nil || f.GetIP().GetIpVersion() != flowpb.IPVersion_IPv4 {
			continue
		}
		et := f.GetEventType().GetType()
		if et != 1 && et != 4 && et != 5 { // drops, traces, policy verdicts (not socket-LB nor L7)
			continue
		}
		reply := f.GetIsReply().GetValue()
		k := key{src: f.GetIP().GetSource(), dst: f.GetIP().GetDestination()}
		switch l4 := f.GetL4().GetProtocol().(type) {
		case *flowpb.Layer4_TCP:
			k.proto, k.sport, k.dport = "tcp", l4.TCP.GetSourcePort(), l4.TCP.GetDestinationPort()
		case *flowpb.Layer4_UDP:
			k.proto, k.sport, k.dport = "udp", l4.UDP.GetSourcePort(), l4.UDP.GetDestinationPort()
		case *flowpb.Layer4_ICMPv4:
			k.proto = "icmp"
			if l4.ICMPv4.GetType() == 0 {
				reply = true
			}
		default:
			continue
		}
		if reply {
			k.src, k.dst, k.sport, k.dport = k.dst, k.src, k.dport, k.sport
		}
		if k.proto == "icmp" {
			k.icmpAt = o.t.Truncate(time.Second).Unix() // one echo per second of a ping
		}
		c := byKey[k]
		if c == nil {
			if reply {
				continue
			}
			c = &calicoConn{t: o.t, proto: k.proto, sport: k.sport, dport: k.dport,
				src: g.peerOf(f.GetIP().GetSource(), f.GetSource()), dst: g.peerOf(f.GetIP().GetDestination(), f.GetDestination())}
			byKey[k] = c
			order = append(order, c)
		}
		if reply {
			c.packets[1]++
			continue
		}
		c.packets[0]++
		if f.GetVerdict() == flowpb.Verdict_DROPPED && f.GetDropReasonDesc() == flowpb.DropReason_POLICY_DENIED {
			c.denied = true
		}
		for _, n := range f.GetDestinationNames() {
			if !slices.Contains(c.names, n) {
				c.names = append(c.names, n)
			}
		}
	}
	return order
}

// peerOf identifies an address of a flow: a pod of the spec, else the
// entity Hubble reported.
func (g *gen) peerOf(ip string, ep *flowpb.Endpoint) peer {
	if p, ok := g.spec.PodByIP(ip); ok {
		for i := range g.spec.Pods {
			if g.spec.Pods[i].Name == p.Name && g.spec.Pods[i].Namespace == p.Namespace {
				return peer{pod: &g.spec.Pods[i]}
			}
		}
	}
	entity := EntityWorld
	for _, l := range ep.GetLabels() {
		switch l {
		case "reserved:host":
			entity = EntityHost
		case "reserved:remote-node":
			entity = EntityRemoteNode
		case "reserved:kube-apiserver":
			entity = EntityKubeAPIServer
		}
	}
	return peer{entity: entity, ip: ip}
}

// nodeOfIP returns the node whose InternalIP or router IP is ip.
func (g *gen) nodeOfIP(ip string) string {
	for _, n := range g.spec.Nodes {
		if n.IP == ip || n.RouterIP == ip {
			return n.Name
		}
	}
	return ""
}

// calicoLogs returns the records node reports, aggregated per interval and
// key, sorted.
func (g *gen) calicoLogs(conns []*calicoConn, node string, o CalicoOptions) []calicoLog {
	type agg struct {
		log  calicoLog
		n    int
		pin  int
		pout int
	}
	aggs := map[string]*agg{}
	off := felixIntervalOffset(node)
	for _, c := range conns {
		for _, rep := range []string{"src", "dst"} {
			end := c.src
			if rep == "dst" {
				end = c.dst
			}
			if end.pod == nil || end.pod.Node != node {
				continue
			}
			action := "allow"
			if rep == "dst" && c.denied {
				action = "deny"
			}
			level := o.Allowed
			if action == "deny" {
				level = o.Denied
			}
			start := (c.t.Unix()-off)/felixInterval*felixInterval + off
			l := calicoLog{StartTime: start, EndTime: start + felixInterval, Proto: c.proto, Action: action, Reporter: rep, Host: node,
				DestServiceNamespace: "-", DestServiceName: "-", DestServicePort: "-"}
			g.calicoEnd(c.src, level, &l.SourceIP, &l.SourceName, &l.SourceNameAggr, &l.SourceNamespace, &l.SourceType, &l.SourceLabels)
			g.calicoEnd(c.dst, level, &l.DestIP, &l.DestName, &l.DestNameAggr, &l.DestNamespace, &l.DestType, &l.DestLabels)
			if c.proto != "icmp" {
				dp := c.dport
				l.DestPort = &dp
			}
			if c.dst.entity == EntityKubeAPIServer {
				svcPort := 443
				l.DestServiceNamespace, l.DestServiceName, l.DestServicePort, l.DestServicePortNum = "default", "kubernetes", "https", &svcPort
			}
			if c.dst.pod == nil && level < AggregatePodPrefix {
				l.DestDomains = c.names
			}
			k, _ := json.Marshal(l)
			a := aggs[string(k)]
			if a == nil {
				a = &agg{log: l}
				aggs[string(k)] = a
			}
			a.n++
			a.pin += c.packets[0]
			a.pout += c.packets[1]
		}
	}
	out := make([]calicoLog, 0, len(aggs))
	for _, k := range slices.Sorted(maps.Keys(aggs)) {
		a := aggs[k]
		l := a.log
		l.NumFlows, l.NumFlowsStarted, l.NumFlowsCompleted = a.n, a.n, a.n
		l.PacketsIn, l.PacketsOut = a.pout, a.pin // in: replies, out: requests
		l.BytesIn, l.BytesOut = 96*l.PacketsIn, 96*l.PacketsOut
		if l.Action == "deny" {
			l.PacketsOut, l.BytesOut = 0, 0
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	return out
}

// calicoEnd renders one end of a connection at an aggregation level.
func (g *gen) calicoEnd(p peer, level CalicoAggregation, ip **string, name, aggr, ns, typ *string, labels **labelSet) {
	addr := p.addr()
	*ip = &addr
	switch {
	case p.pod != nil:
		*typ, *ns, *name, *aggr = "wep", p.pod.Namespace, p.pod.Name, generateName(p.pod)
		ls := make([]string, 0, len(p.pod.Labels))
		for k, v := range p.pod.Labels {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		*labels = &labelSet{Labels: ls}
		if level >= AggregatePodPrefix {
			*ip, *name = nil, "-"
		}
	case p.entity == EntityHost || p.entity == EntityRemoteNode:
		hep := g.nodeOfIP(addr) + "-auto-hep"
		*typ, *ns, *name, *aggr = "hep", "-", hep, hep
		if level >= AggregatePodPrefix {
			*ip, *name = nil, "-"
		}
	default:
		*typ, *ns, *name, *aggr = "net", "-", "-", "pub"
		if a, err := netip.ParseAddr(addr); err == nil && (a.IsPrivate() || a.IsLinkLocalUnicast()) {
			*aggr = "pvt"
		}
		if level >= AggregatePodPrefix {
			*ip = nil
		}
	}
}

// generateName is the pod's generateName prefix as Calico aggregates it:
// "<replicaset>-*" for a Deployment, "<job>-*" for a CronJob's Job, the pod
// name itself for a StatefulSet (whose pods have no generateName).
func generateName(p *Pod) string {
	switch p.WorkloadKind {
	case KindDeployment:
		return p.WorkloadName + "-" + p.Labels["pod-template-hash"] + "-*"
	case KindCronJob:
		return p.Labels["job-name"] + "-*"
	}
	return strings.TrimSpace(p.Name)
}
