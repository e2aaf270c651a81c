package hubble_test

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
)

// capture is one real capture run through FileSource, with each emitted
// record paired with the raw JSON of the flow it came from.
type capture struct {
	path string
	out  runOut
	raw  []map[string]any // raw[i] is the flow behind out.recs[i]
}

// captureFacts are what a user checks in each capture, beyond the checks
// every capture gets. Keyed by file name; a capture not listed still gets
// the generic checks.
var captureFacts = map[string]func(t *testing.T, c *capture){
	"exporter-cilium-1.19-3lines.jsonl": func(t *testing.T, c *capture) {
		r := c.recs(t, 3)[0]
		if r.Src.Entity != record.EntityKubeAPIServer {
			t.Errorf("identity 16777217 labelled reserved:kube-apiserver + reserved:world: entity %q, want kube-apiserver", r.Src.Entity)
		}
		if want := netip.MustParseAddr("169.254.128.9"); r.Src.IP != want || len(r.Src.Labels) != 0 {
			t.Errorf("API server endpoint: IP %v labels %v, want %v and no labels", r.Src.IP, r.Src.Labels, want)
		}
		if !r.Dst.IsPod() || r.Dst.Namespace != "kube-system" || r.Dst.Pod != "csi-cbs-controller-7788964bc-lsfw5" {
			t.Errorf("destination %+v, want pod kube-system/csi-cbs-controller-7788964bc-lsfw5", r.Dst)
		}
		if r.Dst.WorkloadKind != "Deployment" || r.Dst.WorkloadName != "csi-cbs-controller" {
			t.Errorf("workload %s/%s, want Deployment/csi-cbs-controller (from `workloads`)", r.Dst.WorkloadKind, r.Dst.WorkloadName)
		}
		if want := map[string]string{"app": "cbs-csi-controller", "metrics": "cbs-csi-controller"}; !reflect.DeepEqual(r.Dst.Labels, want) {
			t.Errorf("labels %v, want %v", r.Dst.Labels, want)
		}
		if r.Dst.Cluster != "default" || r.Node != "10.10.21.166" || r.UUID != "c938628b-0c3a-4440-9ecd-3e3ca00d3a16" {
			t.Errorf("cluster %q node %q uuid %q", r.Dst.Cluster, r.Node, r.UUID)
		}
		if r.Direction != record.Reply || r.Src.Port != 60002 || r.Dst.Port != 57706 {
			t.Errorf("is_reply:true flow 60002→57706: direction %v ports %d→%d", r.Direction, r.Src.Port, r.Dst.Port)
		}
		r = c.out.recs[1]
		if r.Src.Entity != record.EntityHost || r.Dst.Entity != record.EntityWorld {
			t.Errorf("reserved:host+reserved:remote-node → world: got %q → %q, want host → world", r.Src.Entity, r.Dst.Entity)
		}
		if r.Direction != record.Request || r.Dst.Port != 9922 || r.Proto != record.TCP {
			t.Errorf("SYN to world: %v %v port %d, want request TCP 9922", r.Direction, r.Proto, r.Dst.Port)
		}
	},
	"exporter-drops-2lines.jsonl": func(t *testing.T, c *capture) {
		recs := c.recs(t, 2)
		byReason := map[string]record.Record{}
		for _, r := range recs {
			if r.Verdict != record.Dropped {
				t.Errorf("verdict %v, want DROPPED", r.Verdict)
			}
			byReason[r.DropReason] = r
		}
		denied, ok := byReason["POLICY_DENIED"]
		if !ok {
			t.Fatalf("no POLICY_DENIED drop among %v", keys(byReason))
		}
		if !denied.PolicyDrop || denied.Direction != record.Request {
			t.Errorf("POLICY_DENIED drop: PolicyDrop %v direction %v, want true, request", denied.PolicyDrop, denied.Direction)
		}
		if denied.Proto != record.TCP || denied.Dst.Port != 80 || denied.Src.Pod != "xwing" || denied.Src.Namespace != "default" || denied.Dst.Pod != "deathstar-7848d6c4d5-th9v2" {
			t.Errorf("POLICY_DENIED drop: %v %s/%s → %s port %d", denied.Proto, denied.Src.Namespace, denied.Src.Pod, denied.Dst.Pod, denied.Dst.Port)
		}
		invalid, ok := byReason["INVALID_SOURCE_IP"]
		if !ok {
			t.Fatalf("no INVALID_SOURCE_IP drop among %v", keys(byReason))
		}
		if invalid.PolicyDrop {
			t.Error("INVALID_SOURCE_IP drop marked as a policy drop")
		}
		if invalid.Proto != record.ICMPv6 || invalid.ICMPType != 133 {
			t.Errorf("router solicitation: %v type %d, want ICMPv6 133", invalid.Proto, invalid.ICMPType)
		}
	},
	"exporter-eks-chaining-1line.jsonl": func(t *testing.T, c *capture) {
		r := c.recs(t, 1)[0]
		if r.Src.Entity != record.EntityHost || !r.Dst.IsPod() || r.Dst.WorkloadName != "coredns" || r.Dst.WorkloadKind != "Deployment" || r.Dst.Port != 8181 {
			t.Errorf("host → coredns 8181: %q → %+v", r.Src.Entity, r.Dst)
		}
		if want := map[string]string{"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}; !reflect.DeepEqual(r.Dst.Labels, want) {
			t.Errorf("labels %v, want %v", r.Dst.Labels, want)
		}
	},
	"bookinfo-10-flows.json": func(t *testing.T, c *capture) {
		c.recs(t, 10)
		replies, synReq := 0, 0
		for i, r := range c.out.recs {
			f := c.raw[i]
			checkDeprecatedReply(t, i, f, r, &replies)
			if r.Src.Entity == record.EntityHost && r.Dst.Pod == "kube-dns-6c7b8dc9f9-gnxh2" && r.Dst.Port == 10054 {
				synReq++
				if r.Direction != record.Request {
					t.Errorf("host → kube-dns SYN: direction %v, want request", r.Direction)
				}
			}
		}
		if replies != 5 || synReq != 1 {
			t.Errorf("saw %d \"reply\":true flows and %d host→kube-dns SYN, want 5 and 1", replies, synReq)
		}
	},
	"bookinfo-400-tcp-flows.json": func(t *testing.T, c *capture) {
		var isReply, notReply, syn, synAck, redirected int
		for i, r := range c.out.recs {
			f := c.raw[i]
			rep, present := boolean(f, "is_reply")
			switch {
			case present && rep:
				isReply++
				if r.Direction != record.Reply {
					t.Errorf("flow %d: is_reply=true but direction %v", i+1, r.Direction)
				}
			case present:
				notReply++
				if r.Direction != record.Request {
					t.Errorf("flow %d: is_reply=false but direction %v", i+1, r.Direction)
				}
			default:
				checkHandshakeDirection(t, i, f, r, &syn, &synAck)
			}
			if num(f, "event_type", "type") == 5 {
				redirected++
				if r.Verdict != record.Redirected || r.Direction != record.Request {
					t.Errorf("flow %d: policy-verdict REDIRECTED event: %v %v, want REDIRECTED request", i+1, r.Verdict, r.Direction)
				}
			}
		}
		if isReply != 132 || notReply != 218 || syn != 4 || synAck != 1 || redirected != 27 {
			t.Errorf("is_reply true %d false %d, bare SYN %d, bare SYN+ACK %d, policy-verdict %d; want 132, 218, 4, 1, 27", isReply, notReply, syn, synAck, redirected)
		}
	},
	"bookinfo-5-dns-flows.json": func(t *testing.T, c *capture) {
		recs := c.recs(t, 5)
		q := recs[0]
		if q.DNSQuery != "istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local" || q.DNSResponse || q.Direction != record.Request {
			t.Errorf("first DNS flow: query %q response %v direction %v", q.DNSQuery, q.DNSResponse, q.Direction)
		}
		if q.Src.Pod != "node-local-dns-88zrp" || q.Dst.Labels["k8s-app"] != "kube-dns" || q.Dst.Port != 53 || q.Proto != record.TCP {
			t.Errorf("NodeLocal DNS → kube-dns TCP 53: %s → %v %v %d", q.Src.Pod, q.Dst.Labels, q.Proto, q.Dst.Port)
		}
		a := recs[1]
		if a.DNSQuery != q.DNSQuery || !a.DNSResponse || a.Direction != record.Reply || len(a.DNSAnswers) != 0 {
			t.Errorf("NXDOMAIN response: query %q response %v direction %v answers %v", a.DNSQuery, a.DNSResponse, a.Direction, a.DNSAnswers)
		}
	},
	"bookinfo-330-dns-flows.json": func(t *testing.T, c *capture) {
		want := netip.MustParseAddr("10.160.4.20")
		n := 0
		for _, r := range c.out.recs {
			if r.DNSQuery == "zipkin.istio-system.svc.cluster.local" && r.DNSResponse && len(r.DNSAnswers) == 1 && r.DNSAnswers[0] == want {
				n++
			}
			if r.DNSQuery == "" || strings.HasSuffix(r.DNSQuery, ".") {
				t.Errorf("DNS flow with query %q (want the name without its trailing dot)", r.DNSQuery)
			}
		}
		if n != 14 {
			t.Errorf("%d responses resolving zipkin.istio-system.svc.cluster.local to %v, want 14", n, want)
		}
	},
	"bookinfo-400-udp-flows.json": func(t *testing.T, c *capture) {
		want := netip.MustParseAddr("10.245.218.54")
		found := false
		for i, r := range c.out.recs {
			if r.DNSQuery == "productpage.bookinfo.svc.cluster.local" && len(r.DNSAnswers) > 0 && r.DNSAnswers[0] == want {
				found = true
			}
			if num(c.raw[i], "event_type", "type") == 5 && r.Direction != record.Request {
				t.Errorf("flow %d: policy-verdict event: direction %v, want request", i+1, r.Direction)
			}
		}
		if !found {
			t.Errorf("no DNS answer productpage.bookinfo.svc.cluster.local → %v", want)
		}
	},
	"bookinfo-400-icmpv4-flows.json": func(t *testing.T, c *capture) {
		var req, rep int
		for i, r := range c.out.recs {
			if r.Proto != record.ICMPv4 {
				t.Errorf("flow %d: proto %v, want ICMPv4", i+1, r.Proto)
			}
			switch typ := num(c.raw[i], "l4", "ICMPv4", "type"); typ {
			case 8:
				req++
				if r.ICMPType != 8 || r.Direction != record.Request {
					t.Errorf("flow %d: echo request: type %d direction %v, want 8 request", i+1, r.ICMPType, r.Direction)
				}
			case 0:
				rep++
				if r.ICMPType != 0 || r.Direction != record.Reply {
					t.Errorf("flow %d: echo reply: type %d direction %v, want 0 reply", i+1, r.ICMPType, r.Direction)
				}
			}
			for _, e := range []record.Entity{r.Src.Entity, r.Dst.Entity} {
				if e != record.EntityHost && e != record.EntityHealth && e != record.EntityRemoteNode {
					t.Errorf("flow %d: entity %q, want host, health or remote-node", i+1, e)
				}
			}
		}
		if req != 11 || rep != 7 {
			t.Errorf("%d echo requests and %d replies, want 11 and 7", req, rep)
		}
	},
	"bookinfo-400-l7-redirected-flows.json": func(t *testing.T, c *capture) {
		for i, r := range c.out.recs {
			if r.Verdict != record.Redirected || r.Direction != record.Request {
				t.Errorf("flow %d: %v %v, want policy-verdict REDIRECTED request", i+1, r.Verdict, r.Direction)
			}
		}
	},
	"bookinfo-5-http-flows.json": func(t *testing.T, c *capture) {
		r := c.recs(t, 5)[0]
		if r.Src.Labels["app"] != "prometheus" || r.Dst.Entity != record.EntityWorld || r.Dst.Port != 9990 || r.Direction != record.Request {
			t.Errorf("prometheus → world 9990 scrape: %v → %q port %d %v", r.Src.Labels, r.Dst.Entity, r.Dst.Port, r.Direction)
		}
		if r.Src.NamespaceLabels["istio-injection"] != "disabled" {
			t.Errorf("namespace labels %v, want istio-injection=disabled from io.cilium.k8s.namespace.labels.*", r.Src.NamespaceLabels)
		}
		checkL7Directions(t, c)
	},
	"bookinfo-348-http-flows.json": checkL7Directions,

	// the repository's scenario files (testdata/flows/README.md)
	"node-a.jsonl": func(t *testing.T, c *capture) {
		if c.out.st.LostEvents != 3 || c.out.st.Skipped[hubble.SkipLostEvents] != 1 || c.out.st.Skipped[hubble.SkipTranslated] != 6 {
			t.Errorf("lost %d, skipped %v; want 3 lost events on 1 line and 6 socket-LB events skipped", c.out.st.LostEvents, c.out.st.Skipped)
		}
		var denied, invalid, audit int
		for _, r := range c.out.recs {
			switch {
			case r.DropReason == "POLICY_DENIED":
				denied++
				if !r.PolicyDrop || r.Direction != record.Request || r.Dst.Port != 8080 {
					t.Errorf("denied attempt: policy drop %v direction %v port %d", r.PolicyDrop, r.Direction, r.Dst.Port)
				}
			case r.DropReason == "INVALID_SOURCE_IP":
				invalid++
				if r.PolicyDrop {
					t.Error("INVALID_SOURCE_IP drop marked as a policy drop")
				}
			case r.Verdict == record.Audit:
				audit++
				if r.Direction != record.Request {
					t.Errorf("AUDIT policy-verdict event: direction %v", r.Direction)
				}
			}
		}
		if denied != 6 || invalid != 1 || audit != 3 {
			t.Errorf("%d POLICY_DENIED, %d INVALID_SOURCE_IP, %d AUDIT records; want 6, 1, 3", denied, invalid, audit)
		}
	},
	"node-b.json.gz": func(t *testing.T, c *capture) {
		if c.out.st.LostEvents != 12 || c.out.st.Skipped[hubble.SkipNonFlow] != 1 {
			t.Errorf("lost %d, skipped %v; want 12 lost events and the relay node_status line skipped", c.out.st.LostEvents, c.out.st.Skipped)
		}
	},
	"node-c-legacy.json": func(t *testing.T, c *capture) {
		var replies, syn, synAck int
		for i, r := range c.out.recs {
			f := c.raw[i]
			checkDeprecatedReply(t, i, f, r, &replies)
			if num(f, "event_type", "type") == 4 {
				checkHandshakeDirection(t, i, f, r, &syn, &synAck)
			}
		}
		if replies != 376 || syn != 111 || synAck == 0 {
			t.Errorf("%d replies, %d SYN, %d SYN+ACK traces; want 376, 111, some", replies, syn, synAck)
		}
	},
}

