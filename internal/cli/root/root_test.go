package root_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
)

const sample = clitest.Sample

// run executes the real root command with args, like the binary would.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	stdout, stderr, _, err = clitest.Run(t, stdin, args...)
	return stdout, stderr, err
}

// must runs a step the test builds on, stopping the test when it fails
// (clitest.Must).
func must(t *testing.T, args ...string) {
	t.Helper()
	clitest.Must(t, args...)
}

func TestGenerateWritesTreeAndSummary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "policies")
	_, stderr, err := run(t, "", "generate", "--from", sample, "--out", out)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	for _, want := range []string{"3 files", "learned", "denied attempts", "workloads", "policies:", "metadata-call", "public-entrypoint", "payments/fraud called 169.254.169.254"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	tree := testsupport.ReadTree(t, out)
	for _, f := range []string{"ROLLOUT.md", "shop/00-default-deny.yaml", "shop/01-allow-dns.yaml", "shop/frontend-ingress.yaml", "shop/kustomization.yaml", "shop/FLOWS.md", "payments/worker-egress.yaml"} {
		if _, ok := tree[f]; !ok {
			t.Errorf("%s missing from the tree", f)
		}
	}
	if _, ok := tree["kube-system/00-default-deny.yaml"]; ok {
		t.Error("kube-system got policies; system namespaces must stay peers only")
	}
	if !strings.Contains(tree["payments/worker-egress.yaml"], "198.51.100.10/32 # api.stripe.com") {
		t.Errorf("external egress lacks its /32 with the DNS name:\n%s", tree["payments/worker-egress.yaml"])
	}
	for p, body := range tree {
		if strings.Contains(body, "169.254.169.254/32") {
			t.Errorf("%s admits the metadata address", p)
		}
	}
}

func TestGenerateStrictFailsAndKeepsPreviousTree(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "policies")
	must(t, "generate", "--from", sample, "--out", out)
	before := testsupport.ReadTree(t, out)
	bad := filepath.Join(dir, "bad.jsonl")
	good, _ := os.ReadFile("../../../testdata/flows/node-c-legacy.json")
	lines := strings.SplitN(string(good), "\n", 3)
	if err := os.WriteFile(bad, []byte(lines[0]+"\n{\"flow\": {\"verdict\": 12.5}}\n"+lines[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "", "generate", "--strict", "--from", bad, "--out", out)
	if err == nil || !strings.Contains(err.Error(), bad+":2:") {
		t.Fatalf("strict run: err = %v, want one naming %s:2", err, bad)
	}
	after := testsupport.ReadTree(t, out)
	if len(after) != len(before) {
		t.Fatalf("failed run changed the tree: %d files before, %d after", len(before), len(after))
	}
	for p := range before {
		if before[p] != after[p] {
			t.Errorf("failed run changed %s", p)
		}
	}
	// without --strict the bad line is a warning with file:line and the rest is learned
	_, stderr, err := run(t, "", "generate", "--from", bad, "--out", filepath.Join(dir, "lenient"))
	if err != nil {
		t.Fatalf("lenient run: %v", err)
	}
	if !strings.Contains(stderr, bad+":2") || !strings.Contains(stderr, "1 malformed lines skipped") {
		t.Errorf("lenient run should warn with file:line and count it:\n%s", stderr)
	}
}

func TestOutRefusesForeignDirectory(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "precious.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "", "generate", "--from", sample, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want a refusal to replace a directory flowfence did not write", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "precious.txt")); string(b) != "mine" {
		t.Fatal("user file was touched")
	}
}

func TestLearnMergeThenGenerateFromGraph(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join(dir, "g.json")
	files, _ := filepath.Glob(sample)
	if len(files) != 3 {
		t.Fatalf("sample has %d files", len(files))
	}
	// learn the three files into one graph, one run each (merging)
	for _, f := range files {
		must(t, "learn", "--from", f, "--graph", graph)
	}
	var g struct {
		Version int               `json:"flowfenceGraph"`
		Edges   []json.RawMessage `json:"edges"`
	}
	b, _ := os.ReadFile(graph)
	if err := json.Unmarshal(b, &g); err != nil || g.Version != learner.GraphVersion || len(g.Edges) == 0 {
		t.Fatalf("graph file: version %d, %d edges, err %v", g.Version, len(g.Edges), err)
	}
	fromGraph := filepath.Join(dir, "from-graph")
	must(t, "generate", "--from", graph, "--out", fromGraph)
	fromFlows := filepath.Join(dir, "from-flows")
	must(t, "generate", "--from", sample, "--out", fromFlows)
	a, c := testsupport.ReadTree(t, fromGraph), testsupport.ReadTree(t, fromFlows)
	// graphs learned apart (one per node) and merged must give the very
	// same tree as one run over all files: the denied attempt (SYN forwarded
	// on the client's node, dropped on the server's) and DNS names seen on
	// one node for IPs called from another are judged on the union.
	if len(a) != len(c) {
		t.Fatalf("trees differ in size: %d from graph, %d from flows", len(a), len(c))
	}
	for p := range c {
		if a[p] != c[p] {
			t.Errorf("%s differs between generate-from-merged-graph and generate-from-flows", p)
		}
	}
	if strings.Contains(a["shop/cart-ingress.yaml"], "shop-staging") {
		t.Error("the denied attempt shop-staging/frontend -> shop/cart was learned after merging per-node graphs")
	}
}

