package learner

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/record"
)

const (
	frontendID = "pod:shop/frontend"
	cartID     = "pod:shop/cart"
)

var (
	frontendLabels = map[string]string{"app": "frontend", "pod-template-hash": "5b8c7d9f4"}
	cartLabels     = map[string]string{"app": "cart", "pod-template-hash": "7d9f8c6b5"}
)

// frontend is a client pod (one of two) with its ephemeral source port.
func frontend(i int, port uint16) record.Endpoint {
	pods := []string{"frontend-5b8c7d9f4-x2x7q", "frontend-5b8c7d9f4-b4c5d"}
	ips := []string{"10.0.1.10", "10.0.2.10"}
	return podEP("shop", pods[i], ips[i], port, frontendLabels)
}

// cart is the server pod on its service port.
func cart() record.Endpoint {
	return podEP("shop", "cart-7d9f8c6b5-zq2wx", "10.0.3.20", 8080, cartLabels)
}

// syn is frontend pod i's request to cart from source port sport, traced on
// the client's node.
func syn(s, i int, sport uint16) *record.Record {
	return flow(at(s), frontend(i, sport), cart(), record.TCP, record.Request, record.Forwarded, "node-a")
}

func TestLearnRequestsAndReplies(t *testing.T) {
	req := syn(0, 0, 41234)
	tests := []struct {
		name string
		recs []*record.Record
		// edges are the keys expected in Graph.Edges, with their flow counts
		edges map[EdgeKey]uint64
		// skipped are the expected skip counters
		skipped  map[string]uint64
		requests uint64
		replies  uint64
	}{
		{
			name:     "a TCP connection is one edge on the service port",
			recs:     []*record.Record{req, reply(req, at(1))},
			edges:    map[EdgeKey]uint64{edgeKey(frontendID, cartID, record.TCP, 8080): 1},
			requests: 1, replies: 1,
		},
		{
			name: "a reply alone learns nothing",
			recs: []*record.Record{reply(req, at(1))},
			// no edge at all: neither cart -> frontend nor on the ephemeral port
			edges:   map[EdgeKey]uint64{},
			replies: 1,
		},
		{
			name:     "a reply whose flag was lost is not learned as a request to the ephemeral port",
			recs:     []*record.Record{req, flow(at(1), cart(), frontend(0, 41234), record.TCP, record.Request, record.Forwarded, "node-a")},
			edges:    map[EdgeKey]uint64{edgeKey(frontendID, cartID, record.TCP, 8080): 1},
			skipped:  map[string]uint64{SkipSuspectedReply: 1},
			requests: 2,
		},
		{
			name: "mid-connection packets (unknown direction) are skipped and counted",
			recs: []*record.Record{
				flow(at(0), frontend(0, 41234), cart(), record.TCP, record.DirUnknown, record.Forwarded, "node-a"),
				flow(at(1), cart(), frontend(0, 41234), record.TCP, record.DirUnknown, record.Forwarded, "node-a"),
			},
			edges:   map[EdgeKey]uint64{},
			skipped: map[string]uint64{SkipUnknownDirection: 2},
		},
		{
			name: "connections from two pods of one workload are one edge",
			recs: []*record.Record{req, syn(5, 1, 50000), syn(9, 0, 41300)},
			edges: map[EdgeKey]uint64{
				edgeKey(frontendID, cartID, record.TCP, 8080): 3,
			},
			requests: 3,
		},
		{
			name: "a Calico-style aggregated record counts its flows",
			recs: []*record.Record{func() *record.Record {
				r := syn(0, 0, 41234)
				r.Count = 17
				return r
			}()},
			edges:    map[EdgeKey]uint64{edgeKey(frontendID, cartID, record.TCP, 8080): 17},
			requests: 17,
		},
		{
			name: "socket-LB TRANSLATED events are never learned",
			recs: []*record.Record{
				flow(at(0), frontend(0, 41234), cart(), record.TCP, record.Request, record.Translated, "node-a"),
			},
			edges:    map[EdgeKey]uint64{},
			skipped:  map[string]uint64{skipNotFlowed + " (TRANSLATED)": 1},
			requests: 1,
		},
		{
			name: "a flow without a known protocol is not learned",
			recs: []*record.Record{
				flow(at(0), frontend(0, 0), cart(), record.ProtoUnknown, record.Request, record.Forwarded, "node-a"),
			},
			edges:    map[EdgeKey]uint64{},
			skipped:  map[string]uint64{skipNoProtocol: 1},
			requests: 1,
		},
		{
			name: "world without an address is never widened to an ipBlock",
			recs: []*record.Record{
				flow(at(0), frontend(0, 41234), record.Endpoint{Entity: record.EntityWorld, Port: 443}, record.TCP, record.Request, record.Forwarded, "node-a"),
			},
			edges:    map[EdgeKey]uint64{},
			skipped:  map[string]uint64{SkipNoPeer: 1},
			requests: 1,
		},
		{
			name: "ICMP is learned without a port",
			recs: []*record.Record{
				flow(at(0), frontend(0, 0), podEP("shop", "cart-7d9f8c6b5-zq2wx", "10.0.3.20", 0, cartLabels), record.ICMPv4, record.Request, record.Forwarded, "node-a"),
			},
			edges:    map[EdgeKey]uint64{edgeKey(frontendID, cartID, record.ICMPv4, 0): 1},
			requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := learn(Options{}, tt.recs...)
			got := map[EdgeKey]uint64{}
			for k, e := range g.Edges {
				got[k] = e.Flows
			}
			if !maps.Equal(got, tt.edges) {
				t.Errorf("edges = %v, want %v", got, tt.edges)
			}
			for k, e := range g.Edges {
				if k.Proto.HasPorts() && k.Port >= 32768 {
					t.Errorf("edge %s learned an ephemeral port", k)
				}
				if g.Nodes[e.Src] == nil || g.Nodes[e.Dst] == nil {
					t.Errorf("edge %s names a node that is not in the graph", k)
				}
			}
			if len(g.Denied) != 0 {
				t.Errorf("denied = %v, want none", slices.Collect(maps.Keys(g.Denied)))
			}
			if len(tt.edges) == 0 && len(g.Nodes) != 0 {
				t.Errorf("nodes %v created by flows that taught nothing", slices.Collect(maps.Keys(g.Nodes)))
			}
			if want := tt.skipped; !maps.Equal(g.Stats.Skipped, want) && (len(want) > 0 || len(g.Stats.Skipped) > 0) {
				t.Errorf("skipped = %v, want %v", g.Stats.Skipped, want)
			}
			if g.Stats.Requests != tt.requests || g.Stats.Replies != tt.replies {
				t.Errorf("requests, replies = %d, %d, want %d, %d", g.Stats.Requests, g.Stats.Replies, tt.requests, tt.replies)
			}
			if g.Stats.Records != uint64(len(tt.recs)) {
				t.Errorf("records = %d, want %d", g.Stats.Records, len(tt.recs))
			}
		})
	}
}

