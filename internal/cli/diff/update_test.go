package diff_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/testsupport"
)

// TestUpdateWithSavedSettings is the periodic job on a tree from generate:
// diff --update needs neither --graph nor the generator flags again. The
// tree is regenerated in its own flavor with its own settings, equal to
// what generate over the whole window writes with those flags, the saved
// settings are kept, and the next diff finds nothing new.
func TestUpdateWithSavedSettings(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		// want are settings.json fragments
		want []string
	}{
		{"k8s with guardrails on gcp", []string{"--guardrails", "--cloud", "gcp"}, []string{`"format": "k8s"`, `"cloud": "gcp"`, `"enabled": true`}},
		{"cilium with fqdn", []string{"--format", "cilium", "--cni", "cilium", "--fqdn", "--cloud", "aws"}, []string{`"format": "cilium"`, `"cni": "cilium"`, `"fqdn": true`}},
		{"calico in a tier", []string{"--format", "calico", "--cni", "calico", "--calico-tier", "platform", "--system-namespaces", "data"}, []string{`"format": "calico"`, `"tier": "platform"`, `"system": [
      "data"
    ]`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tree, whole := filepath.Join(dir, "policies"), filepath.Join(dir, "whole")
			must(t, append([]string{"generate", "--quiet", "--from", sample, "--until", noon, "--out", tree}, c.flags...)...)
			must(t, append([]string{"generate", "--quiet", "--from", sample, "--out", whole}, c.flags...)...)
			before := testsupport.ReadTree(t, tree)
			settings := before[".flowfence/settings.json"]
			// the state is deterministic: the same input gives the same bytes
			again := filepath.Join(dir, "again")
			must(t, append([]string{"generate", "--quiet", "--from", sample, "--until", noon, "--out", again}, c.flags...)...)
			if a := testsupport.ReadTree(t, again); a[".flowfence/settings.json"] != settings || a[".flowfence/graph.json"] != before[".flowfence/graph.json"] {
				t.Error("two runs of generate over the same flows wrote different .flowfence/ files")
			}
			for _, w := range c.want {
				if !strings.Contains(settings, w) {
					t.Errorf("settings.json lacks %s:\n%s", w, settings)
				}
			}
			if before[".flowfence/graph.json"] == "" {
				t.Fatal("generate wrote no .flowfence/graph.json")
			}
			report := filepath.Join(dir, "comment.md")
			// the flows after noon: merged with the tree's graph of the flows
			// before, the whole window, counted once
			stdout, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--since", noon, "--update", "--report", report)
			if code != 3 {
				t.Fatalf("diff --update: exit %d (%v), want 3\n%s%s", code, err, stdout, stderr)
			}
			if strings.Contains(stderr, "overrides") {
				t.Errorf("no flag was given, yet stderr names an override:\n%s", stderr)
			}
			after, want := testsupport.ReadTree(t, tree), testsupport.ReadTree(t, whole)
			if after[".flowfence/settings.json"] != settings {
				t.Errorf("settings.json changed:\n%s\nwas\n%s", after[".flowfence/settings.json"], settings)
			}
			if after[".flowfence/graph.json"] == before[".flowfence/graph.json"] {
				t.Error("the tree's graph.json was not updated with the new observation")
			}
			// the tree is the one generate writes over the whole window with the same flags
			for p, body := range want {
				if after[p] != body {
					t.Errorf("%s differs from generate over the whole window:\n%s\nwant\n%s", p, after[p], body)
				}
			}
			for p := range after {
				if _, ok := want[p]; !ok {
					t.Errorf("%s: not in the tree generate writes", p)
				}
			}
			stdout, stderr, code, err = run(t, "diff", "--policies", tree, "--from", sample)
			if code != 0 {
				t.Errorf("second diff: exit %d (%v), want 0\n%s%s", code, err, stdout, stderr)
			}
			if _, _, code, err := run(t, "verify", "--policies", tree, "--from", sample, "--cni", cniOf(c.flags)); code != 0 {
				t.Errorf("verify of the updated tree: exit %d (%v)", code, err)
			}
		})
	}
}

