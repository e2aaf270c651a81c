package calico_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// captures returns ../shared/captures/calico-flowlogs, searched upwards.
func captures(t *testing.T) string {
	t.Helper()
	if p, ok := testsupport.FindCaptures("calico-flowlogs"); ok {
		return p
	}
	t.Skip("shared/captures/calico-flowlogs not found above the package directory: skipping")
	return ""
}

func read(t *testing.T, path string, strict bool) ([]record.Record, *collectors.Stats, error) {
	t.Helper()
	var recs []record.Record
	st, err := collectorstest.Run(t, path, collectors.FormatCalicoFlowLog, calico.NewFileSource, collectors.Options{Strict: strict, Workers: 2}, func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	})
	return recs, st, err
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCaptures(t *testing.T) {
	dir := captures(t)
	pod := func(ns, name string, agg bool) record.Endpoint {
		return record.Endpoint{Namespace: ns, Pod: name, Aggregated: agg}
	}
	for _, tc := range []struct {
		file     string
		src, dst record.Endpoint
		port     uint16
		verdict  record.Verdict
		reporter record.Reporter
		count    uint64
		at       time.Time
		skip     string
		deniedBy string
	}{
		{file: "docs-example-noaggregation.jsonl", src: pod("policy-demo", "access-6b687c8dcb-zn5s2", false), dst: pod("policy-demo", "nginx-86c57db685-h6792", false),
			port: 80, verdict: record.Forwarded, reporter: record.ReporterDst, count: 1, at: time.Unix(1597166083, 0)},
		{file: "docs-example-podprefix.jsonl", src: pod("policy-demo", "access-6b687c8dcb-*", true), dst: pod("policy-demo", "nginx-86c57db685-*", true),
			port: 80, verdict: record.Forwarded, reporter: record.ReporterDst, count: 47, at: time.Unix(1597086849, 0)},
		{file: "felix-flows-log-deny.jsonl", src: pod("default", "multitool", false), dst: pod("hipstershop", "checkoutservice-598d5b586d-wsvmz", false),
			port: 5050, verdict: record.Dropped, reporter: record.ReporterDst, count: 1, at: time.Unix(1659621542, 0),
			// the end-of-tier deny (rule -1) of the tier's policy, after a pass
			deniedBy: "hipstershop/app-hipstershop.checkoutservice"},
		{file: "elasticsearch-doc-net-source.jsonl", skip: calico.SkipNoPort},
	} {
		t.Run(tc.file, func(t *testing.T) {
			recs, st, err := read(t, filepath.Join(dir, tc.file), true)
			if err != nil {
				t.Fatal(err)
			}
			if tc.skip != "" {
				if len(recs) != 0 || st.Skipped[tc.skip] != 1 {
					t.Errorf("records %v, skipped %v: want the record skipped as %q", recs, st.Skipped, tc.skip)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			if r.Src.Namespace != tc.src.Namespace || r.Src.Pod != tc.src.Pod || r.Src.Aggregated != tc.src.Aggregated ||
				r.Dst.Namespace != tc.dst.Namespace || r.Dst.Pod != tc.dst.Pod || r.Dst.Aggregated != tc.dst.Aggregated {
				t.Errorf("endpoints %+v -> %+v", r.Src, r.Dst)
			}
			if r.Dst.Port != tc.port || r.Proto != record.TCP || r.Verdict != tc.verdict || r.Reporter != tc.reporter || r.Flows() != tc.count ||
				!r.Time.Equal(tc.at) || r.Direction != record.Request {
				t.Errorf("record %+v: want TCP/%d %s reporter %s, %d flows at %s", r, tc.port, tc.verdict, tc.reporter, tc.count, tc.at)
			}
			if r.Verdict == record.Dropped && !r.PolicyDrop {
				t.Errorf("a deny is a policy drop")
			}
			if r.DeniedBy != tc.deniedBy {
				t.Errorf("denied by %q, want %q", r.DeniedBy, tc.deniedBy)
			}
			if r.Src.Labels["pod-template-hash"] == "" && strings.Contains(tc.file, "docs") {
				t.Errorf("labels not read: %v", r.Src.Labels)
			}
		})
	}
}

// flowLog renders one flow-log line; kv overrides fields ("null" allowed).
func flowLog(kv ...string) string {
	f := map[string]string{
		"start_time": "1763251200", "end_time": "1763251500", "source_ip": `"10.244.1.10"`, "source_name": `"frontend-6b7d9c4f5-x2x7q"`,
		"source_name_aggr": `"frontend-6b7d9c4f5-*"`, "source_namespace": `"shop"`, "source_port": "null", "source_type": `"wep"`,
		"source_labels": `{"labels":["app=frontend","pod-template-hash=6b7d9c4f5"]}`,
		"dest_ip":       `"10.244.2.20"`, "dest_name": `"cart-5d8f9b7c4-k2l4m"`, "dest_name_aggr": `"cart-5d8f9b7c4-*"`, "dest_namespace": `"shop"`,
		"dest_port": "8080", "dest_type": `"wep"`, "dest_labels": `{"labels":["app=cart","pod-template-hash=5d8f9b7c4"]}`,
		"dest_service_namespace": `"shop"`, "dest_service_name": `"cart"`, "dest_service_port": `"http"`, "dest_service_port_num": "80",
		"proto": `"tcp"`, "action": `"allow"`, "reporter": `"src"`, "num_flows": "1", "host": `"node-a"`,
	}
	order := []string{"start_time", "end_time", "source_ip", "source_name", "source_name_aggr", "source_namespace", "source_port", "source_type",
		"source_labels", "dest_ip", "dest_name", "dest_name_aggr", "dest_namespace", "dest_port", "dest_type", "dest_labels", "dest_service_namespace",
		"dest_service_name", "dest_service_port", "dest_service_port_num", "proto", "action", "reporter", "num_flows", "host"}
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := f[kv[i]]; !ok {
			order = append(order, kv[i])
		}
		f[kv[i]] = kv[i+1]
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%q:%s", k, f[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// prefixAggregated is a line at Felix's default aggregation for allowed
// flows (by pod prefix: names "-", IPs null).
func prefixAggregated(kv ...string) string {
	return flowLog(append([]string{"source_ip", "null", "source_name", `"-"`, "dest_ip", "null", "dest_name", `"-"`}, kv...)...)
}

func learn(t *testing.T, paths ...string) *learner.Graph {
	t.Helper()
	l := learner.New(learner.Options{})
	for _, p := range paths {
		recs, _, err := read(t, p, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			l.Add(&recs[i])
		}
	}
	return l.Graph()
}

var cartEdge = learner.EdgeKey{Src: "pod:shop/frontend", Dst: "pod:shop/cart", Proto: record.TCP, Port: 8080}

// TestReporterMerge: the two reporters of one connection count once, and
// a src allow with a dst deny is a denied attempt — also when the two nodes
// aggregate differently and their records are in different files.
func TestReporterMerge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		files       [][]string
		flows       uint64
		denied      bool
		deniedFlows uint64
	}{
		{"src and dst reporter of 5 connections count 5", [][]string{{flowLog("num_flows", "5"), flowLog("num_flows", "5", "reporter", `"dst"`, "host", `"node-b"`)}}, 5, false, 0},
		{"only the src reporter (destination's logs missing)", [][]string{{flowLog("num_flows", "4")}}, 4, false, 0},
		{"reporters in two files (one per node)", [][]string{{flowLog("num_flows", "2")}, {flowLog("num_flows", "2", "reporter", `"dst"`, "host", `"node-b"`)}}, 2, false, 0},
		{"reporters disagree: the larger count", [][]string{{flowLog("num_flows", "2"), flowLog("num_flows", "3", "reporter", `"dst"`)}}, 3, false, 0},
		{"different hours count apart", [][]string{{flowLog("num_flows", "2"), flowLog("num_flows", "2", "reporter", `"dst"`, "start_time", "1763254800")}}, 4, false, 0},
		{"src allow + dst deny = 3 denied attempts, not 6", [][]string{{flowLog("num_flows", "3"), flowLog("num_flows", "3", "reporter", `"dst"`, "action", `"deny"`)}}, 0, true, 3},
		{"the dst deny read before the src allow", [][]string{{flowLog("num_flows", "3", "reporter", `"dst"`, "action", `"deny"`), flowLog("num_flows", "3")}}, 0, true, 3},
		{"src allow (prefix-aggregated, no IPs) + dst deny (IPs kept): still denied", [][]string{{prefixAggregated("num_flows", "3")},
			{flowLog("num_flows", "3", "reporter", `"dst"`, "action", `"deny"`)}}, 0, true, 3},
		{"a connection the destination allowed makes the edge learned (1 flowed, 1 denied)", [][]string{{flowLog(), flowLog("reporter", `"dst"`, "action", `"deny"`),
			prefixAggregated("reporter", `"dst"`, "start_time", "1763258400")}}, 1, false, 0},
		{"src allow 5, dst allow 3 + deny 2: 3 flowed", [][]string{{flowLog("num_flows", "5"), flowLog("num_flows", "3", "reporter", `"dst"`),
			flowLog("num_flows", "2", "reporter", `"dst"`, "action", `"deny"`)}}, 3, false, 0},
		{"a src deny (egress policy) adds to the dst's verdicts", [][]string{{flowLog("num_flows", "2", "action", `"deny"`), flowLog("num_flows", "4"),
			flowLog("num_flows", "4", "reporter", `"dst"`)}}, 4, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for i, lines := range tc.files {
				paths = append(paths, write(t, fmt.Sprintf("flows-%d.log", i), strings.Join(lines, "\n")+"\n"))
			}
			g := learn(t, paths...)
			e, learned := g.Edges[cartEdge]
			d, denied := g.Denied[cartEdge]
			if denied != tc.denied || learned == tc.denied {
				t.Fatalf("learned %v, denied %v: want denied=%v", learned, denied, tc.denied)
			}
			if learned && e.Flows != tc.flows {
				t.Errorf("flows = %d, want %d", e.Flows, tc.flows)
			}
			if denied && (d.Flows != 0 || d.Dropped != tc.deniedFlows || g.Stats.DeniedFlows != tc.deniedFlows) {
				t.Errorf("denied edge: flows %d, dropped %d, stats %d denied attempts; want 0, %d, %d", d.Flows, d.Dropped, g.Stats.DeniedFlows,
					tc.deniedFlows, tc.deniedFlows)
			}
			if g.Stats.Requests != tc.flows+tc.deniedFlows+dropsOf(e) {
				t.Errorf("requests %d: want each connection once", g.Stats.Requests)
			}
		})
	}
}

