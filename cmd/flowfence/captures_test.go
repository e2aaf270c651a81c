package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/testsupport"
)

// flowFiles lists every flow file a user could hand to generate that this
// repository holds (the sample, the framing, partial, identity and hostile
// fixtures) and, when present, every file of ../shared/captures. Files that
// are not flows (a refused graph, fuzz parameters, name lists, READMEs) are
// left out by name: each has its own test.
func flowFiles(t *testing.T) []string {
	t.Helper()
	globs := []string{
		"../../testdata/flows/*",
		"../../testdata/hostile/*.json*",
		"../../testdata/hostile/*.log",
		"../../collectors/*/testdata/framing/*",
		"../../collectors/hubble/testdata/partial/*",
		"../../pipeline/testdata/identities/*.jsonl",
	}
	if dir, ok := testsupport.FindCaptures(""); ok {
		globs = append(globs, filepath.Join(dir, "*", "*"))
	} else {
		t.Log("../shared/captures not present: the repository's own fixtures only")
	}
	notFlows := map[string]bool{
		"graph-newline-identity.json": true, // refused by design (pipeline.TestHostileCorpus)
		"gzip-bomb.json":              true, // parameters of learner.TestReadGraphCapsGzipBomb
		"markdown-names.json":         true, // names for the escaping tests
	}
	var files []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if b := filepath.Base(f); !notFlows[b] && !strings.HasSuffix(b, ".md") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d flow files found: %v", len(files), files)
	}
	return files
}

var rolloutRow = regexp.MustCompile(`(?m)^\| \d+ \| ([^|]+) \| \d+ \| ([^|]+) \|`)

// TestEveryFlowFileEveryFlavor: generate on every flow file (the
// repository's fixtures and the real captures of ../shared) in every
// flavor exits 0 and writes a tree with ROLLOUT.md; verify of that tree
// against the same file, with the flavor's CNI, passes, or every namespace
// whose policies deny an observed request is one ROLLOUT.md calls blocked
// (never stable). A tree without policies (only system namespaces were
// seen) has no namespace to enforce.
func TestEveryFlowFileEveryFlavor(t *testing.T) {
	files := flowFiles(t)
	for _, file := range files {
		for _, flavor := range []string{"k8s", "cilium", "calico"} {
			name := filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file) + "/" + flavor
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "policies")
				code, stderr := runMain(t, "generate", "--quiet", "--from", file, "--format", flavor, "--out", out)
				if code != 0 {
					t.Fatalf("generate: exit %d\n%s", code, stderr)
				}
				rollout, err := os.ReadFile(filepath.Join(out, "ROLLOUT.md"))
				if err != nil || len(rollout) == 0 {
					t.Fatalf("no ROLLOUT.md in the tree: %v", err)
				}
				readiness := map[string]string{}
				for _, m := range rolloutRow.FindAllStringSubmatch(string(rollout), -1) {
					readiness[strings.TrimSpace(m[1])] = strings.TrimSpace(m[2])
				}
				policies, _ := filepath.Glob(filepath.Join(out, "*", "*.yaml"))
				policies = slices.DeleteFunc(policies, func(p string) bool { return filepath.Base(p) == "kustomization.yaml" })
				if len(policies) == 0 {
					if len(readiness) != 0 {
						t.Fatalf("ROLLOUT.md lists namespaces %v but the tree holds no policy", readiness)
					}
					return
				}
				cni := map[string]string{"k8s": "kubernetes", "cilium": "cilium", "calico": "calico"}[flavor]
				code, stdout, stderr := runMainOut(t, "verify", "--policies", out, "--from", file, "--cni", cni, "-o", "json")
				if code != 0 && code != 3 {
					t.Fatalf("verify: exit %d\n%s", code, stderr)
				}
				var v struct {
					Passed bool `json:"passed"`
					Denied []struct {
						Src, Dst   string
						Namespaces []string `json:"namespaces"`
					} `json:"denied"`
				}
				if err := json.Unmarshal([]byte(stdout), &v); err != nil {
					t.Fatalf("verify -o json: %v\n%s", err, stdout)
				}
				if (code == 0) != v.Passed {
					t.Fatalf("verify exit %d but passed=%v", code, v.Passed)
				}
				for _, d := range v.Denied {
					if len(d.Namespaces) == 0 {
						t.Errorf("denied %s -> %s names no namespace", d.Src, d.Dst)
					}
					for _, ns := range d.Namespaces {
						if readiness[ns] != "blocked" {
							t.Errorf("verify: %s -> %s is denied by %s's policies, which ROLLOUT.md calls %q, not blocked", d.Src, d.Dst, ns, readiness[ns])
						}
					}
				}
			})
		}
	}
}