func TestLearnDeniedAttempts(t *testing.T) {
	key := edgeKey(frontendID, cartID, record.TCP, 8080)
	a, b := syn(0, 0, 41234), syn(10, 1, 50000)
	tests := []struct {
		name string
		recs []*record.Record
		// denied: the edge is a denied attempt (Graph.Denied, not Edges)
		// unless LearnDropped
		denied bool
		flows  uint64 // flowed requests on the edge
		drops  uint64 // policy-dropped requests on the edge
		audit  uint64
	}{
		{
			// Hubble traces the SYN as FORWARDED on the client's node and
			// drops it on the server's node
			name:   "forwarded on the client node, dropped by policy on the server node, no reply",
			recs:   []*record.Record{a, policyDrop(a, at(0), "node-b")},
			denied: true, flows: 1, drops: 1,
		},
		{
			name:   "the drop seen before the forwarded trace",
			recs:   []*record.Record{policyDrop(a, at(0), "node-b"), a},
			denied: true, flows: 1, drops: 1,
		},
		{
			name:   "retransmitted SYNs of denied connections",
			recs:   []*record.Record{a, policyDrop(a, at(0), "node-b"), a, policyDrop(a, at(1), "node-b"), b, policyDrop(b, at(10), "node-b")},
			denied: true, flows: 3, drops: 3,
		},
		{
			name:   "only the drop was seen",
			recs:   []*record.Record{policyDrop(a, at(0), "node-b")},
			denied: true, drops: 1,
		},
		{
			name:  "the same but answered: the connection worked",
			recs:  []*record.Record{a, policyDrop(a, at(0), "node-b"), reply(a, at(1))},
			flows: 1, drops: 1,
		},
		{
			name:  "answered before the drop was seen",
			recs:  []*record.Record{a, reply(a, at(1)), policyDrop(a, at(2), "node-b")},
			flows: 1, drops: 1,
		},
		{
			name:  "only some connections were dropped",
			recs:  []*record.Record{a, policyDrop(a, at(0), "node-b"), b},
			flows: 2, drops: 1,
		},
		{
			name: "audit mode: enforcement would drop it, so it must be learned",
			recs: []*record.Record{func() *record.Record {
				r := syn(0, 0, 41234)
				r.Verdict = record.Audit
				return r
			}()},
			flows: 1, audit: 1,
		},
	}
	for _, tt := range tests {
		for _, learnDropped := range []bool{false, true} {
			name := tt.name
			if learnDropped {
				name += " (LearnDropped)"
			}
			t.Run(name, func(t *testing.T) {
				g := learn(Options{LearnDropped: learnDropped}, tt.recs...)
				wantDenied := tt.denied && !learnDropped
				from, other := g.Edges, g.Denied
				if wantDenied {
					from, other = g.Denied, g.Edges
				}
				e := from[key]
				if e == nil {
					t.Fatalf("edge %s missing (denied=%v); edges %v, denied %v", key, wantDenied,
						slices.Collect(maps.Keys(g.Edges)), slices.Collect(maps.Keys(g.Denied)))
				}
				if other[key] != nil {
					t.Errorf("edge %s both learned and denied", key)
				}
				if e.Flows != tt.flows || e.Dropped != tt.drops || e.Audit != tt.audit {
					t.Errorf("flows, dropped, audit = %d, %d, %d, want %d, %d, %d", e.Flows, e.Dropped, e.Audit, tt.flows, tt.drops, tt.audit)
				}
				switch {
				// an attempt counts once: the forwarded trace on the client's
				// node is the same attempt as the drop
				case wantDenied && g.Stats.DeniedFlows != tt.drops:
					t.Errorf("stats: denied flows %d, want %d", g.Stats.DeniedFlows, tt.drops)
				case !wantDenied && g.Stats.DeniedFlows != 0:
					t.Errorf("stats: denied flows %d, want 0", g.Stats.DeniedFlows)
				}
				if !wantDenied && !slices.Equal(e.NodesSeen, nodesOf(tt.recs)) {
					t.Errorf("nodes seen %v, want %v", e.NodesSeen, nodesOf(tt.recs))
				}
			})
		}
	}
}

