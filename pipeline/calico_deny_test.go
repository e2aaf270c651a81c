package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// felixLine is one Felix flows.log line in the shape of the captured
// felix-flows-log-deny.jsonl (Calico Enterprise; the same fields in the same
// order): connection conn of policy-demo/access calling policy-demo/nginx on
// port 80, as reporter rep saw it, with action and the policies field's
// entries.
func felixLine(conn int, rep, action string, policies ...string) string {
	host := "node-a"
	if rep == "dst" {
		host = "node-b"
	}
	q := make([]string, len(policies))
	for i, p := range policies {
		b, _ := json.Marshal(p)
		q[i] = string(b)
	}
	return fmt.Sprintf(`{"start_time":1659621542,"end_time":1659621842,"source_ip":"10.48.116.157","source_name":"access-6b687c8dcb-zn5s2",`+
		`"source_name_aggr":"access-6b687c8dcb-*","source_namespace":"policy-demo","nat_outgoing_ports":null,"source_port":%d,"source_type":"wep",`+
		`"source_labels":{"labels":["app=access","pod-template-hash=6b687c8dcb"]},"dest_ip":"10.48.127.224","dest_name":"nginx-86c57db685-h6792",`+
		`"dest_name_aggr":"nginx-86c57db685-*","dest_namespace":"policy-demo","dest_port":80,"dest_type":"wep",`+
		`"dest_labels":{"labels":["app=nginx","pod-template-hash=86c57db685"]},"dest_service_namespace":"-","dest_service_name":"-",`+
		`"dest_service_port":"-","dest_service_port_num":null,"proto":"tcp","action":%q,"reporter":%q,"policies":{"all_policies":[%s]},`+
		`"bytes_in":300,"bytes_out":0,"num_flows":1,"num_flows_started":1,"num_flows_completed":1,"packets_in":5,"packets_out":0,`+
		`"http_requests_allowed_in":0,"http_requests_denied_in":0,"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0,`+
		`"process_args":["-"],"num_process_args":0,"original_source_ips":null,"num_original_source_ips":0,"host":%q}`,
		40000+conn, action, rep, strings.Join(q, ","), host)
}

const denyNginx = "0|default|default.deny-access-nginx|deny|0"

// connections writes the flow logs of n connections, each reported by the
// source (allowed) and by the destination: the first allowed ones allowed,
// the rest denied by the policy entries deny.
func connections(t *testing.T, n, allowed int, deny ...string) string {
	t.Helper()
	var src, dst bytes.Buffer
	for i := range n {
		src.WriteString(felixLine(i, "src", "allow", "0|default|policy-demo/default.allow-egress|allow|0") + "\n")
		if i < allowed {
			dst.WriteString(felixLine(i, "dst", "allow", "0|default|policy-demo/default.allow-nginx|allow|0") + "\n")
		} else {
			dst.WriteString(felixLine(i, "dst", "deny", deny...) + "\n")
		}
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"node-a.log": src.Bytes(), "node-b.log": dst.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "*.log")
}

