package pipeline_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// flavorPeer is a probe peer with its entity, as the Cilium and Calico
// engines see it.
func flavorPeer(t *testing.T, spec scenario.Spec, p scenario.Peer) verifier.Peer {
	vp := peer(t, spec, p)
	vp.Entity = p.Entity
	return vp
}

// TestScenarioOnFlavorEngines is the user's check for the cilium and calico
// flavors, on flowfence's engines of those flavors: the tree generated from
// the sample flows (with its _cluster/ guard) admits every observed request
// — ICMP included, which both flavors express — and refuses everything
// else the probes list.
func TestScenarioOnFlavorEngines(t *testing.T) {
	g, _ := learnSample(t, 0)
	spec := scenario.Cluster()
	probes := scenario.Expected()
	for _, p := range scenario.Inexpressible() {
		p.Allowed = true
		probes = append(probes, p)
	}
	for _, flavor := range []string{"cilium", "calico", stagedCalico} {
		t.Run(flavor, func(t *testing.T) {
			_, tree, err := renderFlavor(g, flavor)
			if err != nil {
				t.Fatalf("render (self-check included): %v", err)
			}
			eng := flavorEngine(t, tree)
			for _, p := range probes {
				res := eng.Evaluate(verifier.Traffic{Src: flavorPeer(t, spec, p.Src), Dst: flavorPeer(t, spec, p.Dst), Protocol: corev1.Protocol(p.Proto), Port: int32(p.Port)})
				if got := res.Verdict == verifier.Allowed; got != p.Allowed {
					t.Errorf("%s: allowed=%v, want %v (%s); engine: %s", p.Name, got, p.Allowed, p.Why, res.Reason)
				}
			}
		})
	}
}

func flavorEngine(t *testing.T, tree output.Tree) verifier.Evaluator {
	t.Helper()
	ps, err := policyset.FromTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ps.Evaluator("")
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// stagedCalico names the calico --staged tree in flavor tables.
const stagedCalico = "calico --staged"

// renderFlavor renders g as generate does for a flavor or stagedCalico.
func renderFlavor(g *learner.Graph, flavor string) (*policy.Set, output.Tree, error) {
	if flavor == stagedCalico {
		return pipeline.RenderWith(g, synth.Options{}, caliout.Formatter{Staged: true})
	}
	return pipeline.Render(g, synth.Options{}, flavor)
}

// TestSelfCheckCatchesADroppedRule: generate's self-check replays the
// window against the cilium and calico trees it wrote (a --staged tree as
// promoted); a tree missing a workload's egress policy fails it, naming
// the flow.
func TestSelfCheckCatchesADroppedRule(t *testing.T) {
	g, _ := learnSample(t, 0)
	for _, flavor := range []string{"cilium", "calico", stagedCalico} {
		t.Run(flavor, func(t *testing.T) {
			set, tree, err := renderFlavor(g, flavor)
			if err != nil {
				t.Fatal(err)
			}
			if err := pipeline.SelfCheck(g, set, tree); err != nil {
				t.Fatalf("self-check of the tree as written: %v", err)
			}
			if _, ok := tree["shop/frontend-egress.yaml"]; !ok {
				t.Fatalf("no shop/frontend-egress.yaml in %v", tree.Paths())
			}
			delete(tree, "shop/frontend-egress.yaml")
			err = pipeline.SelfCheck(g, set, tree)
			if err == nil || !strings.Contains(err.Error(), "pod:shop/frontend -> pod:shop/cart TCP/8080") {
				t.Fatalf("self-check without frontend's egress: %v", err)
			}
		})
	}
}
