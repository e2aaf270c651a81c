package diffcheck_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// The figure: verify of 100,000 edges against 10,000 policies.
const (
	benchNamespaces = 1000
	benchEdges      = 100_000
	benchPolicies   = 10_000
)

// benchGraph builds a canonical graph of benchNamespaces namespaces with 10
// workloads each and 100 edges per namespace, so that flowfence writes
// exactly 10 policies per namespace (default-deny, allow-dns, 4 egress, 4
// ingress):
//   - clients c0..c3 call servers s0..s3 of their namespace on 8080-8083
//     (64 edges) and of the next namespace on 9090 (16, cross-namespace
//     peers), and one external IP each on 443 (4, ipBlock /32s);
//   - four internet clients call s0 on 8443 (4, a public entrypoint);
//   - all ten workloads resolve names over UDP, the jobs j0, j1 over TCP
//     too (12, the DNS bundle): the jobs get no policy of their own.
func benchGraph(namespaces int) *learner.Graph {
	g := learner.NewGraph()
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	g.First, g.Last = t0, t0.Add(24*time.Hour)
	node := func(n *learner.Node) string {
		n.FirstSeen, n.LastSeen = g.First, g.Last
		g.Nodes[n.ID] = n
		return n.ID
	}
	pod := func(ns, name string, labels map[string]string) string {
		return node(&learner.Node{ID: "pod:" + ns + "/" + name, Kind: learner.NodeWorkload, Namespace: ns, Name: name, WorkloadKind: "Deployment",
			Labels: labels, LabelSets: []map[string]string{labels}, NamespaceLabels: map[string]string{k8s.NamespaceLabel: ns}})
	}
	ip := func(a string) string { return node(&learner.Node{ID: "ip:" + a, Kind: learner.NodeExternal, IP: a}) }
	edge := func(src, dst, proto string, port uint16) {
		e := &learner.Edge{Src: src, Dst: dst, Proto: proto, Port: port, Flows: 40, FirstSeen: g.First, LastSeen: g.Last}
		g.Edges[e.Key()] = e
	}
	dns := pod("kube-system", "coredns", map[string]string{"k8s-app": "kube-dns"})
	nsName := func(i int) string { return fmt.Sprintf("team-%04d", i%namespaces) }
	for i := range namespaces {
		ns, next := nsName(i), nsName(i+1)
		w := func(ns, name string) string { return pod(ns, name, map[string]string{"app.kubernetes.io/name": name}) }
		for c := range 4 {
			client := w(ns, fmt.Sprintf("c%d", c))
			for s := range 4 {
				for port := uint16(8080); port < 8084; port++ {
					edge(client, w(ns, fmt.Sprintf("s%d", s)), "TCP", port)
				}
				edge(client, w(next, fmt.Sprintf("s%d", s)), "TCP", 9090)
			}
			n := i*4 + c
			edge(client, ip(fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)), "TCP", 443)
			edge(ip(fmt.Sprintf("203.0.113.%d", c+1)), w(ns, "s0"), "TCP", 8443)
		}
		for _, name := range []string{"c0", "c1", "c2", "c3", "s0", "s1", "s2", "s3", "j0", "j1"} {
			edge(w(ns, name), dns, "UDP", 53)
		}
		edge(w(ns, "j0"), dns, "TCP", 53)
		edge(w(ns, "j1"), dns, "TCP", 53)
	}
	return g
}

// benchTree renders the benchmark graph as flowfence generate would. Each
// namespace is synthesized from the subgraph of the edges that touch it —
// the only edges its policies depend on — which gives the same policies as
// one Synthesize of the whole graph without its cost (synth walks every
// edge once per namespace: minutes at this size).
func benchTree(tb testing.TB, namespaces int) (*learner.Graph, output.Tree) {
	tb.Helper()
	return benchTreeOf(tb, namespaces, k8s.Formatter{})
}

