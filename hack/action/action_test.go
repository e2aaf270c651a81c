// Package action_test runs the GitHub Action's script
// (hack/action/flowfence-diff.sh) end to end on local git repositories: a
// bare repository as origin, a policy tree generated from the sample and
// committed, new flows served over HTTP as the learner's GET /graph
// serves them, and the real flowfence binary.
package action_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const noon = "2026-11-16T12:00:00Z"

// fakeGH stands in for the gh CLI: GitHub is not reachable from the tests,
// so this is the one stand-in of the suite. It records every call's
// arguments (one line each, in gh.log) and the file each --body-file names
// (body-N.md), answers `pr list` with the pull request `pr create` opened
// (none before), and fails on anything else.
const fakeGH = `#!/usr/bin/env bash
set -euo pipefail
state=${FAKE_GH_DIR:?}
n=$(( $(cat "$state/calls" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$state/calls"
printf '%s\n' "$*" >>"$state/gh.log"
prev=""
for a in "$@"; do
	if [ "$prev" = --body-file ]; then cp "$a" "$state/body-$n.md"; fi
	prev=$a
done
case "$1 $2" in
"pr list") cat "$state/open" 2>/dev/null || true ;;
"pr create") echo 7 >"$state/open"; echo "https://github.com/acme/policies/pull/7" ;;
"pr edit") echo "https://github.com/acme/policies/pull/$3" ;;
*) echo "fake gh: unexpected call: $*" >&2; exit 1 ;;
esac
`

type env struct {
	t                 *testing.T
	root, bin, ghDir  string
	origin, flowfence string
}

func setup(t *testing.T) *env {
	t.Helper()
	for _, tool := range []string{"git", "curl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the action's script needs %s, which is not installed here", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &env{t: t, root: root, bin: filepath.Join(dir, "bin"), ghDir: filepath.Join(dir, "gh"), origin: filepath.Join(dir, "origin.git")}
	for _, d := range []string{e.bin, e.ghDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.flowfence = filepath.Join(e.bin, "flowfence")
	build := exec.Command("go", "build", "-o", e.flowfence, "./cmd/flowfence")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(e.bin, "gh"), []byte(fakeGH), 0o755); err != nil {
		t.Fatal(err)
	}
	e.run("", "git", "init", "--quiet", "--bare", "--initial-branch=main", e.origin)
	return e
}

func (e *env) sample() string { return filepath.Join(e.root, "testdata", "flows", "*.json*") }

// run runs a command in dir and returns its stdout; it fails the test on
// an error.
func (e *env) run(dir string, name string, args ...string) string {
	e.t.Helper()
	out, code := e.try(dir, nil, name, args...)
	if code != 0 {
		e.t.Fatalf("%s %q: exit %d\n%s", name, args, code, out)
	}
	return out
}

func (e *env) try(dir string, extra []string, name string, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PATH="+e.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_GH_DIR="+e.ghDir,
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	)
	cmd.Env = append(cmd.Env, extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		}
		e.t.Fatalf("%s: %v", name, err)
	}
	return out.String(), 0
}

// clone checks out branch of origin into a new directory.
func (e *env) clone(branch string) string {
	dir := filepath.Join(e.t.TempDir(), "work")
	e.run("", "git", "clone", "--quiet", "--branch", branch, e.origin, dir)
	return dir
}

// script runs flowfence-diff.sh in dir.
func (e *env) script(dir string, vars ...string) (string, int) {
	e.t.Helper()
	return e.try(dir, append([]string{"POLICIES=policies", "FLOWFENCE=" + e.flowfence}, vars...),
		filepath.Join(e.root, "hack", "action", "flowfence-diff.sh"))
}

func (e *env) ghLog() string {
	b, _ := os.ReadFile(filepath.Join(e.ghDir, "gh.log"))
	return string(b)
}

