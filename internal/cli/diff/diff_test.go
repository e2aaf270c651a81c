package diff_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
	"github.com/flowfence/flowfence/output/diffreport"
)

const (
	sample = clitest.Sample
	noon   = "2026-11-16T12:00:00Z"
	ten    = "2026-11-16T10:00:00Z"
)

// run executes the real root command with args, like the binary would, and
// returns the process exit code the error maps to.
func run(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	return clitest.Run(t, "", args...)
}

// must runs a step the test builds on, stopping the test when it fails
// (clitest.Must).
func must(t *testing.T, args ...string) {
	t.Helper()
	clitest.Must(t, args...)
}

// committed is what a repository holds after `generate` and `learn` over
// the first 12 hours of the sample: the tree and its graph.
func committed(t *testing.T) (tree, graph string) {
	t.Helper()
	dir := t.TempDir()
	tree, graph = filepath.Join(dir, "policies"), filepath.Join(dir, "graph.json")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", tree)
	must(t, "learn", "--quiet", "--from", sample, "--until", noon, "--graph", graph)
	return tree, graph
}

// TestDiffPoliciesReportUpdate is the periodic job: diff against the
// committed tree finds shop-staging's new flows (exit 3) and writes the
// Markdown report; --update rewrites tree and graph; the next diff exits 0.
func TestDiffPoliciesReportUpdate(t *testing.T) {
	tree, graph := committed(t)
	report := filepath.Join(t.TempDir(), "comment.md")
	stdout, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--report", report, "--update", "--graph", graph)
	if code != 3 {
		t.Fatalf("first diff: exit %d (err %v), want 3\n%s%s", code, err, stdout, stderr)
	}
	for _, w := range []string{
		"undocumented flows: 3",
		"UNDOCUMENTED shop-staging/frontend -> shop-staging/cart TCP/8080  (20 flows, 2026-11-16 19:22:47Z .. 2026-11-16 23:51:44Z): no policy in namespace shop-staging",
		"FOUND: 3 undocumented flows",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "updated: "+tree) {
		t.Errorf("stderr should say what --update wrote:\n%s", stderr)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"**3 new undocumented flows**", "| shop-staging | 3 | 0 | 0 | 0 |", "## shop-staging", "```mermaid\ngraph LR"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("report lacks %q:\n%s", w, md)
		}
	}
	if _, err := os.Stat(filepath.Join(tree, "shop-staging", "cart-ingress.yaml")); err != nil {
		t.Errorf("--update did not write shop-staging's policies: %v", err)
	}
	stdout, _, code, err = run(t, "diff", "--policies", tree, "--baseline", graph, "--from", sample, "--report", report)
	if code != 0 || err != nil {
		t.Fatalf("second diff: exit %d (err %v), want 0\n%s", code, err, stdout)
	}
	md, _ = os.ReadFile(report)
	if !strings.Contains(stdout, "NOTHING NEW") || !strings.Contains(string(md), "**Nothing new.** 0 stale rules, 0 vanished edges.") {
		t.Errorf("second diff should report nothing new:\n%s\n%s", stdout, md)
	}
	// verify agrees
	if _, _, code, err := run(t, "verify", "--policies", tree, "--from", sample); code != 0 {
		t.Errorf("verify of the updated tree: exit %d (%v)", code, err)
	}
}

