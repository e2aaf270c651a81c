package scenario

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
)

const flowsDir = "../../testdata/flows"

// line is one parsed line of a generated file.
type line struct {
	file string
	no   int
	resp *observerpb.GetFlowsResponse // nil for the legacy file
	flow *flowpb.Flow                 // nil for non-flow lines
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(flowsDir, name))
	if err != nil {
		t.Fatalf("%v (regenerate with: go run ./internal/scenario/gen -out testdata/flows)", err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err = io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return b
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// parseAll strictly decodes every line of every generated flow file (the
// truncated last line of the exporter file excepted, which must not decode).
func parseAll(t *testing.T) []line {
	t.Helper()
	strict := protojson.UnmarshalOptions{}
	var out []line
	for _, name := range []string{FileNodeA, FileNodeB, FileNodeC} {
		b := readFile(t, name)
		ls := splitLines(b)
		if name == FileNodeA {
			if bytes.HasSuffix(b, []byte("\n")) {
				t.Errorf("%s: must end with a truncated line, without newline", name)
			}
			last := ls[len(ls)-1]
			if err := strict.Unmarshal([]byte(last), &observerpb.GetFlowsResponse{}); err == nil {
				t.Errorf("%s: last line should be truncated, but it decodes", name)
			}
			ls = ls[:len(ls)-1]
		} else if !bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("%s: must end with a newline", name)
		}
		for i, l := range ls {
			if name == FileNodeC {
				f := &flowpb.Flow{}
				if err := strict.Unmarshal([]byte(l), f); err != nil {
					t.Fatalf("%s:%d: not a flow.Flow: %v", name, i+1, err)
				}
				out = append(out, line{file: name, no: i + 1, flow: f})
				continue
			}
			r := &observerpb.GetFlowsResponse{}
			if err := strict.Unmarshal([]byte(l), r); err != nil {
				t.Fatalf("%s:%d: not an observer.GetFlowsResponse: %v", name, i+1, err)
			}
			out = append(out, line{file: name, no: i + 1, resp: r, flow: r.GetFlow()})
		}
	}
	return out
}

func TestFilesDecodeStrictly(t *testing.T) {
	lines := parseAll(t)
	if len(lines) < 1000 {
		t.Fatalf("only %d lines", len(lines))
	}
}

func TestFilesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	again, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range again {
		fresh, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, f.Data) {
			t.Errorf("%s: two renders differ: the generator is not deterministic", f.Name)
		}
		golden, err := os.ReadFile(filepath.Join(flowsDir, f.Name))
		if err != nil {
			t.Errorf("%s: %v (run: go run ./internal/scenario/gen -out testdata/flows)", f.Name, err)
			continue
		}
		if !bytes.Equal(golden, fresh) {
			t.Errorf("testdata/flows/%s is stale (run: go run ./internal/scenario/gen -out testdata/flows)", f.Name)
		}
	}
	var total int64
	for _, f := range again {
		total += int64(len(f.Data))
	}
	if total > 3<<20 {
		t.Errorf("testdata/flows is %d bytes, want < 3 MiB", total)
	}
}