// nodesOf lists the cluster nodes that observed requests.
func nodesOf(recs []*record.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Direction == record.Request && !slices.Contains(out, r.Node) {
			out = append(out, r.Node)
		}
	}
	slices.Sort(out)
	return out
}

func TestLearnNonPolicyDropSkipped(t *testing.T) {
	for _, reason := range []string{"CT_MAP_INSERTION_FAILED", "STALE_OR_UNROUTABLE_IP", ""} {
		t.Run(reason, func(t *testing.T) {
			r := syn(0, 0, 41234)
			r.Verdict, r.DropReason = record.Dropped, reason
			g := learn(Options{LearnDropped: true}, r)
			if len(g.Edges)+len(g.Denied) != 0 {
				t.Errorf("a %q drop was learned: edges %d, denied %d", reason, len(g.Edges), len(g.Denied))
			}
			if got := g.Stats.Skipped[SkipNonPolicyDrop+" ("+reason+")"]; got != 1 {
				t.Errorf("skipped %v, want one non-policy drop", g.Stats.Skipped)
			}
		})
	}
}

func TestLearnDedupesUUIDs(t *testing.T) {
	tests := []struct {
		name   string
		window int
		uuids  []string
		flows  uint64
		dups   uint64
	}{
		{name: "a resent flow counts once", uuids: []string{"u1", "u2", "u1"}, flows: 2, dups: 1},
		{name: "records without uuid are never deduped", uuids: []string{"", "", ""}, flows: 3},
		{name: "the window is bounded: an old uuid is forgotten", window: 2, uuids: []string{"u1", "u2", "u3", "u1"}, flows: 4},
		{name: "within the window it is remembered", window: 2, uuids: []string{"u1", "u2", "u2", "u1"}, flows: 2, dups: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(Options{DedupeWindow: tt.window})
			for i, id := range tt.uuids {
				r := syn(i, 0, uint16(40000+i))
				r.UUID = id
				l.Add(r)
			}
			g := l.Graph()
			e := g.Edges[edgeKey(frontendID, cartID, record.TCP, 8080)]
			if e == nil || e.Flows != tt.flows {
				t.Fatalf("edge %+v, want %d flows", e, tt.flows)
			}
			if g.Stats.Duplicates != tt.dups || g.Stats.Records != uint64(len(tt.uuids)) || g.Stats.Learned != tt.flows {
				t.Errorf("stats %+v, want %d duplicates of %d records, %d learned", g.Stats, tt.dups, len(tt.uuids), tt.flows)
			}
		})
	}
}