// checkDeprecatedReply: flow i, f, with the deprecated "reply":true is a
// reply; it counts those in replies.
func checkDeprecatedReply(t *testing.T, i int, f map[string]any, r record.Record, replies *int) {
	t.Helper()
	if v, _ := boolean(f, "reply"); v {
		*replies++
		if r.Direction != record.Reply {
			t.Errorf("flow %d has the deprecated \"reply\":true: direction %v, want reply", i+1, r.Direction)
		}
	}
}

// checkHandshakeDirection: flow i, f, without is_reply, is a request when
// it is a TCP SYN without ACK and a reply when it is a SYN+ACK; it counts
// each in syn and synAck.
func checkHandshakeDirection(t *testing.T, i int, f map[string]any, r record.Record, syn, synAck *int) {
	t.Helper()
	s, _ := boolean(f, "l4", "TCP", "flags", "SYN")
	a, _ := boolean(f, "l4", "TCP", "flags", "ACK")
	switch {
	case s && !a:
		*syn++
		if r.Direction != record.Request {
			t.Errorf("flow %d: SYN without ACK and no is_reply: direction %v, want request", i+1, r.Direction)
		}
	case s && a:
		*synAck++
		if r.Direction != record.Reply {
			t.Errorf("flow %d: SYN+ACK and no is_reply: direction %v, want reply", i+1, r.Direction)
		}
	}
}