func TestSpec(t *testing.T) {
	s := Cluster()
	suffix := regexp.MustCompile(`^[` + podNameAlphabet + `]+$`)
	ips := map[string]string{}
	names := map[string]bool{}
	for _, p := range s.Pods {
		if names[p.Namespace+"/"+p.Name] {
			t.Errorf("duplicate pod %s/%s", p.Namespace, p.Name)
		}
		names[p.Namespace+"/"+p.Name] = true
		if other, ok := ips[p.IP]; ok {
			t.Errorf("pods %s and %s share IP %s", other, p.Name, p.IP)
		}
		ips[p.IP] = p.Name
		n, ok := s.Node(p.Node)
		if !ok {
			t.Fatalf("pod %s on unknown node %s", p.Name, p.Node)
		}
		if !netip.MustParsePrefix(n.PodCIDR).Contains(netip.MustParseAddr(p.IP)) {
			t.Errorf("pod %s IP %s outside %s", p.Name, p.IP, n.PodCIDR)
		}
		if _, ok := s.Namespace(p.Namespace); !ok {
			t.Errorf("pod %s in unknown namespace %s", p.Name, p.Namespace)
		}
		parts := strings.Split(p.Name, "-")
		switch p.WorkloadKind {
		case KindDeployment:
			hash, rnd := parts[len(parts)-2], parts[len(parts)-1]
			if len(rnd) != 5 || !suffix.MatchString(rnd) || len(hash) < 9 || len(hash) > 10 || !suffix.MatchString(hash) || p.Labels["pod-template-hash"] != hash {
				t.Errorf("deployment pod name %s malformed", p.Name)
			}
		case KindCronJob:
			rnd := parts[len(parts)-1]
			if len(rnd) != 5 || !suffix.MatchString(rnd) || p.Labels["job-name"] != strings.TrimSuffix(p.Name, "-"+rnd) {
				t.Errorf("job pod name %s malformed", p.Name)
			}
		case KindStatefulSet:
			if p.Labels["statefulset.kubernetes.io/pod-name"] != p.Name {
				t.Errorf("statefulset pod %s lacks its pod-name label", p.Name)
			}
		default:
			t.Errorf("pod %s: unknown kind %q", p.Name, p.WorkloadKind)
		}
	}
	replicas := map[string]int{
		"shop/frontend": 3, "shop/cart": 2, "shop/catalog": 2, "shop/report": 2,
		"payments/api": 3, "payments/worker": 2, "payments/fraud": 2,
		"data/postgres": 2, "data/redis": 3, "data/backup": 1,
		"monitoring/prometheus": 1, "shop-staging/frontend": 2, "shop-staging/cart": 1,
		"kube-system/coredns": 2,
	}
	for k, n := range replicas {
		ns, wl, _ := strings.Cut(k, "/")
		if got := len(s.WorkloadPods(ns, wl)); got != n {
			t.Errorf("%s: %d pods, want %d", k, got, n)
		}
	}
	// Look-alike labels: shop-staging/frontend has exactly shop/frontend's
	// selector labels.
	a, b := s.WorkloadPods("shop", "frontend")[0].Labels, s.WorkloadPods("shop-staging", "frontend")[0].Labels
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance"} {
		if a[k] == "" || a[k] != b[k] {
			t.Errorf("look-alike label %s differs: %q vs %q", k, a[k], b[k])
		}
	}
	// Fresh values: mutating one result does not affect the next.
	s.Pods[0].Labels["mutated"] = "yes"
	if _, ok := Cluster().Pods[0].Labels["mutated"]; ok {
		t.Error("Cluster() shares state between calls")
	}
}

// peerKey names a probe end at workload level: "ns/workload" for pods,
// "entity" or "entity:ip" for others.
func peerKey(s Spec, p Peer, withIP bool) (string, error) {
	if p.Pod != "" {
		pod, ok := s.Pod(p.Namespace, p.Pod)
		if !ok {
			return "", fmt.Errorf("pod %s/%s not in Spec", p.Namespace, p.Pod)
		}
		return pod.Namespace + "/" + pod.WorkloadName, nil
	}
	if p.Entity == "" {
		return "", fmt.Errorf("peer %+v has neither pod nor entity", p)
	}
	if withIP {
		return p.Entity + ":" + p.IP, nil
	}
	return p.Entity, nil
}

func endpointKey(s Spec, ep *flowpb.Endpoint, ip string, withIP bool) string {
	if ep.GetPodName() != "" {
		pod, ok := s.Pod(ep.GetNamespace(), ep.GetPodName())
		if !ok {
			return "unknown-pod:" + ep.GetNamespace() + "/" + ep.GetPodName()
		}
		return pod.Namespace + "/" + pod.WorkloadName
	}
	entity := "unknown"
	for _, l := range ep.GetLabels() {
		if e, ok := strings.CutPrefix(l, "reserved:"); ok {
			entity = e
		}
	}
	if withIP {
		return entity + ":" + ip
	}
	return entity
}

// isRequest says whether f shows the opening side of a connection that
// was let through (FORWARDED or AUDIT), the way the design notes define it.
func isRequest(f *flowpb.Flow) bool {
	if f.GetVerdict() != flowpb.Verdict_FORWARDED && f.GetVerdict() != flowpb.Verdict_AUDIT {
		return false
	}
	switch f.GetEventType().GetType() {
	case 4, 5, 129:
	default:
		return false
	}
	if f.GetIsReply() != nil {
		return !f.GetIsReply().GetValue()
	}
	if f.GetReply() {
		return false
	}
	switch {
	case f.GetL7() != nil:
		return f.GetL7().GetType() == flowpb.L7FlowType_REQUEST
	case f.GetL4().GetTCP() != nil:
		fl := f.GetL4().GetTCP().GetFlags()
		return fl.GetSYN() && !fl.GetACK()
	case f.GetL4().GetICMPv4() != nil:
		return f.GetL4().GetICMPv4().GetType() == 8
	}
	return true
}