func TestLearnDNSNames(t *testing.T) {
	dnsResp := func(q string, answers ...string) *record.Record {
		r := &record.Record{Time: at(0), Src: podEP("kube-system", "coredns-6d4b8f9c5-b4c5d", "10.0.0.53", 53, map[string]string{"k8s-app": "kube-dns"}),
			Dst: frontend(0, 41000), Proto: record.UDP, Direction: record.Reply, Verdict: record.Forwarded,
			DNSQuery: q, DNSResponse: true}
		for _, a := range answers {
			r.DNSAnswers = append(r.DNSAnswers, netip.MustParseAddr(a))
		}
		return r
	}
	call := func(ip string, port uint16, names ...string) *record.Record {
		dst := worldEP(ip, port)
		dst.Names = names
		return flow(at(5), frontend(0, 41500), dst, record.TCP, record.Request, record.Forwarded, "node-a")
	}
	tests := []struct {
		name  string
		recs  []*record.Record
		node  string
		names []string
	}{
		{
			name:  "a DNS answer names the IP called afterwards",
			recs:  []*record.Record{dnsResp("api.github.com", "140.82.112.3"), call("140.82.112.3", 443)},
			node:  "ip:140.82.112.3",
			names: []string{"api.github.com"},
		},
		{
			name:  "and the IP called before the answer was seen",
			recs:  []*record.Record{call("140.82.112.3", 443), dnsResp("api.github.com.", "140.82.112.3")},
			node:  "ip:140.82.112.3",
			names: []string{"api.github.com"},
		},
		{
			name:  "names from the flow and from several answers, sorted, without the trailing dot",
			recs:  []*record.Record{dnsResp("github.com", "140.82.112.3"), dnsResp("api.github.com", "140.82.112.3", "140.82.112.4"), call("140.82.112.3", 443, "www.github.com.")},
			node:  "ip:140.82.112.3",
			names: []string{"api.github.com", "github.com", "www.github.com"},
		},
		{
			name:  "an answer for another IP names nothing",
			recs:  []*record.Record{dnsResp("example.com", "93.184.215.14"), call("140.82.112.3", 443)},
			node:  "ip:140.82.112.3",
			names: nil,
		},
		{
			name:  "IPv6",
			recs:  []*record.Record{dnsResp("api.github.com", "2606:50c0:8000::64"), call("2606:50c0:8000::64", 443)},
			node:  "ip:2606:50c0:8000::64",
			names: []string{"api.github.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := learn(Options{}, tt.recs...)
			n := g.Nodes[tt.node]
			if n == nil {
				t.Fatalf("no node %s in %v", tt.node, slices.Collect(maps.Keys(g.Nodes)))
			}
			if n.Kind != NodeExternal {
				t.Errorf("kind %s, want external", n.Kind)
			}
			if !slices.Equal(n.Names, tt.names) {
				t.Errorf("names %q, want %q", n.Names, tt.names)
			}
			if g.Stats.DNSResponses == 0 {
				t.Errorf("DNS responses not counted")
			}
		})
	}
}