// checkL7Directions: L7 access-log REQUESTs are requests, RESPONSEs replies.
func checkL7Directions(t *testing.T, c *capture) {
	for i, r := range c.out.recs {
		switch str(c.raw[i], "l7", "type") {
		case "REQUEST":
			if r.Direction != record.Request {
				t.Errorf("flow %d: L7 REQUEST: direction %v", i+1, r.Direction)
			}
		case "RESPONSE":
			if r.Direction != record.Reply {
				t.Errorf("flow %d: L7 RESPONSE: direction %v", i+1, r.Direction)
			}
		}
	}
}

// recs returns the records, failing unless there are exactly n.
func (c *capture) recs(t *testing.T, n int) []record.Record {
	t.Helper()
	if len(c.out.recs) != n {
		t.Fatalf("%d records, want %d", len(c.out.recs), n)
	}
	return c.out.recs
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// expectation is what an independent encoding/json pass says FileSource
// must report for a file.
type expectation struct {
	lines, flows, truncated uint64
	raw                     []map[string]any // learnable flows, in order
}

func expect(t *testing.T, path string) expectation {
	var e expectation
	for _, l := range readRaw(t, path) {
		e.lines++
		switch {
		case l.obj == nil && l.last:
			e.truncated++
		case l.obj == nil:
			t.Fatalf("%s:%d is not JSON: the capture is broken", path, l.no)
		case l.flow != nil && learnable(l.flow):
			e.flows++
			e.raw = append(e.raw, l.flow)
		}
	}
	return e
}

func TestCaptures(t *testing.T) {
	files, shared := captureFiles(t)
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := expect(t, path)
			out := runFile(t, path, true, 2) // strict: a malformed line fails the test
			if out.openErr != nil || out.err != nil {
				t.Fatalf("open: %v; run: %v", out.openErr, out.err)
			}
			st := out.st
			if st.Malformed != 0 || st.Truncated != want.truncated || st.Lines != want.lines || st.FlowEvents != want.flows || st.Files != 1 {
				t.Errorf("stats: files %d lines %d flows %d malformed %d truncated %d; want 1, %d, %d, 0, %d",
					st.Files, st.Lines, st.FlowEvents, st.Malformed, st.Truncated, want.lines, want.flows, want.truncated)
			}
			if uint64(len(out.recs)) != st.FlowEvents {
				t.Fatalf("emitted %d records, FlowEvents says %d", len(out.recs), st.FlowEvents)
			}
			if len(out.recs) != len(want.raw) {
				t.Fatalf("emitted %d records, want %d", len(out.recs), len(want.raw))
			}
			c := &capture{path: path, out: out, raw: want.raw}
			checkEveryRecord(t, c)
			if facts := captureFacts[name]; facts != nil {
				facts(t, c)
			}
		})
	}
	for name := range captureFacts {
		if shared && !seen[name] {
			t.Errorf("capture %s has facts to check but is not in the captures directory", name)
		}
	}
}