func cniOf(flags []string) string {
	for i, f := range flags {
		if f == "--cni" {
			return flags[i+1]
		}
	}
	return "kubernetes"
}

// TestUpdateFlagOverridesSettings: a flag given on the command line wins
// over the saved setting, stderr says so, and the tree's settings then
// hold the new value.
func TestUpdateFlagOverridesSettings(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", tree)
	_, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--update", "--cloud", "aws")
	if code != 3 {
		t.Fatalf("diff --update --cloud aws: exit %d (%v)\n%s", code, err, stderr)
	}
	if !strings.Contains(stderr, "overrides a setting saved in "+filepath.Join(tree, ".flowfence", "settings.json")+": cloud: aws (saved: generic)") {
		t.Errorf("stderr should name the override:\n%s", stderr)
	}
	var s struct {
		Cloud string `json:"cloud"`
	}
	b, _ := os.ReadFile(filepath.Join(tree, ".flowfence", "settings.json"))
	if err := json.Unmarshal(b, &s); err != nil || s.Cloud != "aws" {
		t.Errorf("settings.json after the override: cloud %q (%v)", s.Cloud, err)
	}
	// a flavor other than the tree's is refused, the tree untouched
	_, _, code, err = run(t, "diff", "--policies", tree, "--from", sample, "--update", "--format", "cilium")
	if code != 1 || err == nil || !strings.Contains(err.Error(), "the tree in "+tree+" is the k8s flavor") {
		t.Errorf("--format cilium on a k8s tree: exit %d, %v", code, err)
	}
}

// TestTamperedSettingsRefused: the settings file is input a pull request
// can edit: every tampering is refused with an error naming the file, and
// nothing is written.
func TestTamperedSettingsRefused(t *testing.T) {
	base := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", base)
	good := testsupport.ReadTree(t, base)[".flowfence/settings.json"]
	for _, c := range []struct {
		name, settings string
		// graph false removes graph.json
		noGraph bool
		want    string
	}{
		{name: "unknown key", settings: strings.Replace(good, `"version": 1,`, `"version": 1, "allowAll": true,`, 1), want: `unknown field "allowAll"`},
		{name: "unknown nested key", settings: strings.Replace(good, `"staged": false`, `"staged": false, "order": 1`, 1), want: `unknown field "order"`},
		{name: "missing field", settings: strings.Replace(good, `"cloud": "generic",`, ``, 1), want: `field "cloud" missing`},
		{name: "unknown flavor", settings: strings.Replace(good, `"format": "k8s"`, `"format": "istio"`, 1), want: `format "istio"`},
		{name: "unknown cloud", settings: strings.Replace(good, `"cloud": "generic"`, `"cloud": "mars"`, 1), want: `cloud "mars"`},
		{name: "version from the future", settings: strings.Replace(good, `"version": 1`, `"version": 2`, 1), want: "version 2"},
		{name: "trailing document", settings: good + "{}\n", want: "after top-level value"},
		{name: "not JSON", settings: "format: k8s\n", want: "invalid character"},
		{name: "metadata opt-in to a bad namespace", settings: strings.Replace(good, `"metadataAllow": []`, `"metadataAllow": [{"namespace": "Shop\u001b[2J", "workload": "api", "address": "169.254.169.254", "port": 80}]`, 1), want: "metadataAllow[0].namespace"},
		{name: "metadata opt-in to no address", settings: strings.Replace(good, `"metadataAllow": []`, `"metadataAllow": [{"namespace": "shop", "workload": "api", "address": "metadata", "port": 80}]`, 1), want: "metadataAllow[0].address"},
		{name: "node CIDR not a network", settings: strings.Replace(good, `"nodeCIDRs": []`, `"nodeCIDRs": ["10.0.0.1/8"]`, 1), want: "not a network address"},
		{name: "bad tier", settings: strings.Replace(good, `"tier": ""`, `"tier": "../x"`, 1), want: "--calico-tier"},
		{name: "bad namespace glob", settings: strings.Replace(good, `"include": []`, `"include": ["shop["]`, 1), want: "namespaces.include"},
		{name: "null list", settings: strings.Replace(good, `"exclude": []`, `"exclude": null`, 1), want: "namespaces.exclude: null"},
		{name: "quiet fraction out of range", settings: strings.Replace(good, `"quietFraction": 0.25`, `"quietFraction": 7`, 1), want: "quiet-fraction"},
		{name: "unknown deny scope", settings: strings.Replace(good, `"denyScope": "namespace"`, `"denyScope": "nothing"`, 1), want: "--deny-scope"},
		{name: "graph removed", settings: good, noGraph: true, want: "graph.json: missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tree := filepath.Join(t.TempDir(), "policies")
			must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--out", tree)
			if c.settings == good && !c.noGraph {
				t.Fatal("the case changes nothing")
			}
			path := filepath.Join(tree, ".flowfence", "settings.json")
			if err := os.WriteFile(path, []byte(c.settings), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.noGraph {
				os.Remove(filepath.Join(tree, ".flowfence", "graph.json"))
			}
			before := testsupport.ReadTree(t, tree)
			_, _, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--update")
			if code != 1 || err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Join(tree, ".flowfence")) {
				t.Fatalf("exit %d, err %v; want exit 1 naming the file and %q", code, err, c.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n") {
				t.Errorf("the error carries control characters from the file: %q", err)
			}
			after := testsupport.ReadTree(t, tree)
			if len(after) != len(before) {
				t.Errorf("the tree changed: %d files, was %d", len(after), len(before))
			}
		})
	}
}

