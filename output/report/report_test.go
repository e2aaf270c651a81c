package report_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/escape/escapetest"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/report"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// sampleSet is the policy set of the sample cluster (testdata/flows).
func sampleSet(t *testing.T) *policy.Set {
	t.Helper()
	glob, err := filepath.Abs("../../testdata/flows/*.json*")
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := pipeline.Learn(context.Background(), []string{glob}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, _, err := pipeline.Render(g, synth.Options{}, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// renameSet returns a copy of set with every name from input renamed.
func renameSet(set *policy.Set, names []string) (*policy.Set, *escapetest.Renamer) {
	r := escapetest.NewRenamer(names, 0)
	out := *set
	out.CNI = r.Name(set.CNI)
	out.Guard.Cloud = r.Name(set.Guard.Cloud)
	out.Guard.Addresses = nil
	for _, a := range set.Guard.Addresses {
		a.What = r.Name(a.What)
		out.Guard.Addresses = append(out.Guard.Addresses, a)
	}
	out.Resolvers = nil
	for _, res := range set.Resolvers {
		res.Kind = r.Name(res.Kind)
		out.Resolvers = append(out.Resolvers, res)
	}
	out.System = nil
	for _, s := range set.System {
		out.System = append(out.System, r.Name(s))
	}
	out.Namespaces = nil
	for _, ns := range set.Namespaces {
		n := *ns
		n.Name = r.Name(ns.Name)
		n.Readiness.State, n.Readiness.Evidence = r.Name(ns.Readiness.State), r.Name(ns.Readiness.Evidence)
		n.Evidence = nil
		for _, e := range ns.Evidence {
			e.Workload, e.Direction, e.Peer, e.Proto, e.Rule = r.Name(e.Workload), r.Name(e.Direction), r.Name(e.Peer), r.Name(e.Proto), r.Name(e.Rule)
			n.Evidence = append(n.Evidence, e)
		}
		out.Namespaces = append(out.Namespaces, &n)
	}
	out.Findings = nil
	for _, f := range set.Findings {
		f.Kind, f.Namespace, f.Workload, f.Peer, f.Proto, f.Message = r.Name(f.Kind), r.Name(f.Namespace), r.Name(f.Workload), r.Name(f.Peer), r.Name(f.Proto), r.Name(f.Message)
		out.Findings = append(out.Findings, f)
	}
	return &out, r
}

// TestHostileNamesRenderAsText: FLOWS.md and ROLLOUT.md of the sample with
// every name replaced by a hostile one (testdata/hostile) render, with a
// real GFM renderer, to the same elements, attributes, table rows and
// columns as with plain names, and each hostile name reads as text.
func TestHostileNamesRenderAsText(t *testing.T) {
	hostile, err := escapetest.Names("../../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	set := sampleSet(t)
	benign, _ := renameSet(set, nil)
	evil, r := renameSet(set, hostile)
	if len(r.Used) < len(hostile) {
		t.Fatalf("the sample has %d names, fewer than the %d hostile ones", len(r.Used), len(hostile))
	}
	want, got := output.Tree{}, output.Tree{}
	report.Add(want, benign, "k8s")
	report.Add(got, evil, "k8s")
	if len(got) != len(want) {
		t.Fatalf("%d documents for hostile names, %d for plain ones", len(got), len(want))
	}
	texts := ""
	for i, ns := range benign.Namespaces {
		wantDoc, gotDoc := want[ns.Name+"/FLOWS.md"], got[evil.Namespaces[i].Name+"/FLOWS.md"]
		texts += checkShape(t, "FLOWS.md of "+ns.Name, wantDoc, gotDoc)
	}
	texts += checkShape(t, "ROLLOUT.md", want["ROLLOUT.md"], got["ROLLOUT.md"])
	for _, n := range hostile {
		if !strings.Contains(texts, escape.Terminal(n)) {
			t.Errorf("%q is not shown as text", n)
		}
	}
}

// checkShape renders both documents, compares their elements and returns
// the hostile one's text.
func checkShape(t *testing.T, name string, want, got []byte) string {
	t.Helper()
	w, err := escapetest.Render(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := escapetest.Render(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := escapetest.FirstDiff(escapetest.Shape(w), escapetest.Shape(g)); d != "" {
		t.Errorf("%s: hostile names change the rendered elements: %s", name, d)
	}
	for _, tag := range []string{"img", "a", "script", "b", "h3", "h4", "blockquote", "ol", "del", "em", "strong"} {
		if n := escapetest.Tags(g)[tag]; n > escapetest.Tags(w)[tag] {
			t.Errorf("%s: %d <%s> elements, the template writes %d", name, n, tag, escapetest.Tags(w)[tag])
		}
	}
	return escapetest.Text(g)
}

// TestFindingsOneRowPerPort: 22 internet callers of one port and three
// nodes probing one port are one row each, with the number of peers.
func TestFindingsOneRowPerPort(t *testing.T) {
	set := &policy.Set{Namespaces: []*policy.Namespace{{Name: "shop"}}}
	for i := range 22 {
		set.Findings = append(set.Findings, policy.Finding{Kind: policy.FindPublic, Namespace: "shop", Workload: "frontend", Proto: "TCP", Port: 8080, Flows: uint64(i + 1),
			Message: "called from the internet: admitted from any source on this port only"})
	}
	for i := range 3 {
		set.Findings = append(set.Findings, policy.Finding{Kind: policy.FindHostTraffic, Namespace: "shop", Workload: "frontend", Peer: fmt.Sprintf("host 10.244.%d.1", i+1), Proto: "TCP", Port: 8080, Flows: 6,
			Message: "from the pod's own node (kubelet probes): always allowed, no rule needed"})
	}
	set.Findings = append(set.Findings, policy.Finding{Kind: policy.FindPublic, Namespace: "shop", Workload: "frontend", Proto: "TCP", Port: 443, Flows: 5,
		Message: "called from the internet: admitted from any source on this port only"})
	policy.SortFindings(set.Findings)
	tree := output.Tree{}
	report.Add(tree, set, "k8s")
	for _, doc := range []string{"ROLLOUT.md", "shop/FLOWS.md"} {
		md := string(tree[doc])
		rows := findingRows(md)
		want := []string{
			"| host-traffic | shop | frontend | TCP/8080 | 3 peers: host 10.244.1.1, host 10.244.2.1, host 10.244.3.1 | 18 | from the pod's own node (kubelet probes): always allowed, no rule needed |",
			"| public-entrypoint | shop | frontend | TCP/443 | 1 peer | 5 | called from the internet: admitted from any source on this port only |",
			"| public-entrypoint | shop | frontend | TCP/8080 | 22 peers | 253 | called from the internet: admitted from any source on this port only |",
		}
		if strings.Join(rows, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s findings:\n%s\nwant:\n%s", doc, strings.Join(rows, "\n"), strings.Join(want, "\n"))
		}
	}
}

// findingRows returns the rows of the findings table of md.
func findingRows(md string) []string {
	_, after, _ := strings.Cut(md, "## Findings\n\n")
	var rows []string
	for _, l := range strings.Split(after, "\n")[2:] {
		if !strings.HasPrefix(l, "| ") {
			break
		}
		rows = append(rows, l)
	}
	return rows
}

// TestRolloutFiftyNamespaces: ROLLOUT.md of a cluster of 50 namespaces,
// each with a public entrypoint called from 22 addresses and kubelet
// probes from 3 nodes, lists each namespace on one line and each finding
// group on one line: 50 + 100 table rows, not 50 × 25.
func TestRolloutFiftyNamespaces(t *testing.T) {
	set := &policy.Set{WindowStart: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)}
	for i := range 50 {
		ns := fmt.Sprintf("team-%02d", i)
		set.Namespaces = append(set.Namespaces, &policy.Namespace{Name: ns, Readiness: policy.Readiness{State: policy.Stable, Evidence: "1200 request flows; no new edge since 2026-11-16T03:00:00Z (quiet period 6h0m0s)"}})
		for j := range 22 {
			set.Findings = append(set.Findings, policy.Finding{Kind: policy.FindPublic, Namespace: ns, Workload: "web", Proto: "TCP", Port: 8443, Flows: uint64(j + 1), Message: "called from the internet"})
		}
		for j := range 3 {
			set.Findings = append(set.Findings, policy.Finding{Kind: policy.FindHostTraffic, Namespace: ns, Workload: "web", Peer: fmt.Sprintf("host 10.0.%d.1", j), Proto: "TCP", Port: 8080, Flows: 10, Message: "kubelet probes"})
		}
	}
	policy.SortFindings(set.Findings)
	tree := output.Tree{}
	report.Add(tree, set, "k8s")
	md := string(tree["ROLLOUT.md"])
	nsRow := regexp.MustCompile("(?m)^\\| [0-9]+ \\| team-[0-9]+ \\|.*\\|$")
	if rows := nsRow.FindAllString(md, -1); len(rows) != 50 {
		t.Errorf("%d namespace rows, want one line per namespace (50)", len(rows))
	}
	if rows := findingRows(md); len(rows) != 100 {
		t.Errorf("%d finding rows, want 2 per namespace (100)", len(rows))
	}
	if lines := strings.Count(md, "\n"); lines > 220 {
		t.Errorf("ROLLOUT.md is %d lines for 50 namespaces, want at most 220 (two screens of tables and the fixed text)", lines)
	}
}

// TestRolloutCommandsQuoteNames: the apply and roll-back commands a reader
// copies from ROLLOUT.md pass a name that is not a plain word to kubectl
// as one single-quoted word.
func TestRolloutCommandsQuoteNames(t *testing.T) {
	for _, tt := range []struct{ ns, want string }{
		{"shop", "`kubectl apply -k shop`"},
		{"x; rm -rf ~", "`kubectl apply -k 'x; rm -rf ~'`"},
		{"it's", `` + "`kubectl apply -k 'it'\\''s'`"},
		{"-f", "`kubectl apply -k '-f'`"},
	} {
		tree := output.Tree{}
		report.Add(tree, &policy.Set{Namespaces: []*policy.Namespace{{Name: tt.ns}}}, "k8s")
		if !strings.Contains(string(tree["ROLLOUT.md"]), "| "+tt.want+" |") {
			t.Errorf("namespace %q: ROLLOUT.md lacks %s:\n%s", tt.ns, tt.want, tree["ROLLOUT.md"])
		}
	}
}