// checkEveryRecord holds for every record of every capture.
func checkEveryRecord(t *testing.T, c *capture) {
	t.Helper()
	for i, r := range c.out.recs {
		f := c.raw[i]
		for side, ep := range map[string]record.Endpoint{"source": r.Src, "destination": r.Dst} {
			for k := range ep.Labels {
				if strings.HasPrefix(k, "io.cilium.") || strings.HasPrefix(k, "io.kubernetes.pod.namespace") || strings.HasPrefix(k, "k8s:") {
					t.Errorf("flow %d %s: label key %q must not be selected on", i+1, side, k)
				}
			}
			if ep.IsPod() {
				if got := ep.NamespaceLabels["kubernetes.io/metadata.name"]; got != ep.Namespace {
					t.Errorf("flow %d %s: pod in %q has namespace label kubernetes.io/metadata.name=%q", i+1, side, ep.Namespace, got)
				}
			}
			if ep.Entity == record.EntityNone && ep.Namespace == "" {
				t.Errorf("flow %d %s: neither a pod nor an entity: %+v", i+1, side, ep)
			}
		}
		if v, ok := boolean(f, "is_reply"); ok {
			if want := map[bool]record.Direction{true: record.Reply, false: record.Request}[v]; r.Direction != want {
				t.Errorf("flow %d: is_reply=%v but direction %v", i+1, v, r.Direction)
			}
		}
		if r.Source != c.path {
			t.Errorf("flow %d: source %q, want %q", i+1, r.Source, c.path)
		}
	}
}