func TestStdin(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/flows/node-c-legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o")
	_, stderr, err := run(t, string(b), "generate", "--from", "-", "--out", out)
	if err != nil {
		t.Fatalf("stdin: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "1 files") {
		t.Errorf("summary should count stdin as one file:\n%s", stderr)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("cloud: azure\ncni: cilium\nnamespaces:\n  exclude: [legacy-*]\nreadiness:\n  min-flows: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(args ...string) map[string]any {
		t.Helper()
		stdout, _, err := run(t, "", append([]string{"config", "view"}, args...)...)
		if err != nil {
			t.Fatalf("config view %v: %v", args, err)
		}
		m := map[string]any{}
		for _, l := range strings.Split(stdout, "\n") {
			if k, v, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(k, " ") {
				m[k] = v
			}
		}
		return m
	}
	if v := get()["cloud"]; v != "generic" {
		t.Errorf("default cloud = %v", v)
	}
	if v := get("--config", cfg)["cloud"]; v != "azure" {
		t.Errorf("file cloud = %v, want azure", v)
	}
	t.Setenv("FLOWFENCE_CLOUD", "aws")
	if v := get("--config", cfg)["cloud"]; v != "aws" {
		t.Errorf("env over file: cloud = %v, want aws", v)
	}
	if v := get("--config", cfg, "--cloud", "gcp")["cloud"]; v != "gcp" {
		t.Errorf("flag over env: cloud = %v, want gcp", v)
	}
	if v := get("--config", cfg)["cni"]; v != "cilium" {
		t.Errorf("file cni = %v, want cilium", v)
	}
	stdout, _, err := run(t, "", "config", "view", "--config", cfg)
	if err != nil || !strings.Contains(stdout, "min-flows: 7") || !strings.Contains(stdout, "legacy-*") {
		t.Errorf("nested keys from the file not shown (err %v):\n%s", err, stdout)
	}
}

func TestBadInputErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	cfgBad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfgBad, []byte("clowd: aws\n"), 0o644)
	notFlows := filepath.Join(dir, "notes.txt")
	os.WriteFile(notFlows, []byte("hello\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--from", sample, "--out", filepath.Join(dir, "o1"), "--cloud", "moon"}, "--cloud"},
		{[]string{"generate", "--from", sample, "--out", filepath.Join(dir, "o2"), "--cni", "flannel"}, "--cni"},
		{[]string{"generate", "--from", sample, "--out", filepath.Join(dir, "o3"), "--format", "yaml"}, "--format"},
		{[]string{"generate", "--from", "nope/*.json", "--out", filepath.Join(dir, "o4")}, "nope/*.json"},
		{[]string{"generate", "--from", filepath.Join(dir, "missing.json"), "--out", filepath.Join(dir, "o5")}, "missing.json"},
		{[]string{"generate", "--out", filepath.Join(dir, "o6")}, "--from"},
		{[]string{"generate", "--from", notFlows, "--out", filepath.Join(dir, "o7")}, "notes.txt:1"},
		{[]string{"generate", "--from", sample, "--since", "yesterday-ish", "--out", filepath.Join(dir, "o8")}, "--since"},
		{[]string{"learn", "--from", sample}, "--graph"},
		{[]string{"config", "view", "--config", cfgBad}, "clowd"},
		{[]string{"generate", "--from", sample, "--out", filepath.Join(dir, "o9"), "--node-cidrs", "10.0.0.1/8"}, "nodes.cidrs"},
	} {
		_, _, err := run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to name %q", c.args, err, c.want)
		}
	}
}
