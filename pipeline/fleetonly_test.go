package pipeline_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/escape/escapetest"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// fleetOf returns three clusters' graphs (the sample, the third with one
// more edge: an existing workload edge on port 9999) and their merge.
func fleetOf(t *testing.T, names [3]string) (map[string]*learner.Graph, *learner.Graph, learner.EdgeKey) {
	t.Helper()
	base, _ := learnSample(t, 1)
	clusters := map[string]*learner.Graph{}
	var extra learner.EdgeKey
	for i, n := range names {
		g := learner.NewGraph()
		g.Merge(base)
		if i == 2 {
			for _, e := range learner.SortedEdges(g.Edges) {
				if strings.HasPrefix(e.Src, "pod:") && strings.HasPrefix(e.Dst, "pod:") && e.Proto == "TCP" {
					c := *e
					c.Port, c.Flows = 9999, 7
					extra = c.Key()
					g.Edges[extra] = &c
					break
				}
			}
		}
		clusters[n] = g
	}
	if extra.Port == 0 {
		t.Fatal("the sample has no workload-to-workload TCP edge")
	}
	fleet := learner.NewGraph()
	for _, g := range clusters {
		fleet.Merge(g)
	}
	return clusters, fleet, extra
}

// TestFleetOnly: a tree merged from three clusters admits the edge only
// one of them observed, and ROLLOUT.md, the FLOWS.md of both its
// namespaces and the run summary name that cluster and that edge; the
// other clusters have nothing of their own; a namespace the edge does not
// touch has no fleet section.
func TestFleetOnly(t *testing.T) {
	names := [3]string{"prod-eu-1", "prod-us-1", "prod-ap-1"}
	clusters, fleet, extra := fleetOf(t, names)
	f, err := pipeline.Formatter("k8s")
	if err != nil {
		t.Fatal(err)
	}
	sum := &pipeline.Summary{Clusters: clusters}
	set, tree, err := pipeline.RenderLearned(fleet, sum, synth.Options{}, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Fleet) != 3 {
		t.Fatalf("fleet report of %d clusters, want 3", len(set.Fleet))
	}
	srcNS, dstNS := nsOf(extra.Src), nsOf(extra.Dst)
	for _, c := range set.Fleet {
		want := 0
		if c.Cluster == "prod-ap-1" {
			want = 1
		}
		if len(c.Edges) != want {
			t.Fatalf("cluster %s: %d edges only there, want %d: %+v", c.Cluster, len(c.Edges), want, c.Edges)
		}
		if want == 1 {
			e := c.Edges[0]
			if e.Port != 9999 || e.Flows != 7 || e.SrcNamespace != srcNS || e.DstNamespace != dstNS {
				t.Fatalf("cluster %s: the edge only there is %+v, want %s on port 9999 with 7 flows", c.Cluster, e, extra)
			}
		}
	}
	// the merged tree admits it
	admitted := false
	for _, ns := range set.Namespaces {
		for _, e := range ns.Evidence {
			if e.Port == 9999 && e.Admitted {
				admitted = true
			}
		}
	}
	if !admitted {
		t.Fatal("the fleet tree does not admit the edge one cluster observed")
	}
	rollout := string(tree["ROLLOUT.md"])
	section := rollout[strings.Index(rollout, "## Fleet: edges only one cluster observed"):]
	for _, want := range []string{
		"This tree merges the graphs of 3 clusters (prod-ap-1, prod-eu-1, prod-us-1)",
		"### Only in cluster prod-ap-1\n\n| from | to | protocol | port | flows |",
		fmt.Sprintf("| %s | %s | TCP | 9999 | 7 |", strings.TrimPrefix(extra.Src, "pod:"), strings.TrimPrefix(extra.Dst, "pod:")),
		"### Only in cluster prod-eu-1\n\nNothing: another cluster observed every edge this one did.",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("ROLLOUT.md lacks %q:\n%s", want, section)
		}
	}
	for name, doc := range tree {
		if !strings.HasSuffix(name, "/FLOWS.md") {
			continue
		}
		ns := strings.TrimSuffix(name, "/FLOWS.md")
		has := strings.Contains(string(doc), "## Only in cluster prod-ap-1") && strings.Contains(string(doc), "| 9999 | 7 |")
		if want := ns == srcNS || ns == dstNS; has != want {
			t.Errorf("%s: fleet section %v, want %v", name, has, want)
		}
		if strings.Contains(string(doc), "Only in cluster prod-eu-1") {
			t.Errorf("%s: a section for a cluster with nothing of its own", name)
		}
	}
	var out bytes.Buffer
	pipeline.PrintSummary(&out, sum, fleet, set, "out")
	if want := "fleet:     3 clusters merged, edges only one observed: prod-ap-1 (1 only there), prod-eu-1 (0 only there), prod-us-1 (0 only there)"; !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
	// without clusters, no fleet section
	_, plain, err := pipeline.RenderLearned(fleet, &pipeline.Summary{}, synth.Options{}, f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain["ROLLOUT.md"]), "## Fleet") {
		t.Error("a tree without --fleet has a fleet section")
	}
}

// TestFleetOnlyNamesEscaped: hostile cluster names render as text: the
// fleet sections have the elements they have with plain names.
func TestFleetOnlyNamesEscaped(t *testing.T) {
	hostile, err := escapetest.Names("../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := pipeline.Formatter("k8s")
	if err != nil {
		t.Fatal(err)
	}
	render := func(names [3]string) output.Tree {
		clusters, fleet, _ := fleetOf(t, names)
		_, tree, err := pipeline.RenderLearned(fleet, &pipeline.Summary{Clusters: clusters}, synth.Options{}, f)
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	for i := 0; i+2 < len(hostile); i += 3 {
		names := [3]string{hostile[i], hostile[i+1], hostile[i+2]}
		if names[0] == names[1] || names[1] == names[2] || names[0] == names[2] {
			continue
		}
		// plain names in the same order (the clusters are listed sorted)
		var benign [3]string
		for j, n := range names {
			rank := 0
			for _, o := range names {
				if o < n {
					rank++
				}
			}
			benign[j] = string(rune('a' + rank))
		}
		plain := render(benign)
		tree := render(names)
		for name, doc := range plain {
			if !strings.HasSuffix(name, ".md") {
				continue
			}
			w, err := escapetest.Render(doc)
			if err != nil {
				t.Fatal(err)
			}
			g, err := escapetest.Render(tree[name])
			if err != nil {
				t.Fatal(err)
			}
			if d := escapetest.FirstDiff(escapetest.Shape(w), escapetest.Shape(g)); d != "" {
				t.Errorf("%s with clusters %q: the names change the rendered elements: %s", name, names, d)
			}
		}
	}
}

func nsOf(id string) string {
	s := strings.TrimPrefix(id, "pod:")
	return s[:strings.Index(s, "/")]
}
