package pipeline_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// fuzzGraph is a small graph whose names come from the fuzzer: workload
// ns/name (labels key=value) calls an external IP named dns on TCP 443,
// seen on cluster node node.
func fuzzGraph(ns, name, key, value, dns, node string) *learner.Graph {
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	g := learner.NewGraph()
	g.First, g.Last = t0, t0.Add(time.Hour)
	labels := map[string]string{key: value}
	w := &learner.Node{ID: "pod:" + ns + "/" + name, Kind: learner.NodeWorkload, Namespace: ns, Name: name, WorkloadKind: learner.KindDeployment,
		Labels: labels, LabelSets: []map[string]string{{key: value}}, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns},
		Pods: []string{name + "-6b7d9c4f5-x2x7q"}, FirstSeen: t0, LastSeen: t0}
	x := &learner.Node{ID: "ip:93.184.216.34", Kind: learner.NodeExternal, Entity: "world", IP: "93.184.216.34", Names: []string{dns}, FirstSeen: t0, LastSeen: t0}
	g.Nodes[w.ID], g.Nodes[x.ID] = w, x
	e := &learner.Edge{Src: w.ID, Dst: x.ID, Proto: "TCP", Port: 443, Flows: 2, FirstSeen: t0, LastSeen: t0, NodesSeen: []string{node}}
	g.Edges[e.Key()] = e
	g.DNS[x.IP] = []string{dns}
	return g
}

// FuzzNamesTree feeds arbitrary bytes into every name a tree is made from
// — namespace, workload, label key and value, DNS name, cluster node name,
// and the Calico tier that prefixes Calico policy names — through both
// routes a name takes: a saved graph (ReadGraph), or, when ReadGraph
// refuses it, the graph as it is (defence in depth at output). The model
// is synthesized once and rendered in every flavor: each either refuses
// with an error, or writes a tree that decodes to the model
// (CheckIntegrity), in which no input text with a line break appears and
// whose only egress address is the observed one. Never a panic. (The
// self-check and reports of RenderWith are left out to keep one iteration
// within a few milliseconds.)
func FuzzNamesTree(f *testing.F) {
	attack := "api.example.com\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0"
	f.Add("shop", "frontend", "app", "frontend", "api.example.com", "node-a", "apps")
	f.Add("shop", "frontend", "app", "frontend", attack, "node-a\n- x", "")
	f.Add("shop\n  namespace: kube-system", "frontend", "app", "frontend", "api.example.com", "node-a", "")
	f.Add("shop", "frontend\n  - to: [{}]", "app", "x\ny", "api.example.com\r\n---\nkind: Secret", "n", "a.b\n- x")
	f.Add("shop", "a.b", "app", "frontеnd", "api.example.com\u2028- 0.0.0.0/0", "node-a", "t")
	f.Add("a", "b", "k8s:app", "", "\x1b]0;x\x07", "", "default")
	f.Fuzz(func(t *testing.T, ns, name, key, value, dns, node, tier string) {
		fuzzBody(t, ns, name, key, value, dns, node, tier)
	})
}

func fuzzBody(t testing.TB, ns, name, key, value, dns, node, tier string) {
	{
		// the graph route when ReadGraph accepts the names, else the graph
		// as it is (what reaches output when nothing upstream refused)
		g := fuzzGraph(ns, name, key, value, dns, node)
		var doc bytes.Buffer
		if err := g.Write(&doc); err != nil {
			return
		}
		if rg, err := learner.ReadGraph("fuzz.json", &doc); err == nil {
			g = rg
		}
		set, err := synth.Synthesize(synth.Canonical(g), synth.Options{})
		if err != nil {
			return // refused
		}
		inputs := []string{ns, name, key, value, dns, node, tier}
		for _, fl := range []struct {
			name string
			fo   pipeline.FormatterOptions
		}{
			{"k8s", pipeline.FormatterOptions{}},
			{"cilium", pipeline.FormatterOptions{}},
			{"calico", pipeline.FormatterOptions{CalicoTier: tier}},
		} {
			f, err := pipeline.NewFormatter(fl.name, fl.fo)
			if err != nil {
				continue
			}
			tree, err := f.Render(set)
			if err != nil {
				continue // refused
			}
			if err := pipeline.CheckIntegrity(f, set, tree); err != nil {
				t.Fatalf("%s: the rendered tree is not the model: %v", fl.name, err)
			}
			for _, p := range tree.Paths() {
				for _, in := range inputs {
					if strings.ContainsAny(in, "\n\r\u0085\u2028\u2029") && bytes.Contains(tree[p], []byte(in)) {
						t.Fatalf("%s %s: input %q is in the file raw", fl.name, p, in)
					}
				}
			}
			// the tree is the model (checked above): read the rules there
			want, err := f.(output.Expecter).Expected(set)
			if err != nil {
				t.Fatal(err)
			}
			var objs []any
			for p, o := range want {
				if !strings.HasPrefix(p, output.ClusterDir+"/") {
					objs = append(objs, o...)
				}
			}
			cidrs := allowedEgress(objs)
			if len(cidrs) > 0 && !slices.Equal(cidrs, []string{observedCIDR}) {
				t.Fatalf("%s: egress to %q, want only %s", fl.name, cidrs, observedCIDR)
			}
		}
	}
}
