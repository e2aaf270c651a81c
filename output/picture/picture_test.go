package picture_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output/picture"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

const flows = "../../testdata/flows"

// learn learns the graph of the sample files named (globs under
// testdata/flows) as `flowfence graph --from` does.
func learn(t testing.TB, globs ...string) *learner.Graph {
	t.Helper()
	var from []string
	for _, g := range globs {
		from = append(from, filepath.Join(flows, g))
	}
	return learnFiles(t, from...)
}

// learnFiles learns the graph of the files (or globs) from.
func learnFiles(t testing.TB, from ...string) *learner.Graph {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, _, err := pipeline.Learn(context.Background(), from, pipeline.LearnOptions{}, log)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGolden: the Mermaid and DOT pictures of the sample, whole, one
// namespace, and against a baseline (the graph of node-a alone).
func TestGolden(t *testing.T) {
	sample := learn(t, "*.json*")
	nodeA := learn(t, "node-a.jsonl")
	cases := []struct {
		name string
		opts picture.Options
	}{
		{"sample", picture.Options{}},
		{"namespace-shop", picture.Options{Namespaces: []string{"shop"}}},
		{"baseline-node-a", picture.Options{Baseline: nodeA}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := picture.Build(sample, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, golden.Dir(t, c.name), map[string][]byte{"graph.mmd": picture.Mermaid(p), "graph.dot": picture.DOT(p)})
		})
	}
}

// TestBuild checks what a reader of the picture relies on, against the
// graph itself: every node drawn once in its namespace's group, every
// learned and denied edge drawn with its port and state, the -n scope, and
// new edges exactly those `flowfence diff --baseline` reports.
func TestBuild(t *testing.T) {
	sample := learn(t, "*.json*")
	nodeA := learn(t, "node-a.jsonl")
	d, err := diffcheck.Compare(sample, nil, nodeA, "node-a", synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.NewEdges) == 0 || len(sample.Denied) == 0 {
		t.Fatalf("the sample has %d new edges against node-a and %d denied: the test checks nothing", len(d.NewEdges), len(sample.Denied))
	}
	cases := []struct {
		name  string
		opts  picture.Options
		scope []string
	}{
		{name: "all", opts: picture.Options{}},
		{name: "-n shop", opts: picture.Options{Namespaces: []string{"shop"}}, scope: []string{"shop"}},
		{name: "-n data -n payments", opts: picture.Options{Namespaces: []string{"data", "payments"}}, scope: []string{"data", "payments"}},
		{name: "baseline", opts: picture.Options{Baseline: nodeA}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := picture.Build(sample, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]picture.Node{}
			drawn := map[string]string{} // graph node description → picture id
			for _, n := range p.Nodes {
				if _, dup := drawn[n.Detail]; dup {
					t.Errorf("node %q drawn twice", n.Detail)
				}
				byID[n.ID], drawn[n.Detail] = n, n.ID
			}
			groupOf := map[string]string{}
			for _, g := range p.Groups {
				groupOf[g.ID] = g.Name
			}
			inScope := func(n *learner.Node) bool {
				return len(c.scope) == 0 || n.Kind == learner.NodeWorkload && slices.Contains(c.scope, n.Namespace)
			}
			newKeys := map[string]bool{}
			for _, f := range d.NewEdges {
				newKeys[f.Src+" "+f.Dst+" "+f.Protocol+" "+itoa(f.Port)] = true
			}
			wantNodes := map[string]bool{}
			check := func(e *learner.Edge, state string) {
				src, dst := sample.Nodes[e.Src], sample.Nodes[e.Dst]
				if !inScope(src) && !inScope(dst) {
					return
				}
				if c.opts.Baseline != nil && state == picture.StateLearned && newKeys[e.Src+" "+e.Dst+" "+e.Proto+" "+itoa(e.Port)] {
					state = picture.StateNew
				}
				ps, pd := picture.Detail(src), picture.Detail(dst)
				wantNodes[ps], wantNodes[pd] = true, true
				port := e.Proto
				if e.Port != 0 {
					port += "/" + itoa(e.Port)
				}
				for _, pe := range p.Edges {
					if pe.Src == drawn[ps] && pe.Dst == drawn[pd] && pe.State == state && slices.Contains(pe.Ports, port) {
						return
					}
				}
				t.Errorf("edge %s -> %s %s (%s) not drawn", ps, pd, port, state)
			}
			for _, e := range sample.Edges {
				check(e, picture.StateLearned)
			}
			for _, e := range sample.Denied {
				check(e, picture.StateDenied)
			}
			for _, n := range sample.Nodes {
				if len(c.scope) == 0 || inScope(n) {
					wantNodes[picture.Detail(n)] = true
				}
			}
			if len(drawn) != len(wantNodes) {
				t.Errorf("%d nodes drawn, want %d", len(drawn), len(wantNodes))
			}
			for n := range wantNodes {
				if _, ok := drawn[n]; !ok {
					t.Errorf("node %q not drawn", n)
				}
			}
			for _, gn := range sample.Nodes {
				id, ok := drawn[picture.Detail(gn)]
				if !ok {
					continue
				}
				want := ""
				if gn.Kind == learner.NodeWorkload {
					want = gn.Namespace
				}
				if got := groupOf[byID[id].Group]; got != want {
					t.Errorf("%s drawn in group %q, want %q", picture.Detail(gn), got, want)
				}
			}
			edges := 0
			for _, pe := range p.Edges {
				edges += len(pe.Ports)
			}
			if c.opts.Baseline != nil {
				if got := p.Counts().New; got == 0 {
					t.Error("no new edge drawn")
				}
				ports := 0
				for _, pe := range p.Edges {
					if pe.State == picture.StateNew {
						ports += len(pe.Ports)
					}
				}
				if ports != len(d.NewEdges) {
					t.Errorf("%d new edge ports drawn, diff reports %d new edges", ports, len(d.NewEdges))
				}
			}
			if len(c.scope) == 0 && edges != len(sample.Edges)+len(sample.Denied) {
				t.Errorf("%d edge ports drawn, the graph has %d edges and %d denied", edges, len(sample.Edges), len(sample.Denied))
			}
		})
	}
	if _, err := picture.Build(sample, picture.Options{Namespaces: []string{"nosuch"}}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("a namespace the graph does not have: error %v, want one naming it", err)
	}
}

func itoa[T ~uint16 | ~int](v T) string {
	var b []byte
	n := int(v)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
