package pipeline_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
)

const sampleGlob = "../testdata/flows/*.json*"

func learnSample(t *testing.T, workers int, from ...string) (*learner.Graph, *pipeline.Summary) {
	t.Helper()
	if len(from) == 0 {
		from = []string{sampleGlob}
	}
	g, sum, err := pipeline.Learn(context.Background(), from, pipeline.LearnOptions{Collect: collectors.Options{Workers: workers}}, nil)
	if err != nil {
		t.Fatalf("learn: %v", err)
	}
	return g, sum
}

func renderSample(t *testing.T, g *learner.Graph, opts synth.Options) (*policy.Set, output.Tree) {
	t.Helper()
	set, tree, err := pipeline.Render(g, opts, "k8s")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return set, tree
}

// engineOf is the NetworkPolicy evaluator of a generated k8s tree.
func engineOf(t *testing.T, tree output.Tree, opts verifier.Options) *verifier.Engine {
	t.Helper()
	nps, err := k8s.DecodeTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verifier.New(nps, opts)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// peer turns a scenario peer into the verifier's view of it, with the pod's
// full labels (including the pod-specific ones flows never carry).
func peer(t *testing.T, spec scenario.Spec, p scenario.Peer) verifier.Peer {
	t.Helper()
	if p.Pod != "" {
		pod, ok := spec.Pod(p.Namespace, p.Pod)
		if !ok {
			t.Fatalf("probe names unknown pod %s/%s", p.Namespace, p.Pod)
		}
		var named map[string]verifier.NamedPort
		for _, cp := range spec.ContainerPorts(pod.Namespace, pod.Name) {
			if named == nil {
				named = map[string]verifier.NamedPort{}
			}
			named[cp.Name] = verifier.NamedPort{Port: cp.ContainerPort, Protocol: cp.Protocol}
		}
		return verifier.Peer{IsPod: true, Namespace: pod.Namespace, Labels: pod.Labels, NamespaceLabels: spec.NamespaceLabels(p.Namespace), IP: netip.MustParseAddr(pod.IP), NamedPorts: named}
	}
	a, err := netip.ParseAddr(p.IP)
	if err != nil {
		t.Fatalf("probe peer %v: %v", p, err)
	}
	return verifier.Peer{IP: a, IsNode: p.Entity == scenario.EntityHost || p.Entity == scenario.EntityRemoteNode}
}

// TestScenarioWhoMayCallWhom is the user's check: every observed request of
// the sample cluster is admitted by the generated tree, and everything else
// (unobserved pairs, wrong port or protocol, look-alike labels in another
// namespace, the metadata address, unobserved external IPs) stays denied.
func TestScenarioWhoMayCallWhom(t *testing.T) {
	g, _ := learnSample(t, 0)
	_, tree := renderSample(t, g, synth.Options{})
	eng := engineOf(t, tree, verifier.Options{})
	spec := scenario.Cluster()
	probes := scenario.Expected()
	if len(probes) < 50 {
		t.Fatalf("only %d probes: the scenario shrank", len(probes))
	}
	for _, p := range probes {
		t.Run(p.Name, func(t *testing.T) {
			res := eng.Evaluate(verifier.Traffic{Src: peer(t, spec, p.Src), Dst: peer(t, spec, p.Dst), Protocol: corev1.Protocol(p.Proto), Port: int32(p.Port)})
			got := res.Verdict == verifier.Allowed
			if got != p.Allowed {
				t.Errorf("%s -> %s %s/%d: allowed=%v, want %v (%s); verifier: %s", p.Src, p.Dst, p.Proto, p.Port, got, p.Allowed, p.Why, res.Reason)
			}
		})
	}
	for _, p := range scenario.Inexpressible() {
		res := eng.Evaluate(verifier.Traffic{Src: peer(t, spec, p.Src), Dst: peer(t, spec, p.Dst), Protocol: corev1.Protocol(p.Proto), Port: int32(p.Port)})
		if res.Verdict != verifier.Inexpressible {
			t.Errorf("%s: verdict %v, want Inexpressible", p.Name, res.Verdict)
		}
	}
}

// TestScenarioFindings checks what the run must tell the user.
func TestScenarioFindings(t *testing.T) {
	g, sum := learnSample(t, 0)
	set, _ := renderSample(t, g, synth.Options{})
	has := func(kind, ns, workload, peerSub string) bool {
		for _, f := range set.Findings {
			if f.Kind == kind && f.Namespace == ns && (workload == "" || f.Workload == workload) && strings.Contains(f.Peer, peerSub) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ kind, ns, workload, peer string }{
		{policy.FindMetadata, "payments", "fraud", scenario.MetadataIP},
		{policy.FindDenied, "shop-staging", "frontend", "shop/cart"},
		{policy.FindPublic, "shop", "frontend", ""},
		{policy.FindHostTraffic, "shop", "frontend", "host"},
		{policy.FindInexpressible, "shop", "frontend", "data/redis"},
	} {
		if !has(c.kind, c.ns, c.workload, c.peer) {
			t.Errorf("missing finding %s for %s/%s (%s); findings: %+v", c.kind, c.ns, c.workload, c.peer, set.Findings)
		}
	}
	if sum.Input.Truncated != 1 || sum.Input.Malformed != 0 {
		t.Errorf("truncated=%d malformed=%d, want 1 and 0 (the rotated node-a file)", sum.Input.Truncated, sum.Input.Malformed)
	}
	if g.Stats.Duplicates != 1 {
		t.Errorf("duplicates=%d, want 1 (the resent uuid)", g.Stats.Duplicates)
	}
	ready := map[string]string{}
	for _, ns := range set.Namespaces {
		ready[ns.Name] = ns.Readiness.State
	}
	want := map[string]string{"shop": policy.Stable, "payments": policy.Stable, "data": policy.Stable, "monitoring": policy.Stable, "shop-staging": policy.StillLearning}
	for ns, st := range want {
		if ready[ns] != st {
			t.Errorf("readiness of %s = %q, want %q", ns, ready[ns], st)
		}
	}
	if len(set.System) != 1 || set.System[0] != "kube-system" {
		t.Errorf("system namespaces %v, want [kube-system]", set.System)
	}
}

// TestMetadataOptIn: a named opt-in admits exactly that workload's call.
func TestMetadataOptIn(t *testing.T) {
	g, _ := learnSample(t, 0)
	opt := policy.OptIn{Namespace: "payments", Workload: "fraud", Address: scenario.MetadataIP, Port: 80}
	_, tree := renderSample(t, g, synth.Options{MetadataAllow: []policy.OptIn{opt}})
	eng := engineOf(t, tree, verifier.Options{})
	spec := scenario.Cluster()
	fraud := spec.WorkloadPods("payments", "fraud")[0]
	api := spec.WorkloadPods("payments", "api")[0]
	md := scenario.Peer{IP: scenario.MetadataIP, Entity: scenario.EntityWorld}
	for _, c := range []struct {
		src  scenario.Pod
		port int32
		want verifier.Verdict
	}{{fraud, 80, verifier.Allowed}, {fraud, 443, verifier.Denied}, {api, 80, verifier.Denied}} {
		res := eng.Evaluate(verifier.Traffic{Src: peer(t, spec, scenario.Peer{Namespace: c.src.Namespace, Pod: c.src.Name}), Dst: peer(t, spec, md), Protocol: corev1.ProtocolTCP, Port: c.port})
		if res.Verdict != c.want {
			t.Errorf("%s -> metadata:%d = %v, want %v", c.src.Name, c.port, res.Verdict, c.want)
		}
	}
}

// TestGoldenTree compares the generated tree with testdata/golden/k8s
// (regenerate with: go test ./pipeline/ -run Golden -update).
func TestGoldenTree(t *testing.T) {
	g, _ := learnSample(t, 0)
	set, tree := renderSample(t, g, synth.Options{})
	if len(set.Namespaces) != 5 {
		t.Fatalf("%d namespaces, want 5", len(set.Namespaces))
	}
	golden.Compare(t, golden.Dir(t, "k8s"), tree)
}

// TestDeterministic: the same input gives byte-identical trees, whatever
// the number of decode workers and the order of the sources.
func TestDeterministic(t *testing.T) {
	files, _ := filepath.Glob(sampleGlob)
	rev := make([]string, len(files))
	for i, f := range files {
		rev[len(files)-1-i] = f
	}
	g1, _ := learnSample(t, 1, files...)
	g2, _ := learnSample(t, 4, rev...)
	_, t1 := renderSample(t, g1, synth.Options{})
	_, t2 := renderSample(t, g2, synth.Options{})
	if strings.Join(t1.Paths(), ",") != strings.Join(t2.Paths(), ",") {
		t.Fatalf("paths differ: %v vs %v", t1.Paths(), t2.Paths())
	}
	for _, p := range t1.Paths() {
		if string(t1[p]) != string(t2[p]) {
			t.Errorf("%s differs between runs:\n%s", p, golden.FirstDiff(string(t1[p]), string(t2[p])))
		}
	}
}

// TestEveryObjectIsValid: each YAML file decodes strictly into
// networking/v1 and passes the API server's checks; each kustomization
// lists exactly the namespace's policy files.
func TestEveryObjectIsValid(t *testing.T) {
	g, _ := learnSample(t, 0)
	_, tree := renderSample(t, g, synth.Options{})
	byNS := map[string][]string{}
	for _, p := range tree.Paths() {
		ns, file, ok := strings.Cut(p, "/")
		if !ok || !strings.HasSuffix(file, ".yaml") || file == "kustomization.yaml" {
			continue
		}
		nps, err := k8s.Decode(p, tree[p])
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(nps) != 1 || nps[0].Namespace != ns {
			t.Errorf("%s: want one policy in namespace %s, got %d", p, ns, len(nps))
		}
		byNS[ns] = append(byNS[ns], file)
	}
	for ns, files := range byNS {
		k := string(tree[ns+"/kustomization.yaml"])
		for _, f := range files {
			if !strings.Contains(k, "- "+f+"\n") {
				t.Errorf("%s/kustomization.yaml does not list %s", ns, f)
			}
		}
		if strings.Count(k, "\n- ") != len(files) {
			t.Errorf("%s/kustomization.yaml lists %d resources, the namespace has %d", ns, strings.Count(k, "\n- "), len(files))
		}
		if tree[ns+"/FLOWS.md"] == nil {
			t.Errorf("%s/FLOWS.md missing", ns)
		}
	}
	if tree["ROLLOUT.md"] == nil {
		t.Error("ROLLOUT.md missing")
	}
}
