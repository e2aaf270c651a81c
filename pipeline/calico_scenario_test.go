package pipeline_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/learner"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
)

// learnCalico renders the scenario as Calico flow logs and learns them.
func learnCalico(t *testing.T, o scenario.CalicoOptions) (*learner.Graph, *pipeline.Summary) {
	t.Helper()
	files, err := scenario.RenderCalico(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return learnSample(t, 0, filepath.Join(dir, "*"))
}

// edgeSet renders a graph's edges with every endpoint named by what a
// policy can select: a workload, or an address (Hubble's entities and
// Calico's networks and host endpoints name the same addresses).
func edgeSet(g *learner.Graph, edges map[learner.EdgeKey]*learner.Edge) []string {
	name := func(id string) string {
		n := g.Nodes[id]
		if n.Kind == learner.NodeWorkload {
			return id
		}
		return "addr:" + n.IP
	}
	var out []string
	for _, e := range learner.SortedEdges(edges) {
		out = append(out, name(e.Src)+" -> "+name(e.Dst)+" "+e.Proto+"/"+strconv.Itoa(int(e.Port)))
	}
	slices.Sort(out)
	return out
}

// TestCalicoFlowLogsAdmitTheSameFlows: the sample traffic given as Hubble
// JSON and as Calico flow logs (addresses kept) leads to the same learned
// edges and denied attempts, and to policy trees that admit exactly the
// same probes — every observed request, none of the negative ones.
func TestCalicoFlowLogsAdmitTheSameFlows(t *testing.T) {
	hg, _ := learnSample(t, 0)
	cg, sum := learnCalico(t, scenario.CalicoOptions{Allowed: scenario.AggregateSourcePort, Denied: scenario.AggregateSourcePort})
	if sum.Input.Files != 3 || sum.Input.Malformed != 0 {
		t.Fatalf("read %d files, %d malformed: want the 3 Calico files clean", sum.Input.Files, sum.Input.Malformed)
	}
	if h, c := edgeSet(hg, hg.Edges), edgeSet(cg, cg.Edges); !slices.Equal(h, c) {
		t.Errorf("learned edges differ:\nhubble only: %v\ncalico only: %v", minus(h, c), minus(c, h))
	}
	if h, c := edgeSet(hg, hg.Denied), edgeSet(cg, cg.Denied); !slices.Equal(h, c) {
		t.Errorf("denied attempts differ: hubble %v, calico %v", h, c)
	}
	if len(cg.Unaddressed) != 0 {
		t.Errorf("unaddressed peers %v: the flow logs keep addresses", cg.Unaddressed)
	}

	engines := map[string]*verifier.Engine{}
	for name, g := range map[string]*learner.Graph{"hubble": hg, "calico": cg} {
		_, tree, err := pipeline.Render(g, synth.Options{}, "k8s") // the self-check runs inside
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		engines[name] = engineOf(t, tree, verifier.Options{})
	}
	spec := scenario.Cluster()
	for _, p := range scenario.Expected() {
		tr := verifier.Traffic{Src: peer(t, spec, p.Src), Dst: peer(t, spec, p.Dst), Protocol: corev1.Protocol(p.Proto), Port: int32(p.Port)}
		h := engines["hubble"].Evaluate(tr).Verdict == verifier.Allowed
		c := engines["calico"].Evaluate(tr).Verdict == verifier.Allowed
		if h != c || c != p.Allowed {
			t.Errorf("%s: hubble tree allowed=%v, calico tree allowed=%v, want %v (%s)", p.Name, h, c, p.Allowed, p.Why)
		}
	}
}

// TestCalicoPrefixAggregation: at Felix's default aggregation (allowed flows
// by pod prefix, IPs null) the workloads and their pod-to-pod edges are the
// same as Hubble's, and external peers without addresses are reported,
// never turned into ipBlocks.
func TestCalicoPrefixAggregation(t *testing.T) {
	hg, _ := learnSample(t, 0)
	cg, _ := learnCalico(t, scenario.CalicoOptions{Allowed: scenario.AggregatePodPrefix, Denied: scenario.AggregateSourcePort})
	pods := func(g *learner.Graph, edges map[learner.EdgeKey]*learner.Edge) []string {
		var out []string
		for _, e := range edgeSet(g, edges) {
			if !strings.Contains(e, "addr:") {
				out = append(out, e)
			}
		}
		return out
	}
	if h, c := pods(hg, hg.Edges), pods(cg, cg.Edges); !slices.Equal(h, c) {
		t.Errorf("pod-to-pod edges differ:\nhubble only: %v\ncalico only: %v", minus(h, c), minus(c, h))
	}
	if h, c := edgeSet(hg, hg.Denied), edgeSet(cg, cg.Denied); !slices.Equal(h, c) {
		t.Errorf("denied attempts differ: hubble %v, calico %v", h, c)
	}
	for _, n := range cg.Nodes {
		if n.Kind == learner.NodeExternal {
			t.Errorf("external node %s learned from records without addresses", n.ID)
		}
	}
	set, tree, err := pipeline.RenderWith(cg, synth.Options{CNI: synth.CNICalico}, caliout.Formatter{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	var stripe bool
	for _, f := range set.Findings {
		if f.Kind == policy.FindUnaddressed && f.Namespace == "payments" && f.Workload == "worker" && f.Peer == "pub" && f.Port == 443 {
			stripe = true
		}
	}
	if !stripe {
		t.Errorf("findings %v: want payments/worker -> pub TCP/443 reported as unaddressed", set.Findings)
	}
	rollout := string(tree["ROLLOUT.md"])
	for _, want := range []string{"unaddressed-peer", "never widens to 0.0.0.0/0", "Staged: audit, then enforce", "pendingPolicies"} {
		if !strings.Contains(rollout, want) {
			t.Errorf("ROLLOUT.md does not say %q", want)
		}
	}
	// traffic no rule can admit holds its namespace back: payments is
	// blocked with the fix, never stable
	if row := rolloutRow(t, tree, "payments"); !strings.Contains(row, "| blocked |") || !strings.Contains(row, "Fix: add the peer's addresses yourself") {
		t.Errorf("ROLLOUT.md row for payments:\n%s\nwant blocked, with the fix", row)
	}
	if flows := string(tree["payments/FLOWS.md"]); !strings.Contains(flows, "| worker | egress | pub | TCP/443 | 10 | the flow source recorded the peer without an address (pub: the public internet)") {
		t.Errorf("payments/FLOWS.md does not list worker -> pub TCP/443 as blocking:\n%s", flows)
	}
	objs, err := caliout.DecodeTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		spec, ok := o.Spec.(*caliout.PolicySpec)
		if !ok {
			continue
		}
		for _, r := range append(slices.Clone(spec.Egress), spec.Ingress...) {
			for _, e := range []*caliout.EntityRule{r.Source, r.Destination} {
				if e == nil {
					continue
				}
				for _, n := range e.Nets {
					if p := netip.MustParsePrefix(n); p.Bits() == 0 && r.Action == caliout.ActionAllow && o.Metadata.Name == "worker-egress" {
						t.Errorf("%s: egress widened to %s", o.Metadata.Name, n)
					}
				}
			}
		}
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