// generate learns from, renders it in format and returns the graph, the
// tree and the run summary as printed.
func generate(t *testing.T, from string, learnDropped bool, format string) (*learner.Graph, map[string][]byte, string) {
	t.Helper()
	g, sum, err := pipeline.Learn(context.Background(), []string{from}, pipeline.LearnOptions{Learn: learner.Options{LearnDropped: learnDropped}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, tree, err := pipeline.Render(g, synth.Options{}, format)
	if err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	var out bytes.Buffer
	pipeline.PrintSummary(&out, sum, g, set, "out")
	return g, tree, out.String()
}

var nginxEdge = learner.EdgeKey{Src: "pod:policy-demo/access", Dst: "pod:policy-demo/nginx", Proto: 1, Port: 80}

// TestCalicoDeniedAttemptCountedOnce: 50 connections the source allowed and
// the destination denied are one denied edge of 50 denied attempts (not
// 100), reported with the denying policy from the records' policies field.
func TestCalicoDeniedAttemptCountedOnce(t *testing.T) {
	g, tree, summary := generate(t, connections(t, 50, 0, denyNginx), false, "k8s")
	d := g.Denied[nginxEdge]
	if d == nil || len(g.Denied) != 1 || g.Edges[nginxEdge] != nil {
		t.Fatalf("denied %v, learned %v: want the one denied edge", g.Denied, g.Edges)
	}
	if d.Dropped != 50 || d.Flows != 0 || g.Stats.DeniedFlows != 50 || g.Stats.Requests != 50 {
		t.Errorf("denied edge flows %d dropped %d; stats %d requests, %d denied attempts: want 0, 50; 50, 50",
			d.Flows, d.Dropped, g.Stats.Requests, g.Stats.DeniedFlows)
	}
	if len(d.DeniedBy) != 1 || d.DeniedBy[0] != (learner.Denial{Policy: "default.deny-access-nginx", Flows: 50}) {
		t.Errorf("denied by %+v, want default.deny-access-nginx for all 50", d.DeniedBy)
	}
	if !strings.Contains(summary, "50 denied attempts") || !strings.Contains(summary, "1 denied edges") {
		t.Errorf("summary does not report 50 denied attempts on 1 edge:\n%s", summary)
	}
	want := "| denied-attempt | policy-demo | access | TCP/80 | policy-demo/nginx | 50 | dropped by existing policy default.deny-access-nginx and never answered"
	for _, f := range []string{"ROLLOUT.md", "policy-demo/FLOWS.md"} {
		if !strings.Contains(string(tree[f]), want) {
			t.Errorf("%s has no denied-attempt row naming the policy (%q):\n%s", f, want, tree[f])
		}
	}
}

// TestCalicoDeniedConnectionsOfALearnedEdge: an edge with 30 allowed and 20
// denied connections is learned, and the summary, FLOWS.md and ROLLOUT.md
// say that the existing policy (named) denied 20 connections of an edge the
// tree now admits.
func TestCalicoDeniedConnectionsOfALearnedEdge(t *testing.T) {
	g, tree, summary := generate(t, connections(t, 50, 30, denyNginx), false, "k8s")
	e := g.Edges[nginxEdge]
	if e == nil || len(g.Denied) != 0 {
		t.Fatalf("edges %v, denied %v: want the edge learned", g.Edges, g.Denied)
	}
	if e.Flows != 30 || e.Dropped != 20 || g.Stats.Requests != 50 || g.Stats.DeniedFlows != 0 {
		t.Errorf("edge flows %d dropped %d, stats %d requests %d denied attempts: want 30, 20, 50, 0", e.Flows, e.Dropped, g.Stats.Requests, g.Stats.DeniedFlows)
	}
	says := "existing policy default.deny-access-nginx denied 20 connections of an edge the tree now admits (30 flowed)"
	if !strings.Contains(summary, "! policy-demo/access -> policy-demo/nginx TCP/80: "+says) {
		t.Errorf("the summary does not say %q:\n%s", says, summary)
	}
	for _, f := range []string{"ROLLOUT.md", "policy-demo/FLOWS.md"} {
		row := "| " + policy.FindDeniedAdmitted + " | policy-demo | access | TCP/80 | policy-demo/nginx | 20 | "
		if doc := string(tree[f]); !strings.Contains(doc, row) || !strings.Contains(doc, says) {
			t.Errorf("%s has no %s finding row (%q) saying %q:\n%s", f, policy.FindDeniedAdmitted, row, says, doc)
		}
	}
	// and a run that learns the dropped connections too says the same of
	// the fully denied edge
	_, tree, summary = generate(t, connections(t, 50, 0, denyNginx), true, "k8s")
	says = "existing policy default.deny-access-nginx denied 50 connections of an edge the tree now admits (0 flowed)"
	if !strings.Contains(summary, says) || !strings.Contains(string(tree["ROLLOUT.md"]), says) {
		t.Errorf("--learn-dropped: no finding saying %q:\n%s\n%s", says, summary, tree["ROLLOUT.md"])
	}
}

// TestCalicoHostilePolicyName: a policies entry whose name is not a
// policy name (YAML, markup, control characters) is dropped: the denial is
// reported without a name and the text reaches no file of any flavor.
func TestCalicoHostilePolicyName(t *testing.T) {
	for _, name := range []string{"x\n- to: []", "<img src=x onerror=alert(1)>", "default.deny\x1b]0;pwned\x07"} {
		from := connections(t, 10, 6, "0|default|"+name+"|deny|0")
		for _, format := range []string{"k8s", "calico", "cilium"} {
			g, tree, summary := generate(t, from, false, format)
			e := g.Edges[nginxEdge]
			if e == nil || e.Dropped != 4 || len(e.DeniedBy) != 0 {
				t.Fatalf("%q: edge %+v: want 4 drops attributed to no policy", name, e)
			}
			if !strings.Contains(summary, "an existing policy (the flow source did not name it) denied 4 connections") {
				t.Errorf("%q: the summary does not report the unnamed denial:\n%s", name, summary)
			}
			var graph bytes.Buffer
			if err := g.Write(&graph); err != nil {
				t.Fatal(err)
			}
			tree["graph.json"] = graph.Bytes()
			tree["summary"] = []byte(summary)
			for path, b := range tree {
				for _, bad := range []string{"- to: []", "<img", "\x1b", "onerror", "pwned"} {
					if bytes.Contains(b, []byte(bad)) {
						t.Errorf("%q (%s): %s contains %q", name, format, path, bad)
					}
				}
			}
		}
	}
}