func TestLearnWorkloadNodes(t *testing.T) {
	web := func(pod string, labels map[string]string) record.Endpoint {
		return podEP("shop", pod, "10.0.5.1", 0, labels)
	}
	hashed := func(hash, version string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": "web", "tier": "frontend", "version": version,
			"pod-template-hash": hash, "controller-uid": "9b2f", "batch.kubernetes.io/job-name": "x"}
	}
	tests := []struct {
		name      string
		srcs      []record.Endpoint
		labels    map[string]string
		labelSets int
		pods      []string
	}{
		{
			name: "pods of two ReplicaSets of one Deployment are one node with their common labels",
			srcs: []record.Endpoint{
				web("web-5b8c7d9f4-x2x7q", hashed("5b8c7d9f4", "v1")),
				web("web-5b8c7d9f4-b4c5d", hashed("5b8c7d9f4", "v1")),
				web("web-7d9f8c6b5-zq2wx", hashed("7d9f8c6b5", "v2")),
			},
			labels:    map[string]string{"app.kubernetes.io/name": "web", "tier": "frontend"},
			labelSets: 2,
			pods:      []string{"web-5b8c7d9f4-b4c5d", "web-5b8c7d9f4-x2x7q", "web-7d9f8c6b5-zq2wx"},
		},
		{
			name: "a pod whose labels were masked does not wipe the workload's labels",
			srcs: []record.Endpoint{
				web("web-5b8c7d9f4-x2x7q", hashed("5b8c7d9f4", "v1")),
				web("web-5b8c7d9f4-b4c5d", nil),
			},
			labels:    map[string]string{"app.kubernetes.io/name": "web", "tier": "frontend", "version": "v1"},
			labelSets: 1,
			pods:      []string{"web-5b8c7d9f4-b4c5d", "web-5b8c7d9f4-x2x7q"},
		},
		{
			name: "a pod first seen masked, later with its labels, still counts",
			srcs: []record.Endpoint{
				web("web-5b8c7d9f4-x2x7q", hashed("5b8c7d9f4", "v1")),
				web("web-7d9f8c6b5-zq2wx", nil),
				web("web-7d9f8c6b5-zq2wx", hashed("7d9f8c6b5", "v2")),
			},
			labels:    map[string]string{"app.kubernetes.io/name": "web", "tier": "frontend"},
			labelSets: 2,
			pods:      []string{"web-5b8c7d9f4-x2x7q", "web-7d9f8c6b5-zq2wx"},
		},
		{
			name: "only masked pods: no labels at all",
			srcs: []record.Endpoint{
				web("web-5b8c7d9f4-x2x7q", nil),
			},
			pods: []string{"web-5b8c7d9f4-x2x7q"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []*record.Record
			for i, src := range tt.srcs {
				src.Port = uint16(40000 + i)
				recs = append(recs, flow(at(i), src, cart(), record.TCP, record.Request, record.Forwarded, "node-a"))
			}
			g := learn(Options{}, recs...)
			n := g.Nodes["pod:shop/web"]
			if n == nil {
				t.Fatalf("no node pod:shop/web in %v", slices.Collect(maps.Keys(g.Nodes)))
			}
			if n.Kind != NodeWorkload || n.WorkloadKind != KindDeployment || n.Namespace != "shop" || n.Name != "web" {
				t.Errorf("node %s: kind %s %s, namespace %q, name %q", n.ID, n.Kind, n.WorkloadKind, n.Namespace, n.Name)
			}
			if len(tt.labels) > 0 || len(n.Labels) > 0 {
				if !maps.Equal(n.Labels, tt.labels) {
					t.Errorf("labels %v, want %v", n.Labels, tt.labels)
				}
			}
			if len(n.LabelSets) != tt.labelSets {
				t.Errorf("%d label sets %v, want %d", len(n.LabelSets), n.LabelSets, tt.labelSets)
			}
			for _, set := range append([]map[string]string{n.Labels}, n.LabelSets...) {
				for k := range set {
					if IsPodSpecificLabel(k) {
						t.Errorf("pod-specific label %q stored", k)
					}
				}
			}
			if !slices.Equal(n.Pods, tt.pods) {
				t.Errorf("pods %v, want %v", n.Pods, tt.pods)
			}
			if n.NamespaceLabels["kubernetes.io/metadata.name"] != "shop" {
				t.Errorf("namespace labels %v", n.NamespaceLabels)
			}
			if got := len(g.Nodes); got != 2 {
				t.Errorf("%d nodes, want web and cart", got)
			}
		})
	}
}