// benchTreeOf is benchTree rendered by f.
func benchTreeOf(tb testing.TB, namespaces int, f output.Formatter) (*learner.Graph, output.Tree) {
	tb.Helper()
	g := benchGraph(namespaces)
	touching := map[string][]*learner.Edge{}
	for _, e := range g.Edges {
		for _, id := range []string{e.Src, e.Dst} {
			if n := g.Nodes[id]; n.Kind == learner.NodeWorkload && n.Namespace != "kube-system" {
				touching[n.Namespace] = append(touching[n.Namespace], e)
			}
		}
	}
	set := &policy.Set{}
	for ns, edges := range touching {
		sub := learner.NewGraph()
		sub.First, sub.Last = g.First, g.Last
		for _, e := range edges {
			sub.Edges[e.Key()] = e
			sub.Nodes[e.Src], sub.Nodes[e.Dst] = g.Nodes[e.Src], g.Nodes[e.Dst]
		}
		part, err := synth.Synthesize(sub, synth.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		set.Guard = part.Guard // the same for every part: synth's defaults
		for _, n := range part.Namespaces {
			if n.Name == ns {
				set.Namespaces = append(set.Namespaces, n)
			}
		}
	}
	tree, err := f.Render(set)
	if err != nil {
		tb.Fatal(err)
	}
	return g, tree
}

func benchChecker(tb testing.TB, tree output.Tree) *diffcheck.Checker {
	tb.Helper()
	nps, err := k8s.DecodeTree(tree)
	if err != nil {
		tb.Fatal(err)
	}
	opts, _ := diffcheck.NewOptions(synth.Options{})
	c, err := diffcheck.NewChecker(&diffcheck.Tree{Dir: "bench", Policies: nps, Files: map[string]string{}}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkVerify100kEdges10kPolicies measures the replay of verify: every
// one of 100,000 observed edges (each end one label set) against 10,000
// NetworkPolicies in 1,000 namespaces, all cores. Reading and compiling
// the policies is measured apart (BenchmarkVerifyReadTree10kPolicies).
func BenchmarkVerify100kEdges10kPolicies(b *testing.B) {
	g, tree := benchTree(b, benchNamespaces)
	c := benchChecker(b, tree)
	if c.Engine().Len() != benchPolicies || len(g.Edges) != benchEdges {
		b.Fatalf("fixture: %d policies, %d edges", c.Engine().Len(), len(g.Edges))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testsupport.ProcessCPU()
	for b.Loop() {
		if v := c.Verify(g); v.Failed() {
			b.Fatalf("%d denied", v.Counts.Denied)
		}
	}
	reportPerEdge(b, testsupport.ProcessCPU()-cpu)
}

// reportPerEdge reports wall time per verify and per edge, and the CPU time
// per edge (all threads; not counted where processCPU is not measured).
func reportPerEdge(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEdges, "ns/edge")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/benchEdges, "cpu-ns/edge")
	}
}

// BenchmarkVerify100kEdges10kPoliciesOneCore is the same replay on one
// worker.
func BenchmarkVerify100kEdges10kPoliciesOneCore(b *testing.B) {
	g, tree := benchTree(b, benchNamespaces)
	nps, err := k8s.DecodeTree(tree)
	if err != nil {
		b.Fatal(err)
	}
	opts, _ := diffcheck.NewOptions(synth.Options{})
	opts.Workers = 1
	c, err := diffcheck.NewChecker(&diffcheck.Tree{Dir: "bench", Policies: nps}, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := testsupport.ProcessCPU()
	for b.Loop() {
		c.Verify(g)
	}
	reportPerEdge(b, testsupport.ProcessCPU()-cpu)
}

// BenchmarkVerifyReadTree10kPolicies measures what verify does before the
// replay: read the 10,000 policy files from disk (strict YAML decode and
// API-server validation) and compile them.
func BenchmarkVerifyReadTree10kPolicies(b *testing.B) {
	_, tree := benchTree(b, benchNamespaces)
	dir := filepath.Join(b.TempDir(), "policies")
	if err := output.WriteTree(dir, tree); err != nil {
		b.Fatal(err)
	}
	opts, _ := diffcheck.NewOptions(synth.Options{})
	b.ResetTimer()
	cpu := testsupport.ProcessCPU()
	for b.Loop() {
		t, err := diffcheck.ReadTree(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := diffcheck.NewChecker(t, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/read")
	if d := testsupport.ProcessCPU() - cpu; d > 0 {
		b.ReportMetric(float64(d.Milliseconds())/float64(b.N), "cpu-ms/read")
	}
}

// TestBenchFixture keeps the benchmark honest without running it, on 50 of
// its 1,000 namespaces (sizes are linear in the namespaces; the benchmark
// checks the full ones): 10 policies and 100 edges per namespace, every
// edge admitted, and removing one policy makes exactly its flows fail.
func TestBenchFixture(t *testing.T) {
	const namespaces = 50
	g, tree := benchTree(t, namespaces)
	c := benchChecker(t, tree)
	if c.Engine().Len() != namespaces*benchPolicies/benchNamespaces || len(g.Edges) != namespaces*benchEdges/benchNamespaces {
		t.Fatalf("fixture: %d policies, %d edges for %d namespaces; want 10 and 100 per namespace", c.Engine().Len(), len(g.Edges), namespaces)
	}
	v := c.Verify(g)
	if v.Failed() || v.Counts.Allowed != len(g.Edges) {
		t.Fatalf("counts %+v: every edge should be admitted", v.Counts)
	}
	kinds := map[string]int{}
	nps, _ := k8s.DecodeTree(tree)
	var kept []*networkingv1.NetworkPolicy
	for _, np := range nps {
		kinds[np.Name]++
		if np.Namespace != "team-0007" || np.Name != "s2-ingress" {
			kept = append(kept, np)
		}
	}
	for _, name := range []string{"default-deny", "allow-dns", "c0-egress", "s3-ingress"} {
		if kinds[name] != namespaces {
			t.Errorf("%d %s policies, want one per namespace", kinds[name], name)
		}
	}
	opts, _ := diffcheck.NewOptions(synth.Options{})
	c2, err := diffcheck.NewChecker(&diffcheck.Tree{Dir: "bench", Policies: kept}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// s2 of team-0007 is called by its 4 clients on 4 ports and by the 4
	// clients of team-0006 on 9090
	if v := c2.Verify(g); v.Counts.Denied != 20 {
		t.Errorf("without team-0007/s2-ingress: %d denied, want 20", v.Counts.Denied)
	}
}

// TestBenchTreeIsWhatGenerateWrites: the per-namespace synthesis of the
// fixture gives byte for byte the files of one Synthesize of the whole
// graph (checked on 20 namespaces).
func TestBenchTreeIsWhatGenerateWrites(t *testing.T) {
	g, fast := benchTree(t, 20)
	set, err := synth.Synthesize(g, synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := k8s.Formatter{}.Render(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) != len(whole) || len(whole) != 20*11 {
		t.Fatalf("%d files per namespace, %d from one Synthesize; want 20*11", len(fast), len(whole))
	}
	for p, b := range whole {
		if string(fast[p]) != string(b) {
			t.Errorf("%s differs from what generate writes", p)
		}
	}
}