// TestUpdateWithInventory: a tree generated with --inventory is
// regenerated by diff --update --inventory as generate writes it over the
// whole window with the inventory (named ports, silent workloads); without
// the inventory, diff --update says it regenerates from the flows alone.
func TestUpdateWithInventory(t *testing.T) {
	const inv = "../../../testdata/inventory/sample.json"
	dir := t.TempDir()
	tree, whole, alone := filepath.Join(dir, "policies"), filepath.Join(dir, "whole"), filepath.Join(dir, "alone")
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--inventory", inv, "--out", tree)
	must(t, "generate", "--quiet", "--from", sample, "--until", noon, "--inventory", inv, "--out", alone)
	must(t, "generate", "--quiet", "--from", sample, "--inventory", inv, "--out", whole)
	want := testsupport.ReadTree(t, whole)
	named := false
	for p, body := range want {
		if strings.HasSuffix(p, ".yaml") && strings.Contains(body, "port: http") {
			named = true
		}
	}
	if !named {
		t.Fatal("the sample's tree with its inventory names no port: the test would not tell the inventory was used")
	}

	_, stderr, code, err := run(t, "diff", "--policies", tree, "--from", sample, "--since", noon, "--update", "--inventory", inv)
	if code != 3 {
		t.Fatalf("diff --update --inventory: exit %d (%v), want 3\n%s", code, err, stderr)
	}
	if strings.Contains(stderr, "not saved") {
		t.Errorf("given --inventory, diff --update still warns it regenerates from the flows alone:\n%s", stderr)
	}
	after := testsupport.ReadTree(t, tree)
	for p, body := range want {
		if p != ".flowfence/graph.json" && after[p] != body {
			t.Errorf("%s differs from generate --inventory over the whole window:\n%s\nwant\n%s", p, after[p], body)
		}
	}
	if _, stderr, code, err := run(t, "verify", "--policies", tree, "--from", sample, "--inventory", inv); code != 0 {
		t.Errorf("verify --inventory of the updated tree: exit %d (%v)\n%s", code, err, stderr)
	}

	// without the inventory: said, and the tree is the flows-only one
	_, stderr, code, err = run(t, "diff", "--policies", alone, "--from", sample, "--since", noon, "--update")
	if code != 3 {
		t.Fatalf("diff --update without the inventory: exit %d (%v), want 3\n%s", code, err, stderr)
	}
	if !strings.Contains(stderr, "generated with --inventory, which is not saved") {
		t.Errorf("diff --update without the inventory did not say the tree loses it:\n%s", stderr)
	}
}