func TestDiffStaleAndBaseline(t *testing.T) {
	full := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--out", full)
	_, graph := committed(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{
			name: "the observation shrank: stale rules, nothing new",
			args: []string{"--policies", full, "--until", ten},
			code: 0,
			want: []string{"stale rules: 2", "STALE        shop-staging/cart-ingress ingress rule 0: from shop-staging/{app.kubernetes.io/name=frontend} on TCP/8080 [shop-staging/cart-ingress.yaml]", "NOTHING NEW"},
		},
		{
			name: "baseline of the first 12 hours: new edges",
			args: []string{"--baseline", graph},
			code: 3,
			want: []string{"new edges: 3", "NEW          shop-staging/frontend -> shop-staging/cart TCP/8080", "FOUND: 0 undocumented flows, 3 new edges"},
		},
		{
			name: "baseline and observation agree before noon",
			args: []string{"--baseline", graph, "--until", ten},
			code: 0,
			want: []string{"new edges: 0   vanished edges: 0", "NOTHING NEW"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code, err := run(t, append([]string{"diff", "--from", sample}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d (err %v), want %d\n%s%s", code, err, c.code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	// vanished: the baseline saw shop-staging, the observation (until 10:00) did not
	fullGraph := filepath.Join(t.TempDir(), "full.json")
	must(t, "learn", "--quiet", "--from", sample, "--graph", fullGraph)
	stdout, _, code, _ := run(t, "diff", "--baseline", fullGraph, "--from", sample, "--until", ten, "-o", "json")
	var doc diffreport.DiffDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if code != 0 || doc.Found || doc.Totals.VanishedEdges != 3 || len(doc.NewEdges) != 0 || doc.Baseline != fullGraph || doc.Replay != nil {
		t.Errorf("vanished edges: exit %d, %+v", code, doc)
	}
}

func TestDiffBadInput(t *testing.T) {
	tree, graph := committed(t)
	// a tree written before .flowfence/ held the graph and the settings
	legacy := filepath.Join(t.TempDir(), "legacy")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", legacy)
	if err := os.RemoveAll(filepath.Join(legacy, ".flowfence")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, ".flowfence"), []byte("marker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notGraph := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(notGraph, []byte(`{"edges": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--from", sample}, "--policies or --baseline"},
		{[]string{"diff", "--policies", legacy, "--from", sample, "--update"}, "--graph"},
		{[]string{"diff", "--baseline", graph, "--from", sample, "--update"}, "--policies"},
		{[]string{"diff", "--policies", tree, "--from", sample, "--update", "--graph", filepath.Join(t.TempDir(), "none.json")}, "--graph"},
		{[]string{"diff", "--baseline", notGraph, "--from", sample}, "--baseline"},
		{[]string{"diff", "--policies", tree, "--from", sample, "-o", "html"}, "-o"},
		{[]string{"diff", "--policies", tree, "--from", sample, "--report", filepath.Join(tree, "shop", "kustomization.yaml", "r.md")}, "--report"},
	} {
		_, _, code, err := run(t, c.args...)
		if code != 1 || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: exit %d, err %v; want exit 1 naming %q", c.args, code, err, c.want)
		}
	}
}

// TestDiffUpdateKeepsDenyScope: a tree generated with --deny-scope
// observed is rewritten by --update in that scope (no default-deny, every
// workload its own DNS policy) from its saved settings, and a tree without
// them is not turned into a namespace-scope tree silently.
func TestDiffUpdateKeepsDenyScope(t *testing.T) {
	dir := t.TempDir()
	tree, graph := filepath.Join(dir, "policies"), filepath.Join(dir, "graph.json")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", tree, "--deny-scope", "observed")
	must(t, "learn", "--quiet", "--from", sample, "--until", noon, "--graph", graph)
	// a tree without its saved settings: the scope is read from the tree,
	// and changing it must be asked for by name
	legacy := filepath.Join(dir, "legacy")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", legacy, "--deny-scope", "observed")
	for _, f := range []string{"settings.json", "graph.json"} {
		if err := os.Remove(filepath.Join(legacy, ".flowfence", f)); err != nil {
			t.Fatal(err)
		}
	}
	_, _, _, err := run(t, "diff", "--policies", legacy, "--from", sample, "--update", "--graph", graph)
	if err == nil || !strings.Contains(err.Error(), "--update: the --policies tree was generated with --deny-scope observed, not namespace") {
		t.Fatalf("diff --update without --deny-scope of a tree without settings: %v", err)
	}
	// a tree with its settings keeps its scope without the flag
	if _, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--update"); code != 3 {
		t.Fatalf("diff --update of an observed-scope tree: exit %d (%v)\n%s", code, err, stderr)
	}
	files, err := filepath.Glob(filepath.Join(tree, "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dns []string
	for _, f := range files {
		switch base := filepath.Base(f); {
		case base == "00-default-deny.yaml" || base == "01-allow-dns.yaml":
			t.Errorf("%s: a namespace-wide policy in the observed-scope tree", f)
		case strings.HasSuffix(base, "-dns.yaml"):
			dns = append(dns, filepath.Base(filepath.Dir(f))+"/"+base)
		}
	}
	// shop-staging's cart is new in the afternoon: --update gave it its own policies
	if !slices.Contains(dns, "shop-staging/cart-dns.yaml") {
		t.Errorf("workload DNS policies after --update: %v", dns)
	}
	if _, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample); code != 0 {
		t.Errorf("diff after --update: exit %d (%v)\n%s", code, err, stderr)
	}
}