func protoPort(f *flowpb.Flow) (string, int) {
	l4 := f.GetL4()
	switch {
	case l4.GetTCP() != nil:
		return "TCP", int(l4.GetTCP().GetDestinationPort())
	case l4.GetUDP() != nil:
		return "UDP", int(l4.GetUDP().GetDestinationPort())
	case l4.GetSCTP() != nil:
		return "SCTP", int(l4.GetSCTP().GetDestinationPort())
	case l4.GetICMPv4() != nil:
		return "ICMPv4", 0
	}
	return "?", 0
}

// requestEdges indexes the request flows by "src|dst|proto|port" (world
// sources without IP, other entities with it) → times seen.
func requestEdges(t *testing.T, s Spec, lines []line) map[string][]time.Time {
	t.Helper()
	out := map[string][]time.Time{}
	for _, l := range lines {
		f := l.flow
		if f == nil || !isRequest(f) {
			continue
		}
		src := endpointKey(s, f.GetSource(), f.GetIP().GetSource(), true)
		if strings.HasPrefix(src, "world:") {
			src = "world"
		}
		dst := endpointKey(s, f.GetDestination(), f.GetIP().GetDestination(), true)
		proto, port := protoPort(f)
		k := fmt.Sprintf("%s|%s|%s|%d", src, dst, proto, port)
		out[k] = append(out[k], f.GetTime().AsTime())
	}
	return out
}

func probeKey(s Spec, p Probe) (string, error) {
	src, err := peerKey(s, p.Src, p.Src.Entity != EntityWorld)
	if err != nil {
		return "", err
	}
	dst, err := peerKey(s, p.Dst, true)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s|%s|%s|%d", src, dst, p.Proto, p.Port), nil
}

func appNamespaces() map[string]bool {
	return map[string]bool{"shop": true, "payments": true, "data": true, "monitoring": true, "shop-staging": true}
}

func TestProbesConsistent(t *testing.T) {
	s := Cluster()
	appNS := appNamespaces()
	edges := requestEdges(t, s, parseAll(t))
	names := map[string]bool{}
	all := append(Expected(), Inexpressible()...)
	var allowed, denied int
	for _, p := range all {
		if names[p.Name] {
			t.Errorf("duplicate probe name %q", p.Name)
		}
		names[p.Name] = true
		if p.Why == "" {
			t.Errorf("%s: no Why", p.Name)
		}
		switch p.Proto {
		case "TCP", "UDP", "SCTP":
			if p.Port <= 0 || p.Port > 65535 {
				t.Errorf("%s: bad port", p.Name)
			}
		case "ICMPv4":
		default:
			t.Errorf("%s: bad protocol %q", p.Name, p.Proto)
		}
		for _, end := range []Peer{p.Src, p.Dst} {
			if end.Pod != "" {
				if _, ok := s.Pod(end.Namespace, end.Pod); !ok {
					t.Errorf("%s: pod %s/%s not in Spec", p.Name, end.Namespace, end.Pod)
				}
				if end.IP != "" || end.Entity != "" {
					t.Errorf("%s: pod peer with IP/entity", p.Name)
				}
			} else {
				switch end.Entity {
				case EntityWorld, EntityHost, EntityRemoteNode, EntityKubeAPIServer:
				default:
					t.Errorf("%s: bad entity %q", p.Name, end.Entity)
				}
				if _, err := netip.ParseAddr(end.IP); err != nil {
					t.Errorf("%s: non-pod peer without a valid IP: %v", p.Name, err)
				}
			}
		}
		k, err := probeKey(s, p)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		seen := len(edges[k]) > 0
		if p.Allowed {
			allowed++
			inApp := appNS[p.Src.Namespace] || appNS[p.Dst.Namespace]
			if inApp && !seen {
				t.Errorf("allowed probe %s: edge %s never appears as a request flow", p.Name, k)
			}
			continue
		}
		denied++
		// Denied probes are never observed as requests, except the two
		// observed-but-refused cases.
		observedButDenied := (p.Src.Namespace == "shop-staging" && p.Dst.Namespace == "shop" && p.Dst.Pod != "") ||
			(p.Dst.IP == MetadataIP && p.Src.Namespace == "payments")
		if seen != observedButDenied {
			t.Errorf("denied probe %s: observed as request = %v, want %v", p.Name, seen, observedButDenied)
		}
	}
	if allowed < 40 || denied < 15 {
		t.Errorf("%d allowed and %d denied probes: too few", allowed, denied)
	}
	// Every observed request edge between application workloads (pods on
	// both sides, not kubelet/ICMP) is covered by an Allowed probe.
	covered := map[string]bool{}
	for _, p := range all {
		if k, err := probeKey(s, p); err == nil && p.Allowed {
			covered[k] = true
		}
	}
	for k := range edges {
		parts := strings.Split(k, "|")
		src, dst := parts[0], parts[1]
		srcNS, _, _ := strings.Cut(src, "/")
		dstNS, _, _ := strings.Cut(dst, "/")
		if !appNS[srcNS] && !appNS[dstNS] {
			continue
		}
		if strings.HasPrefix(src, "host:") { // kubelet probes need no rule
			continue
		}
		if strings.Contains(k, "shop-staging/frontend|shop/cart|") || strings.Contains(k, "world:"+MetadataIP) {
			continue // observed but denied
		}
		if !covered[k] {
			t.Errorf("observed request edge %s has no Allowed probe", k)
		}
	}
}