// dropsOf is a learned edge's denied requests (0 for none).
func dropsOf(e *learner.Edge) uint64 {
	if e == nil {
		return 0
	}
	return e.Dropped
}

// TestEndpoints: what each endpoint type becomes.
func TestEndpoints(t *testing.T) {
	hubblePod := record.Endpoint{Namespace: "shop", Pod: "frontend-6b7d9c4f5-x2x7q", Labels: map[string]string{"app": "frontend", "pod-template-hash": "6b7d9c4f5"}}
	for _, tc := range []struct {
		name  string
		line  string
		check func(t *testing.T, g *learner.Graph)
	}{
		{"aggregated prefix is the same workload as a Hubble pod name", prefixAggregated(), func(t *testing.T, g *learner.Graph) {
			l := learner.New(learner.Options{})
			l.Add(&record.Record{Src: hubblePod, Dst: record.Endpoint{Entity: record.EntityWorld, IP: netip.MustParseAddr("198.51.100.1"), Port: 443},
				Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
			hg := l.Graph()
			if hg.Nodes["pod:shop/frontend"] == nil || g.Nodes["pod:shop/frontend"] == nil {
				t.Errorf("nodes: hubble %v, calico %v: want pod:shop/frontend in both", keys(hg.Nodes), keys(g.Nodes))
			}
		}},
		{"pub without address: reported, never an ipBlock", flowLog("dest_ip", "null", "dest_name", `"-"`, "dest_name_aggr", `"pub"`, "dest_namespace", `"-"`,
			"dest_type", `"net"`, "dest_port", "443", "dest_labels", "null", "dest_domains", `["api.stripe.com"]`), func(t *testing.T, g *learner.Graph) {
			if len(g.Edges) != 0 || len(g.Unaddressed) != 1 {
				t.Fatalf("edges %v unaddressed %v", g.Edges, g.Unaddressed)
			}
			for _, u := range g.Unaddressed {
				if u.Peer != "pub" || u.Port != 443 || u.Direction != learner.DirEgress || len(u.Names) != 1 {
					t.Errorf("unaddressed %+v", u)
				}
			}
			if g.Stats.Skipped[learner.SkipUnaddressed] != 1 {
				t.Errorf("skipped %v: the summary must say it", g.Stats.Skipped)
			}
		}},
		{"pub with an address: learned by IP with its dest_domains", flowLog("dest_ip", `"198.51.100.10"`, "dest_name", `"-"`, "dest_name_aggr", `"pub"`,
			"dest_namespace", `"-"`, "dest_type", `"net"`, "dest_port", "443", "dest_domains", `["api.stripe.com"]`), func(t *testing.T, g *learner.Graph) {
			n := g.Nodes["ip:198.51.100.10"]
			if n == nil || len(n.Names) != 1 || n.Names[0] != "api.stripe.com" {
				t.Errorf("node %+v: want ip:198.51.100.10 named api.stripe.com", n)
			}
		}},
		{"dest_port (post-DNAT) is learned, never dest_service_port", flowLog("dest_port", "8080", "dest_service_port_num", "80"), func(t *testing.T, g *learner.Graph) {
			if g.Edges[cartEdge] == nil {
				t.Errorf("edges %v: want port 8080", g.Edges)
			}
		}},
		{"API server behind default/kubernetes", flowLog("dest_ip", `"10.0.0.1"`, "dest_name", `"-"`, "dest_name_aggr", `"pvt"`, "dest_namespace", `"-"`,
			"dest_type", `"net"`, "dest_port", "6443", "dest_service_namespace", `"default"`, "dest_service_name", `"kubernetes"`), func(t *testing.T, g *learner.Graph) {
			if g.Nodes["entity:kube-apiserver/10.0.0.1"] == nil {
				t.Errorf("nodes %v: want entity:kube-apiserver/10.0.0.1", keys(g.Nodes))
			}
		}},
		{"host endpoint of the reporting node is the host", flowLog("source_type", `"hep"`, "source_name", `"node-b-auto-hep"`, "source_name_aggr", `"node-b-auto-hep"`,
			"source_namespace", `"-"`, "source_ip", `"10.244.2.1"`, "reporter", `"dst"`, "host", `"node-b"`), func(t *testing.T, g *learner.Graph) {
			if g.Nodes["entity:host/10.244.2.1"] == nil {
				t.Errorf("nodes %v: want entity:host/10.244.2.1", keys(g.Nodes))
			}
		}},
		{"NetworkSet without address", flowLog("dest_ip", "null", "dest_name", `"-"`, "dest_name_aggr", `"partners"`, "dest_namespace", `"shop"`,
			"dest_type", `"ns"`, "dest_port", "443"), func(t *testing.T, g *learner.Graph) {
			for _, u := range g.Unaddressed {
				if u.Peer != "NetworkSet shop/partners" {
					t.Errorf("peer %q", u.Peer)
				}
			}
			if len(g.Unaddressed) != 1 {
				t.Errorf("unaddressed %v", g.Unaddressed)
			}
		}},
		{"ICMP has no port", flowLog("proto", `"icmp"`, "dest_port", "null"), func(t *testing.T, g *learner.Graph) {
			if g.Edges[learner.EdgeKey{Src: "pod:shop/frontend", Dst: "pod:shop/cart", Proto: record.ICMPv4}] == nil {
				t.Errorf("edges %v", g.Edges)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, learn(t, write(t, "flows.log", tc.line+"\n")))
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestShapes: every wrapping of the same documents reads the same.
func TestShapes(t *testing.T) {
	a, b := flowLog(), flowLog("reporter", `"dst"`)
	for _, tc := range []struct {
		name, content string
		want          int
		skipped       string
	}{
		{"Felix JSON lines", a + "\n" + b + "\n", 2, ""},
		{"Elasticsearch _source lines", `{"_index":"tigera_secure_ee_flows.c.20261116","_id":"1","_source":` + a + "}\n" + `{"_source":` + b + "}\n", 2, ""},
		{"search response on one line", `{"took":3,"hits":{"total":{"value":2},"hits":[{"_source":` + a + `},{"_source":` + b + "}]}}\n", 2, ""},
		{"search response pretty-printed", "{\n  \"took\": 3,\n  \"hits\": {\n    \"hits\": [\n      {\n        \"_source\": " + a + "\n      },\n      {\"_source\": " + b + "}\n    ]\n  }\n}\n", 2, ""},
		{"JSON array of documents", "[" + a + ",\n" + b + "]\n", 2, ""},
		{"search response without hits, then one", `{"hits":{"hits":[]}}` + "\n" + `{"hits":{"hits":[{"_source":` + a + "}]}}\n", 1, calico.SkipEmptyResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, st, err := read(t, write(t, "in.json", tc.content), true)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.want {
				t.Errorf("%d records, want %d", len(recs), tc.want)
			}
			if tc.skipped != "" && st.Skipped[tc.skipped] != 1 {
				t.Errorf("skipped %v, want %q", st.Skipped, tc.skipped)
			}
		})
	}
}

// TestBadInput: a malformed line is a warning with file:line (fatal with
// --strict); a truncated last line is normal.
func TestBadInput(t *testing.T) {
	good := flowLog()
	for _, tc := range []struct {
		name, content   string
		malformed, trun uint64
		records         int
		strictLine      int
	}{
		{"wrong type in the middle", good + "\n" + flowLog("dest_port", `"http"`) + "\n" + good + "\n", 1, 0, 2, 2},
		{"port out of range", good + "\n" + flowLog("dest_port", "70000") + "\n", 1, 0, 1, 2},
		{"not a flow log", good + "\n" + `{"apiVersion":"v1","kind":"Pod"}` + "\n" + good + "\n", 1, 0, 2, 2},
		{"bad reporter", flowLog("reporter", `"both"`) + "\n" + good + "\n", 1, 0, 1, 1},
		{"truncated last line", good + "\n" + good[:len(good)/2], 0, 1, 1, 0},
		{"truncated pretty document", "{\n \"hits\": {\"hits\": [{\"_source\": " + good + "}", 0, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "flows.log", tc.content)
			recs, st, err := read(t, p, false)
			if err != nil {
				t.Fatal(err)
			}
			if st.Malformed != tc.malformed || st.Truncated != tc.trun || len(recs) != tc.records {
				t.Errorf("malformed %d truncated %d records %d: want %d %d %d", st.Malformed, st.Truncated, len(recs), tc.malformed, tc.trun, tc.records)
			}
			_, _, err = read(t, p, true)
			var lerr *collectors.LineError
			switch {
			case tc.strictLine == 0 && err != nil:
				t.Errorf("--strict: %v", err)
			case tc.strictLine != 0 && (!errors.As(err, &lerr) || lerr.Line != tc.strictLine || !strings.Contains(err.Error(), p+":")):
				t.Errorf("--strict: error %v, want %s:%d", err, p, tc.strictLine)
			}
		})
	}
}