// TestCapturesAgreeWithProtojson decodes every line of every capture with
// protojson, strictly, into the upstream types and checks field by field
// that the record FileSource emitted for it says the same.
func TestCapturesAgreeWithProtojson(t *testing.T) {
	files, _ := captureFiles(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			out := runFile(t, path, false, 1) // the serial decode path
			if out.openErr != nil || out.err != nil {
				t.Fatalf("open: %v; run: %v", out.openErr, out.err)
			}
			i := 0
			for _, l := range readRaw(t, path) {
				if l.obj == nil {
					continue // the truncated tail (counted in TestCaptures)
				}
				var (
					f        *flowpb.Flow
					wrapTime time.Time
					wrapNode string
				)
				if _, wrapped := l.obj["flow"]; wrapped || l.flow == nil {
					var resp observerpb.GetFlowsResponse
					if err := protojson.Unmarshal(l.text, &resp); err != nil {
						t.Fatalf("line %d: strict protojson into GetFlowsResponse: %v", l.no, err)
					}
					f = resp.GetFlow()
					if resp.GetTime() != nil {
						wrapTime = resp.GetTime().AsTime()
					}
					wrapNode = resp.GetNodeName()
				} else {
					f = &flowpb.Flow{}
					if err := protojson.Unmarshal(l.text, f); err != nil {
						t.Fatalf("line %d: strict protojson into Flow: %v", l.no, err)
					}
				}
				if f == nil || !learnable(l.flow) {
					continue
				}
				if i >= len(out.recs) {
					t.Fatalf("line %d: no record emitted for it (only %d records)", l.no, len(out.recs))
				}
				compareFlow(t, l.no, f, wrapTime, wrapNode, &out.recs[i])
				i++
			}
			if i != len(out.recs) {
				t.Errorf("%d records emitted, %d flows in the file", len(out.recs), i)
			}
		})
	}
}