func TestLearnEntities(t *testing.T) {
	tests := []struct {
		name   string
		src    record.Endpoint
		dst    record.Endpoint
		wantID string
		kind   NodeKind
		entity string
		ip     string
	}{
		{
			name:   "kubelet probe from the host",
			src:    record.Endpoint{Entity: record.EntityHost, IP: netip.MustParseAddr("172.18.0.2"), Port: 51000},
			dst:    cart(),
			wantID: "entity:host/172.18.0.2", kind: NodeEntity, entity: "host", ip: "172.18.0.2",
		},
		{
			name:   "the API server by address",
			src:    frontend(0, 41000),
			dst:    record.Endpoint{Entity: record.EntityKubeAPIServer, IP: netip.MustParseAddr("172.18.0.3"), Port: 6443},
			wantID: "entity:kube-apiserver/172.18.0.3", kind: NodeEntity, entity: "kube-apiserver", ip: "172.18.0.3",
		},
		{
			name:   "a peer without identity is external by IP",
			src:    frontend(0, 41000),
			dst:    record.Endpoint{Entity: record.EntityUnknown, IP: netip.MustParseAddr("192.0.2.7"), Port: 443},
			wantID: "ip:192.0.2.7", kind: NodeExternal, entity: "world", ip: "192.0.2.7",
		},
		{
			name:   "an IPv4-mapped address is the IPv4 peer",
			src:    frontend(0, 41000),
			dst:    record.Endpoint{Entity: record.EntityWorld, IP: netip.MustParseAddr("::ffff:192.0.2.7"), Port: 443},
			wantID: "ip:192.0.2.7", kind: NodeExternal, entity: "world", ip: "192.0.2.7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := learn(Options{}, flow(at(0), tt.src, tt.dst, record.TCP, record.Request, record.Forwarded, "node-a"))
			n := g.Nodes[tt.wantID]
			if n == nil {
				t.Fatalf("no node %s in %v", tt.wantID, slices.Collect(maps.Keys(g.Nodes)))
			}
			if n.Kind != tt.kind || n.Entity != tt.entity || n.IP != tt.ip {
				t.Errorf("node %+v, want kind %s entity %s ip %s", n, tt.kind, tt.entity, tt.ip)
			}
			if len(g.Edges) != 1 {
				t.Errorf("%d edges, want 1", len(g.Edges))
			}
		})
	}
}

