package pipeline_test

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// flavorCase is one flavor as `generate` configures it, with a rule in its
// YAML that admits every address (what a name leaving its comment would
// add): item is a sequence item of the egress list, indented relative to
// its "- ".
type flavorCase struct {
	name string
	fo   pipeline.FormatterOptions
	item string
}

var integrityFlavors = []flavorCase{
	{"k8s", pipeline.FormatterOptions{}, "to:\n  - ipBlock:\n      cidr: 0.0.0.0/0\n"},
	{"k8s", pipeline.FormatterOptions{Guardrails: true, BaselineDeny: true}, "to:\n  - ipBlock:\n      cidr: 0.0.0.0/0\n"},
	{"cilium", pipeline.FormatterOptions{}, "toCIDRSet:\n  - cidr: 0.0.0.0/0\n"},
	{"calico", pipeline.FormatterOptions{}, "action: Allow\n  destination:\n    nets:\n    - 0.0.0.0/0\n"},
	{"calico", pipeline.FormatterOptions{CalicoTier: "apps", Staged: true}, "action: Allow\n  destination:\n    nets:\n    - 0.0.0.0/0\n"},
}

func (c flavorCase) String() string {
	s := c.name
	if c.fo.Guardrails {
		s += "+guardrails"
	}
	if c.fo.CalicoTier != "" {
		s += "+tier"
	}
	return s
}

var hostCIDR = regexp.MustCompile(`\b\d+\.\d+\.\d+\.\d+/32\b`)

// egressFile is the first workload egress file of the tree with a /32.
func egressFile(t *testing.T, tree output.Tree) string {
	t.Helper()
	for _, p := range tree.Paths() {
		if strings.HasSuffix(p, "-egress.yaml") && hostCIDR.Match(tree[p]) {
			return p
		}
	}
	t.Fatal("no egress file with a /32 in the sample tree")
	return ""
}

// addEgressItem inserts item as the first element of the file's egress list.
func addEgressItem(t *testing.T, data []byte, item string) []byte {
	t.Helper()
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "egress:" && i+1 < len(lines) {
			next := lines[i+1]
			indent := next[:len(next)-len(strings.TrimLeft(next, " "))]
			var b strings.Builder
			for j, il := range strings.SplitAfter(strings.TrimSuffix(item, "\n"), "\n") {
				if j == 0 {
					b.WriteString(indent + "- " + il)
				} else {
					b.WriteString(indent + il)
				}
			}
			b.WriteString("\n")
			return []byte(strings.Join(lines[:i+1], "") + b.String() + strings.Join(lines[i+1:], ""))
		}
	}
	t.Fatalf("no egress list in\n%s", data)
	return nil
}

// TestIntegrityCheckCatchesTamperedTrees: every flavor's rendered tree
// passes the check as written, and each mutation an attacker could make a
// name cause (an extra rule, a widened CIDR, an extra document, a
// duplicate key, an unknown field, an extra or missing file, a document
// marker) fails it with a message naming the file and the object.
func TestIntegrityCheckCatchesTamperedTrees(t *testing.T) {
	g, _ := learnSample(t, 0)
	for _, fc := range integrityFlavors {
		t.Run(fc.String(), func(t *testing.T) {
			f, err := pipeline.NewFormatter(fc.name, fc.fo)
			if err != nil {
				t.Fatal(err)
			}
			set, tree, err := pipeline.RenderWith(g, synth.Options{}, f)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			for _, p := range tree.Paths() {
				if !strings.HasSuffix(p, ".yaml") {
					delete(tree, p) // reports: not the formatter's
				}
			}
			if err := pipeline.CheckIntegrity(f, set, tree); err != nil {
				t.Fatalf("the untouched tree fails the check: %v", err)
			}
			target := egressFile(t, tree)
			obj := objectName(set, target)
			mutations := []struct {
				name   string
				mutate func(output.Tree)
				want   []string
			}{
				{"an egress rule to every address", func(t2 output.Tree) { t2[target] = addEgressItem(t, t2[target], fc.item) },
					[]string{target, obj, "differs from the policy model", "0.0.0.0/0"}},
				{"a widened cidr", func(t2 output.Tree) { t2[target] = hostCIDR.ReplaceAll(t2[target], []byte("0.0.0.0/0")) },
					[]string{target, obj, "differs from the policy model"}},
				{"an extra document", func(t2 output.Tree) { t2[target] = append(append(t2[target], "---\n"...), t2[target]...) },
					[]string{target, "2 YAML documents, the formatter wrote 1"}},
				{"a duplicate key", func(t2 output.Tree) {
					t2[target] = []byte(strings.Replace(string(t2[target]), "\nkind:", "\nkind: X\nkind:", 1))
				}, []string{target, obj}},
				{"a second address under the observed one", func(t2 output.Tree) {
					loc := hostCIDR.FindIndex(t2[target])
					end := loc[1] + bytes.IndexByte(t2[target][loc[1]:], '\n') + 1
					start := bytes.LastIndexByte(t2[target][:loc[0]], '\n') + 1
					line := hostCIDR.ReplaceAll(bytes.Clone(t2[target][start:end]), []byte("0.0.0.0/0"))
					t2[target] = slices.Concat(t2[target][:end], line, t2[target][end:])
				}, []string{target, obj}},
				{"an unknown field", func(t2 output.Tree) {
					t2[target] = []byte(strings.Replace(string(t2[target]), "\nspec:\n", "\nspec:\n  bogus: 1\n", 1))
				}, []string{target, obj}},
				{"a document marker with content", func(t2 output.Tree) { t2[target] = append([]byte("--- !!map\n"), t2[target]...) },
					[]string{target + ":1", "document marker"}},
				{"a carriage return", func(t2 output.Tree) { t2[target] = append([]byte("# x\rkind: Evil\n"), t2[target]...) },
					[]string{target + ":1", "line break"}},
				{"an extra file", func(t2 output.Tree) { t2["evil/allow-all.yaml"] = t2[target] },
					[]string{"evil/allow-all.yaml", "did not mean to write"}},
				{"a missing file", func(t2 output.Tree) { delete(t2, target) },
					[]string{target, "missing from the tree"}},
				{"a kustomization with an extra resource", func(t2 output.Tree) {
					k := target[:strings.LastIndex(target, "/")] + "/kustomization.yaml"
					t2[k] = append(t2[k], "- ../../evil.yaml\n"...)
				}, []string{"kustomization.yaml", "evil.yaml"}},
			}
			for _, m := range mutations {
				t2 := output.Tree{}
				for p, b := range tree {
					t2[p] = append([]byte(nil), b...)
				}
				m.mutate(t2)
				err := pipeline.CheckIntegrity(f, set, t2)
				if err == nil {
					t.Errorf("%s: the check passed", m.name)
					continue
				}
				for _, w := range m.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error does not say %q:\n%v", m.name, w, err)
					}
				}
			}
		})
	}
}

// objectName is how the check names the object of a workload policy file:
// kind namespace/name (a calico tier prefixes the name).
func objectName(set *policy.Set, path string) string {
	for _, ns := range set.Namespaces {
		for _, p := range ns.Policies {
			if path == ns.Name+"/"+p.Name+".yaml" {
				return p.Name + ")"
			}
		}
	}
	return path
}
