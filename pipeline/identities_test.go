package pipeline_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// learnFixture learns one file of testdata/identities (see its README).
func learnFixture(t *testing.T, name string) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{filepath.Join("testdata", "identities", name)}, pipeline.LearnOptions{Collect: collectors.Options{Workers: 1}}, nil)
	if err != nil {
		t.Fatalf("learn %s: %v", name, err)
	}
	return g
}

// rolloutRow returns ROLLOUT.md's table row of a namespace.
func rolloutRow(t *testing.T, tree output.Tree, ns string) string {
	t.Helper()
	for _, l := range strings.Split(string(tree["ROLLOUT.md"]), "\n") {
		if strings.Contains(l, " | "+ns+" | ") && strings.HasPrefix(l, "| ") {
			return l
		}
	}
	t.Fatalf("ROLLOUT.md has no row for %s:\n%s", ns, tree["ROLLOUT.md"])
	return ""
}

// TestUnmanagedResolverBlocksRollout: CoreDNS started before Cilium runs
// unmanaged (identity 3, reserved:unmanaged, no labels). The observed
// resolver is recognised by its role, ROLLOUT.md says it was observed and
// is not managed by the CNI, the namespace that needs it is blocked with
// the fix (restart the resolver pods), and FLOWS.md says so — in every
// flavor.
func TestUnmanagedResolverBlocksRollout(t *testing.T) {
	g := learnFixture(t, "unmanaged-coredns.jsonl")
	for _, format := range []string{"k8s", cilium.FormatName} {
		t.Run(format, func(t *testing.T) {
			set, tree := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{})
			rollout := string(tree["ROLLOUT.md"])
			if !strings.Contains(rollout, "- kube-dns (observed; NOT managed by the CNI: kube-system/coredns") {
				t.Errorf("ROLLOUT.md DNS section does not name the observed, unmanaged resolver:\n%s", rollout)
			}
			if strings.Contains(rollout, "not observed") {
				t.Errorf("ROLLOUT.md calls the resolver not observed although DNS flows to kube-system/coredns were:\n%s", rollout)
			}
			row := rolloutRow(t, tree, "shop")
			for _, want := range []string{"| blocked |", "kube-system/coredns", "reserved:unmanaged", "Fix: restart kube-system/coredns's pods (kubectl -n kube-system rollout restart deployment/coredns)"} {
				if !strings.Contains(row, want) {
					t.Errorf("ROLLOUT.md row for shop lacks %q:\n%s", want, row)
				}
			}
			flows := string(tree["shop/FLOWS.md"])
			for _, want := range []string{"## Blocked: do not enforce shop yet", "| frontend | egress | kube-system/coredns | UDP/53 |",
				"| frontend | egress | kube-system/coredns | UDP | 53 | 30 |"} {
				if !strings.Contains(flows, want) {
					t.Errorf("shop/FLOWS.md lacks %q:\n%s", want, flows)
				}
			}
			if !slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
				return f.Kind == policy.FindUnmanaged && f.Namespace == "kube-system" && f.Workload == "coredns"
			}) {
				t.Errorf("no unmanaged-peer finding for kube-system/coredns: %+v", set.Findings)
			}
		})
	}
}

// TestReplayDecidesReadiness: readiness follows the replay of the window
// against the written tree. The k8s flavor on Cilium (--cni cilium) writes
// node egress as ipBlocks, which Cilium does not match: the replay denies
// the observed scrape of a remote node, and monitoring is blocked with the
// fix (the cilium flavor) instead of stable. The cilium flavor admits it by
// entity: stable.
func TestReplayDecidesReadiness(t *testing.T) {
	g := learnFixture(t, "remote-node-only.jsonl")
	_, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{CNI: synth.CNICilium})
	row := rolloutRow(t, tree, "monitoring")
	for _, want := range []string{"| blocked |", "prometheus -> remote-node 10.0.0.12 TCP/9100", "Fix: generate with --format cilium"} {
		if !strings.Contains(row, want) {
			t.Errorf("k8s flavor on Cilium: ROLLOUT.md row lacks %q:\n%s", want, row)
		}
	}
	_, tree = renderFormat(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	if row := rolloutRow(t, tree, "monitoring"); !strings.Contains(row, "| stable |") {
		t.Errorf("cilium flavor: monitoring should be stable:\n%s", row)
	}
}