func TestLearnTimes(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	recs := []*record.Record{syn(30, 0, 41000), syn(10, 1, 42000), syn(20, 0, 43000)}
	recs[1].Time = recs[1].Time.In(berlin)
	g := learn(Options{}, recs...)
	e := g.Edges[edgeKey(frontendID, cartID, record.TCP, 8080)]
	if e == nil {
		t.Fatal("edge missing")
	}
	tests := []struct {
		what      string
		got, want time.Time
	}{
		{"edge first seen", e.FirstSeen, at(10)},
		{"edge last seen", e.LastSeen, at(30)},
		{"window start", g.First, at(10)},
		{"window end", g.Last, at(30)},
		{"node first seen", g.Nodes[cartID].FirstSeen, at(10)},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) || tt.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", tt.what, tt.got, tt.want)
		}
	}
	if s := writeJSON(t, g); strings.Contains(s, "+01:00") {
		t.Errorf("graph keeps a record's zone:\n%s", s)
	}
}

func TestGraphDoesNotAliasLearner(t *testing.T) {
	l := New(Options{})
	l.Add(syn(0, 0, 41000))
	g1 := l.Graph()
	g1.Edges[edgeKey(frontendID, cartID, record.TCP, 8080)].Flows = 99
	g1.Nodes[cartID].Labels["app"] = "changed"
	l.Add(syn(1, 0, 41001))
	g2 := l.Graph()
	if e := g2.Edges[edgeKey(frontendID, cartID, record.TCP, 8080)]; e.Flows != 2 {
		t.Errorf("flows %d after two requests, want 2 (a returned graph changed the learner)", e.Flows)
	}
	if got := g2.Nodes[cartID].Labels["app"]; got != "cart" {
		t.Errorf("label app=%q, want cart", got)
	}
}

// TestDeniedAttemptBeyondTupleTracking: a denied edge retried with more
// distinct 5-tuples than the learner tracks must stay a denied attempt
// (found at scale: 10M generated flows turned every denied edge into a
// learned one), while an edge that flowed far more than it was dropped is
// learned.
func TestDeniedAttemptBeyondTupleTracking(t *testing.T) {
	for _, c := range []struct {
		name            string
		attempts, drops int
		wantDenied      bool
	}{
		{"every attempt dropped", 500, 500, true},
		{"mostly flowed", 500, 20, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := New(Options{})
			src := record.Endpoint{Namespace: "shop-staging", Pod: "frontend-7d9f8c6b5d-x2x7q", Labels: map[string]string{"app": "frontend"}, IP: netip.MustParseAddr("10.244.1.5")}
			dst := record.Endpoint{Namespace: "shop", Pod: "cart-6c8d9f7b4c-k2k4m", Labels: map[string]string{"app": "cart"}, IP: netip.MustParseAddr("10.244.2.7"), Port: 8080}
			at := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
			for i := 0; i < c.attempts; i++ {
				s := src
				s.Port = uint16(33000 + i)
				l.Add(&record.Record{Time: at, Src: s, Dst: dst, Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request, Node: "node-b"})
				if i < c.drops {
					l.Add(&record.Record{Time: at, Src: s, Dst: dst, Proto: record.TCP, Verdict: record.Dropped, PolicyDrop: true, DropReason: "POLICY_DENIED", Direction: record.Request, Node: "node-a"})
				}
			}
			g := l.Graph()
			if denied := len(g.Denied) == 1 && len(g.Edges) == 0; denied != c.wantDenied {
				t.Fatalf("denied=%v (edges %d, denied %d), want %v", denied, len(g.Edges), len(g.Denied), c.wantDenied)
			}
		})
	}
}

func TestHourOf(t *testing.T) {
	for _, at := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-3600, 0), time.Unix(-3601, 999),
		time.Unix(1794787200, 0), time.Unix(1794787199, 999999999), time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("x", 5*3600+1800)), time.Date(1, 1, 1, 0, 59, 0, 0, time.UTC),
	} {
		if got, want := hourOf(at), at.UTC().Truncate(time.Hour).Unix(); got != want {
			t.Errorf("hourOf(%v) = %d, want %d", at, got, want)
		}
	}
}
