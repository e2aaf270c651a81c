package diffreport_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/diffreport"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

func learn(t *testing.T, glob string, until time.Time) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{glob}, pipeline.LearnOptions{Until: until}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sampleDiff is the diff a periodic job would report for the sample: the
// committed tree was generated from the whole window, then someone changed
// data/postgres's port to 5433 by hand; the baseline graph covers only the
// first 12 hours. So: two undocumented flows (denied), two stale rules
// (5433, seen by nobody), three new edges (shop-staging started at 19:22).
//
// It returns the golden directory too, resolved before the test moves to a
// temporary directory.
func sampleDiff(t *testing.T) (*diffcheck.Diff, string) {
	t.Helper()
	glob, err := filepath.Abs("../../testdata/flows/*.json*")
	if err != nil {
		t.Fatal(err)
	}
	goldenDir := golden.Dir(t, "sample")
	full := learn(t, glob, time.Time{})
	early := learn(t, glob, time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC))
	_, tree, err := pipeline.Render(full, synth.Options{}, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	tree["data/postgres-ingress.yaml"] = []byte(strings.ReplaceAll(string(tree["data/postgres-ingress.yaml"]), "port: 5432", "port: 5433"))
	t.Chdir(t.TempDir()) // so that the report names the tree "policies", as a job in a checkout would
	if err := output.WriteTree("policies", tree); err != nil {
		t.Fatal(err)
	}
	c := diffchecktest.Checker(t, "policies", synth.Options{})
	d, err := diffcheck.Compare(full, c, early, "baseline.json", synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d, goldenDir
}

// TestGoldenMarkdown: the pull-request comment for the sample diff
// (regenerate: go test ./output/diffreport -run Golden -update).
func TestGoldenMarkdown(t *testing.T) {
	d, dir := sampleDiff(t)
	md := diffreport.Markdown(d)
	// what a reviewer must find in it, whatever the golden says
	for _, want := range []string{
		"**2 new undocumented flows**, 2 stale rules, 3 new edges, 0 vanished edges.",
		"| data | 2 | 2 | 0 | 0 |",
		"| shop-staging | 0 | 0 | 3 | 0 |",
		"| **total** | **2** | **2** | **3** | **0** |",
		"| payments/api | data/postgres | TCP/5432 | 61 | 2026-11-16 00:22:22Z | 2026-11-16 22:56:14Z | ingress isolated by data/default-deny (data/00-default-deny.yaml), data/postgres-ingress (data/postgres-ingress.yaml), no rule admits it |",
		"| data/postgres-ingress | ingress | 0 | payments/{app.kubernetes.io/name=payments-api} | TCP/5433 | `data/postgres-ingress.yaml` |",
		"| shop-staging/frontend | shop-staging/cart | TCP/8080 | 20 | 2026-11-16 19:22:47Z | 2026-11-16 23:51:44Z |",
		"```mermaid\ngraph LR\n",
		`["payments/api"] -->|"TCP/5432 · 61 flows"| n`,
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(string(md), "## kube-system") {
		t.Error("DNS edges of shop-staging are listed under kube-system")
	}
	golden.CompareFile(t, filepath.Join(dir, "report.md"), md)
}

// TestGoldenJSON: the JSON document is stable: versioned, field names
// fixed, lists sorted and never null.
func TestGoldenJSON(t *testing.T) {
	d, dir := sampleDiff(t)
	b, err := diffreport.Marshal(diffreport.NewDiffDoc(d))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"baseline", "files", "flowfenceDiff", "found", "namespaces", "newEdges", "policies", "replay", "staleRules", "totals", "undocumented", "vanishedEdges", "windowEnd", "windowStart"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("top-level fields %v, want %v", keys, want)
	}
	if doc["flowfenceDiff"] != float64(1) || doc["found"] != true {
		t.Errorf("version %v found %v", doc["flowfenceDiff"], doc["found"])
	}
	if v, ok := doc["vanishedEdges"].([]any); !ok || len(v) != 0 {
		t.Errorf("vanishedEdges = %#v, want [] (never null)", doc["vanishedEdges"])
	}
	flow := doc["undocumented"].([]any)[0].(map[string]any)
	fk := make([]string, 0, len(flow))
	for k := range flow {
		fk = append(fk, k)
	}
	slices.Sort(fk)
	wantFlow := []string{"destination", "dst", "dstNamespace", "egress", "firstSeen", "flows", "ingress", "lastSeen", "namespaces", "outcome", "port", "protocol", "reason", "source", "src", "srcNamespace"}
	if !reflect.DeepEqual(fk, wantFlow) {
		t.Errorf("flow fields %v, want %v", fk, wantFlow)
	}
	golden.CompareFile(t, filepath.Join(dir, "report.json"), b)
}

// TestVerifyJSON: verify's document lists lists, never null, and the files
// of the policies involved.
func TestVerifyJSON(t *testing.T) {
	d, _ := sampleDiff(t)
	b, err := diffreport.Marshal(diffreport.NewVerifyDoc(d.Verification))
	if err != nil {
		t.Fatal(err)
	}
	var doc diffreport.VerifyDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Passed || doc.Counts.Denied != 2 || len(doc.Denied) != 2 || doc.Uncovered == nil || doc.Policies != "policies" {
		t.Errorf("verify doc: %+v", doc)
	}
	if doc.Files["data/postgres-ingress"] != "data/postgres-ingress.yaml" || doc.Files["data/default-deny"] != "data/00-default-deny.yaml" {
		t.Errorf("files of the policies involved: %v", doc.Files)
	}
}

// TestMermaid: node ids are generated (n1, n2, … in the order the edges
// name them), unique, never a keyword; labels are quoted and escaped.
func TestMermaid(t *testing.T) {
	flows := []diffcheck.Flow{
		{Src: "pod:a/end", Dst: "pod:a.b/x", Source: `a/end "quoted"`, Destination: "a.b/x", Protocol: "TCP", Port: 80, Flows: 2},
		{Src: "pod:a/end", Dst: "pod:a_b/x", Source: `a/end "quoted"`, Destination: "a_b/<x>", Protocol: "ICMPv4", Flows: 1},
	}
	got := diffreport.Mermaid(flows)
	want := "```mermaid\ngraph LR\n" +
		`  n1["a/end #quot;quoted#quot;"] -->|"TCP/80 · 2 flows"| n2["a.b/x"]` + "\n" +
		`  n1 -->|"ICMPv4 · 1 flow"| n3["a_b/#lt;x#gt;"]` + "\n" +
		"```\n"
	if got != want {
		t.Errorf("mermaid:\n%s\nwant:\n%s", got, want)
	}
	if diffreport.Mermaid(nil) != "" {
		t.Error("no flows: no graph")
	}
	var many []diffcheck.Flow
	for i := range diffreport.MaxMermaidEdges + 5 {
		many = append(many, diffcheck.Flow{Src: "a", Dst: "b", Protocol: "TCP", Port: uint16(i + 1)})
	}
	if m := diffreport.Mermaid(many); strings.Count(m, "-->") != diffreport.MaxMermaidEdges || !strings.Contains(m, "%% … and 5 more flows") {
		t.Errorf("the graph should be capped with a note:\n%s", m[len(m)-200:])
	}
}