// TestActionScript: the committed tree covers the first 12 hours of the
// sample; the learner's /graph holds the whole day, with new flows. The
// script commits the regenerated tree (its .flowfence/ graph included) and
// the report on flowfence/diff, pushes it and opens a pull request whose
// body is the report; a second run updates that pull request; a run with
// nothing new commits nothing and calls no gh.
func TestActionScript(t *testing.T) {
	e := setup(t)
	// the repository: a tree from generate, committed on main
	work := filepath.Join(t.TempDir(), "seed")
	e.run("", "git", "clone", "--quiet", e.origin, work)
	e.run("", e.flowfence, "generate", "--quiet", "--from", e.sample(), "--until", noon, "--format", "cilium", "--cni", "cilium", "--cloud", "aws", "--out", filepath.Join(work, "policies"))
	e.run(work, "git", "checkout", "--quiet", "-b", "main")
	e.run(work, "git", "add", "policies")
	e.run(work, "git", "commit", "--quiet", "-m", "policies from the first 12 hours")
	e.run(work, "git", "push", "--quiet", "origin", "main")
	base := strings.TrimSpace(e.run(work, "git", "rev-parse", "HEAD"))
	settings := e.run(work, "git", "show", "HEAD:policies/.flowfence/settings.json")

	// the learner's GET /graph: the whole day, learned by flowfence
	graph := filepath.Join(t.TempDir(), "graph.json")
	e.run("", e.flowfence, "learn", "--quiet", "--from", e.sample(), "--graph", graph)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/graph" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		http.ServeFile(w, r, graph)
	}))
	defer srv.Close()

	// first run: new flows → a commit on flowfence/diff and a new pull request
	ci := e.clone("main")
	outputs := filepath.Join(t.TempDir(), "github-output")
	out, code := e.script(ci, "GRAPH_SOURCE="+srv.URL+"/graph", "GITHUB_OUTPUT="+outputs)
	if code != 0 {
		t.Fatalf("script: exit %d\n%s", code, out)
	}
	head := strings.TrimSpace(e.run("", "git", "--git-dir", e.origin, "rev-parse", "refs/heads/flowfence/diff"))
	if parent := strings.TrimSpace(e.run("", "git", "--git-dir", e.origin, "rev-parse", head+"^")); parent != base {
		t.Errorf("flowfence/diff's commit has parent %s, want main %s", parent, base)
	}
	files := e.run("", "git", "--git-dir", e.origin, "diff", "--name-only", base, head)
	for _, f := range []string{"flowfence-report.md", "policies/.flowfence/graph.json", "policies/shop-staging/cart-ingress.yaml", "policies/ROLLOUT.md"} {
		if !strings.Contains(files, f+"\n") {
			t.Errorf("the commit does not change %s; it changes:\n%s", f, files)
		}
	}
	if got := e.run("", "git", "--git-dir", e.origin, "show", head+":policies/.flowfence/settings.json"); got != settings {
		t.Errorf("the commit changed the tree's settings:\n%s\nwas\n%s", got, settings)
	}
	if cart := e.run("", "git", "--git-dir", e.origin, "show", head+":policies/shop-staging/cart-ingress.yaml"); !strings.Contains(cart, "kind: CiliumNetworkPolicy") {
		t.Errorf("the tree was not regenerated in its own flavor (cilium):\n%s", cart)
	}
	report := e.run("", "git", "--git-dir", e.origin, "show", head+":flowfence-report.md")
	if !strings.Contains(report, "**3 new undocumented flows**") || !strings.Contains(report, "shop-staging") {
		t.Errorf("the committed report does not list the new flows:\n%s", report)
	}
	log := e.ghLog()
	if !strings.Contains(log, "pr list --head flowfence/diff --base main --state open") ||
		!strings.Contains(log, "pr create --base main --head flowfence/diff --title flowfence: new flows in policies --body-file ") {
		t.Errorf("gh calls:\n%s", log)
	}
	body, err := os.ReadFile(filepath.Join(e.ghDir, "body-2.md"))
	if err != nil {
		t.Fatalf("no pull request body was passed to gh pr create: %v\n%s", err, log)
	}
	if string(body) != report {
		t.Errorf("the pull request body is not the report:\n%s\nwant\n%s", body, report)
	}
	if o, _ := os.ReadFile(outputs); !strings.Contains(string(o), "new-flows=true\n") || !strings.Contains(string(o), "pr=7\n") {
		t.Errorf("GITHUB_OUTPUT:\n%s", o)
	}

	// second run on main, the pull request open: its body is updated, the branch rebuilt from main
	ci2 := e.clone("main")
	if out, code := e.script(ci2, "GRAPH_SOURCE="+srv.URL+"/graph"); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	log = e.ghLog()
	if !strings.Contains(log, "pr edit 7 --title flowfence: new flows in policies --body-file ") || strings.Count(log, "pr create") != 1 {
		t.Errorf("the second run should edit pull request 7, not open another:\n%s", log)
	}
	head2 := strings.TrimSpace(e.run("", "git", "--git-dir", e.origin, "rev-parse", "refs/heads/flowfence/diff"))
	if parent := strings.TrimSpace(e.run("", "git", "--git-dir", e.origin, "rev-parse", head2+"^")); parent != base {
		t.Errorf("the rebuilt branch's parent is %s, want main %s", parent, base)
	}

	// nothing new: the updated branch against exported flow files (a glob)
	calls := e.ghLog()
	refs := e.run("", "git", "--git-dir", e.origin, "for-each-ref")
	ci3 := e.clone("flowfence/diff")
	out, code = e.script(ci3, "GRAPH_SOURCE="+e.sample(), "BRANCH=flowfence/diff-2")
	if code != 0 || !strings.Contains(out, "nothing new; nothing committed") || !strings.Contains(out, "new-flows=false") {
		t.Errorf("nothing new: exit %d\n%s", code, out)
	}
	if got := e.run("", "git", "--git-dir", e.origin, "for-each-ref"); got != refs {
		t.Errorf("a run with nothing new changed origin:\n%s\nwas\n%s", got, refs)
	}
	if n := strings.TrimSpace(e.run(ci3, "git", "rev-list", "--count", "HEAD")); n != "2" {
		t.Errorf("a run with nothing new committed: %s commits", n)
	}
	if e.ghLog() != calls {
		t.Errorf("a run with nothing new called gh:\n%s", strings.TrimPrefix(e.ghLog(), calls))
	}

	// errors: a /graph that fails, a missing tree
	for _, c := range []struct {
		vars []string
		want string
	}{
		{[]string{"GRAPH_SOURCE=" + srv.URL + "/nope"}, "fetching the graph failed"},
		{[]string{"GRAPH_SOURCE=" + e.sample(), "POLICIES=missing"}, "POLICIES missing: not a directory"},
		{[]string{"GRAPH_SOURCE=" + e.sample(), "BRANCH=main"}, "BRANCH and BASE_BRANCH are both main"},
	} {
		out, code := e.script(e.clone("main"), c.vars...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want a failure naming %q:\n%s", c.vars, code, c.want, out)
		}
	}
}