// TestReplayFailsOnlyForClaimedAdmitted: a tree that denies a flow synth
// claims to admit is a flowfence bug: the run fails loudly, naming the
// flow.
func TestReplayFailsOnlyForClaimedAdmitted(t *testing.T) {
	g := learnFixture(t, "unmanaged-coredns.jsonl")
	set, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{})
	broken := output.Tree{}
	for p, b := range tree {
		if p != "shop/frontend-egress.yaml" {
			broken[p] = b
		}
	}
	err := pipeline.Replay(g, set, broken, "k8s")
	if err == nil || !strings.Contains(err.Error(), "self-check failed") || !strings.Contains(err.Error(), "pod:shop/frontend -> pod:shop/cart TCP/8080 (egress)") {
		t.Fatalf("replay of a tree without frontend's egress: %v, want a self-check failure naming frontend -> cart", err)
	}
}

// TestOwnNodeWithAPIServerIsHost: on a single-node cluster the host
// identity also carries reserved:kube-apiserver. A kubelet probe from it is
// own-node host traffic — no rule in any flavor (no fromEntities
// kube-apiserver, no ipBlock of the node), a host-traffic finding, counted
// as host by verify — while the pod's own calls to the API server on that
// node stay API-server egress.
func TestOwnNodeWithAPIServerIsHost(t *testing.T) {
	g := learnFixture(t, "host-apiserver.jsonl")
	for _, format := range []string{"k8s", cilium.FormatName} {
		t.Run(format, func(t *testing.T) {
			set, tree := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{})
			if b, ok := tree["shop/frontend-ingress.yaml"]; ok {
				t.Errorf("a kubelet probe became an ingress rule:\n%s", b)
			}
			if !slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
				return f.Kind == policy.FindHostTraffic && f.Workload == "frontend" && f.Port == 8080 && strings.Contains(f.Message, "own node")
			}) {
				t.Errorf("no own-node host-traffic finding for frontend:8080: %+v", set.Findings)
			}
			egress := string(tree["shop/frontend-egress.yaml"])
			want := "10.0.0.11/32"
			if format == cilium.FormatName {
				want = "- kube-apiserver"
			}
			if !strings.Contains(egress, want) || !strings.Contains(egress, "6443") {
				t.Errorf("frontend's call to the API server on its node: want %q on 6443 in\n%s", want, egress)
			}
			if row := rolloutRow(t, tree, "shop"); !strings.Contains(row, "| stable |") {
				t.Errorf("shop should be stable:\n%s", row)
			}
		})
	}
	dir := t.TempDir()
	_, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{})
	if err := output.WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	pt, err := diffcheck.ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := diffcheck.NewOptions(synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := diffcheck.NewChecker(pt, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Verify(g)
	if v.Counts.Host != 1 || v.Counts.Denied != 0 {
		t.Errorf("verify: %d host, %d denied; want the probe counted as host and nothing denied (%+v)", v.Counts.Host, v.Counts.Denied, v.Denied)
	}
}

// TestNodeEntitiesExactlyObserved: with only remote-node observed, the
// cilium flavor admits remote-node, never host as well.
func TestNodeEntitiesExactlyObserved(t *testing.T) {
	g := learnFixture(t, "remote-node-only.jsonl")
	_, tree := renderFormat(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{})
	objs := decodeTree(t, tree)
	var ents []string
	for _, o := range objs["monitoring/prometheus-egress.yaml"] {
		for _, r := range rules(o) {
			for _, e := range r.Egress {
				ents = append(ents, e.ToEntities...)
			}
		}
	}
	if !slices.Equal(ents, []string{"remote-node"}) {
		t.Errorf("prometheus-egress toEntities %v, want [remote-node]:\n%s", ents, tree["monitoring/prometheus-egress.yaml"])
	}
}