func TestTimeCoverage(t *testing.T) {
	s := Cluster()
	start, end := Window()
	q1, q4 := start.Add(6*time.Hour), end.Add(-6*time.Hour)
	staging := StagingSince()
	lines := parseAll(t)
	for k, ts := range requestEdges(t, s, lines) {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		if ts[0].Before(start) || ts[len(ts)-1].After(end) {
			t.Errorf("%s: outside the window", k)
		}
		if strings.Contains(k, "shop-staging/") {
			if ts[0].Before(staging) {
				t.Errorf("%s: staging edge seen at %s, before %s", k, ts[0], staging)
			}
			continue
		}
		if !ts[0].Before(q1) || !ts[len(ts)-1].After(q4) {
			t.Errorf("%s: first %s, last %s: want one in each of the first and last quarters", k, ts[0], ts[len(ts)-1])
		}
	}
	for _, l := range lines {
		if l.resp != nil && l.flow != nil && !l.resp.GetTime().AsTime().Equal(l.flow.GetTime().AsTime()) {
			t.Errorf("%s:%d: wrapper time differs from flow time", l.file, l.no)
		}
	}
}

func TestShapes(t *testing.T) {
	lines := parseAll(t)
	count := map[string]int{}
	uuids := map[string]int{}
	for _, l := range lines {
		f := l.flow
		if l.resp != nil && l.resp.GetLostEvents() != nil {
			count[l.file+" lost_events"]++
		}
		if l.resp != nil && l.resp.GetNodeStatus() != nil {
			count[l.file+" node_status"]++
		}
		if f == nil {
			continue
		}
		hasWorkloads := len(f.GetSource().GetWorkloads())+len(f.GetDestination().GetWorkloads()) > 0
		switch l.file {
		case FileNodeA:
			if f.GetUuid() == "" || f.GetEmitter() == nil || len(f.GetNodeLabels()) == 0 {
				t.Errorf("%s:%d: exporter flow lacks uuid/emitter/node_labels", l.file, l.no)
			}
			uuids[f.GetUuid()]++
			if f.GetNodeName() != "node-a" || l.resp.GetNodeName() != "node-a" {
				t.Errorf("%s:%d: wrong node", l.file, l.no)
			}
			if hasWorkloads {
				count["a workloads"]++
			}
		case FileNodeB:
			if f.GetUuid() != "" || hasWorkloads {
				t.Errorf("%s:%d: observe-shaped flow has uuid or workloads", l.file, l.no)
			}
			if f.GetNodeName() != "node-b" {
				t.Errorf("%s:%d: wrong node", l.file, l.no)
			}
		case FileNodeC:
			if f.GetUuid() != "" || hasWorkloads || f.GetIsReply() != nil {
				t.Errorf("%s:%d: legacy flow has uuid, workloads or is_reply", l.file, l.no)
			}
			if f.GetNodeName() != "node-c" {
				t.Errorf("%s:%d: wrong node", l.file, l.no)
			}
			if f.GetReply() {
				count["c reply"]++
			}
			if fl := f.GetL4().GetTCP().GetFlags(); fl != nil && fl.GetACK() && !fl.GetSYN() {
				count["c plain ack"]++
			}
		}
		if f.GetIsReply() != nil && f.GetIsReply().GetValue() != f.GetReply() {
			t.Errorf("%s:%d: is_reply and reply disagree", l.file, l.no)
		}
		if f.GetVerdict() == flowpb.Verdict_DROPPED {
			count[f.GetDropReasonDesc().String()]++
		}
		if f.GetVerdict() == flowpb.Verdict_TRANSLATED && f.GetEventType().GetType() == 7 {
			count["translated"]++
		}
		if f.GetVerdict() == flowpb.Verdict_AUDIT && f.GetEventType().GetType() == 5 {
			count["audit"]++
		}
		if f.GetL7().GetDns() != nil {
			count["l7 dns"]++
		}
		for _, ep := range []*flowpb.Endpoint{f.GetSource(), f.GetDestination()} {
			for _, lb := range ep.GetLabels() {
				for _, bad := range []string{"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io", "controller-uid"} {
					if strings.Contains(lb, bad) {
						t.Errorf("%s:%d: label %s is not identity-relevant in Cilium", l.file, l.no, lb)
					}
				}
			}
		}
		if names := f.GetDestinationNames(); len(names) > 0 {
			if f.GetIP().GetDestination() != StripeIP || names[0] != "api.stripe.com" {
				t.Errorf("%s:%d: unexpected destination_names %v", l.file, l.no, names)
			}
			count["stripe names"]++
		}
		for _, port := range []uint32{f.GetL4().GetTCP().GetDestinationPort(), f.GetL4().GetUDP().GetDestinationPort()} {
			if port != 0 && isRequest(f) && f.GetEventType().GetType() != 7 && (port < 53 || (port >= 32768 && port <= 60999)) {
				t.Errorf("%s:%d: request to odd port %d", l.file, l.no, port)
			}
		}
	}
	var dups int
	for _, n := range uuids {
		if n > 1 {
			dups += n - 1
		}
	}
	if dups != 1 {
		t.Errorf("node-a: %d repeated uuids, want exactly 1 relay resend", dups)
	}
	for _, k := range []string{
		FileNodeA + " lost_events", FileNodeB + " lost_events", FileNodeB + " node_status",
		"a workloads", "c reply", "c plain ack", "POLICY_DENIED", "INVALID_SOURCE_IP",
		"translated", "audit", "l7 dns", "stripe names",
	} {
		if count[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
}

// TestDeniedAttempt checks the shape of the denied attempt: every SYN
// forwarded by the client's node is dropped by the server's node with the
// same 5-tuple, and nothing answers.
func TestDeniedAttempt(t *testing.T) {
	s := Cluster()
	lines := parseAll(t)
	tuple := func(f *flowpb.Flow) string {
		return fmt.Sprintf("%s:%d>%s:%d", f.GetIP().GetSource(), f.GetL4().GetTCP().GetSourcePort(), f.GetIP().GetDestination(), f.GetL4().GetTCP().GetDestinationPort())
	}
	fwd, drops, replies := map[string]int{}, map[string]int{}, map[string]int{}
	for _, l := range lines {
		f := l.flow
		if f == nil || f.GetL4().GetTCP() == nil {
			continue
		}
		src := endpointKey(s, f.GetSource(), "", false)
		dst := endpointKey(s, f.GetDestination(), "", false)
		switch {
		case src == "shop-staging/frontend" && dst == "shop/cart":
			switch f.GetVerdict() {
			case flowpb.Verdict_FORWARDED:
				if f.GetEventType().GetType() != 4 || f.GetTrafficDirection() != flowpb.TrafficDirection_EGRESS || f.GetReply() || !f.GetL4().GetTCP().GetFlags().GetSYN() {
					t.Errorf("%s:%d: client-side trace of the denied attempt malformed", l.file, l.no)
				}
				if f.GetIsReply() != nil && f.GetIsReply().GetValue() {
					t.Errorf("%s:%d: is_reply true on a SYN", l.file, l.no)
				}
				fwd[tuple(f)]++
			case flowpb.Verdict_DROPPED:
				if f.GetDropReasonDesc() != flowpb.DropReason_POLICY_DENIED || f.GetEventType().GetType() != 1 || f.GetEventType().GetSubType() != 133 {
					t.Errorf("%s:%d: drop malformed", l.file, l.no)
				}
				drops[tuple(f)]++
			default:
				t.Errorf("%s:%d: unexpected verdict %s", l.file, l.no, f.GetVerdict())
			}
		case src == "shop/cart" && dst == "shop-staging/frontend":
			replies[tuple(f)]++
		}
	}
	if len(fwd) < 3 {
		t.Fatalf("only %d denied attempts", len(fwd))
	}
	for k, n := range fwd {
		if drops[k] != n {
			t.Errorf("%s: %d forwarded SYNs, %d drops", k, n, drops[k])
		}
	}
	if len(replies) > 0 {
		t.Errorf("denied attempts were answered: %v", replies)
	}
}