func compareFlow(t *testing.T, line int, f *flowpb.Flow, wrapTime time.Time, wrapNode string, r *record.Record) {
	t.Helper()
	errf := func(field string, got, want any) {
		t.Helper()
		t.Errorf("line %d: %s = %v, protojson says %v", line, field, got, want)
	}
	wantTime := wrapTime
	if f.GetTime() != nil {
		wantTime = f.GetTime().AsTime()
	}
	if !r.Time.Equal(wantTime) {
		errf("time", r.Time, wantTime)
	}
	wantNode := f.GetNodeName()
	if wantNode == "" {
		wantNode = wrapNode
	}
	if r.Node != wantNode {
		errf("node", r.Node, wantNode)
	}
	if r.UUID != f.GetUuid() {
		errf("uuid", r.UUID, f.GetUuid())
	}
	if r.Verdict.String() != f.GetVerdict().String() {
		errf("verdict", r.Verdict, f.GetVerdict())
	}
	for _, ip := range []struct {
		side string
		got  netip.Addr
		raw  string
	}{{"source IP", r.Src.IP, f.GetIP().GetSource()}, {"destination IP", r.Dst.IP, f.GetIP().GetDestination()}} {
		want, _ := netip.ParseAddr(ip.raw)
		if ip.got != want {
			errf(ip.side, ip.got, ip.raw)
		}
	}
	var (
		wantDropReason     string
		wantKind, wantName string
	)
	proto, sport, dport, icmpType := wantL4(f)
	if r.Proto != proto || uint32(r.Src.Port) != sport || uint32(r.Dst.Port) != dport || uint32(r.ICMPType) != icmpType {
		errf("L4", []any{r.Proto, r.Src.Port, r.Dst.Port, r.ICMPType}, []any{proto, sport, dport, icmpType})
	}
	if f.GetVerdict() == flowpb.Verdict_DROPPED {
		wantDropReason = f.GetDropReasonDesc().String()
		if f.GetDropReasonDesc() == flowpb.DropReason_DROP_REASON_UNKNOWN && f.GetDropReason() != 0 {
			wantDropReason = flowpb.DropReason(f.GetDropReason()).String()
		}
	}
	if r.DropReason != wantDropReason {
		errf("drop reason", r.DropReason, wantDropReason)
	}
	for _, ep := range []struct {
		side string
		got  *record.Endpoint
		pb   *flowpb.Endpoint
	}{{"source", &r.Src, f.GetSource()}, {"destination", &r.Dst, f.GetDestination()}} {
		if ep.got.Namespace != ep.pb.GetNamespace() {
			errf(ep.side+" namespace", ep.got.Namespace, ep.pb.GetNamespace())
		}
		if ep.got.Pod != ep.pb.GetPodName() {
			errf(ep.side+" pod", ep.got.Pod, ep.pb.GetPodName())
		}
		wantKind, wantName = "", ""
		if w := ep.pb.GetWorkloads(); len(w) > 0 {
			wantKind, wantName = w[0].GetKind(), w[0].GetName()
		}
		if ep.got.WorkloadKind != wantKind || ep.got.WorkloadName != wantName {
			errf(ep.side+" workload", ep.got.WorkloadKind+"/"+ep.got.WorkloadName, wantKind+"/"+wantName)
		}
		// labels: every k8s: label but Cilium's synthetic ones, prefix stripped
		wantLabels, wantNS := map[string]string{}, map[string]string{}
		for _, l := range ep.pb.GetLabels() {
			kv, ok := strings.CutPrefix(l, "k8s:")
			if !ok {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case strings.HasPrefix(k, "io.cilium.k8s.namespace.labels."):
				wantNS[strings.TrimPrefix(k, "io.cilium.k8s.namespace.labels.")] = v
			case strings.HasPrefix(k, "io.cilium.") || k == "io.kubernetes.pod.namespace":
			default:
				wantLabels[k] = v
			}
		}
		if ep.got.IsPod() && wantNS["kubernetes.io/metadata.name"] == "" {
			wantNS["kubernetes.io/metadata.name"] = ep.pb.GetNamespace()
		}
		if !sameMap(ep.got.Labels, wantLabels) {
			errf(ep.side+" labels", ep.got.Labels, wantLabels)
		}
		if !sameMap(ep.got.NamespaceLabels, wantNS) {
			errf(ep.side+" namespace labels", ep.got.NamespaceLabels, wantNS)
		}
	}
	if !reflect.DeepEqual(r.Dst.Names, f.GetDestinationNames()) && (len(r.Dst.Names)+len(f.GetDestinationNames()) > 0) {
		errf("destination names", r.Dst.Names, f.GetDestinationNames())
	}
	if q := strings.TrimSuffix(f.GetL7().GetDns().GetQuery(), "."); r.DNSQuery != q {
		errf("DNS query", r.DNSQuery, q)
	}
	if got, want := len(r.DNSAnswers), len(f.GetL7().GetDns().GetIps()); got != want {
		errf("DNS answers", r.DNSAnswers, f.GetL7().GetDns().GetIps())
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
