package pipeline_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
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
	for _, want := range []string{"| blocked |", "prometheus -&gt; remote-node 10.0.0.12 TCP/9100", "Fix: generate with --format cilium"} {
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
	err := pipeline.Replay(g, set, broken)
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
	v := diffchecktest.Checker(t, dir, synth.Options{}).Verify(g)
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

// TestSelectorsCannotOverSelect: the YAML selects a workload by its
// identifying label plus what separates it, never by a qualifier alone and
// never so broadly that a sibling the window did not see is picked: the
// kapinger workload (app=kapinger, server=good; kapinger-bad has
// server=bad) is `app: kapinger, server: good`, redis-cart-v1
// (app=redis-cart, version=v1: the name says redis-cart-v2 may exist) is
// `app: redis-cart, version: v1`, and of two workloads sharing app=web,
// web-blue is `app: web` with its instance.
func TestSelectorsCannotOverSelect(t *testing.T) {
	l := learner.New(learner.Options{})
	pod := func(name, hash string, labels map[string]string, ip string) record.Endpoint {
		return record.Endpoint{Namespace: "shop", Pod: name + "-" + hash + "-x2x7q", Labels: labels, IP: mustAddr(t, ip),
			NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}}
	}
	client := pod("client", "7d9c8b6f5", map[string]string{"app": "client"}, "10.244.0.10")
	targets := []record.Endpoint{
		pod("kapinger", "5b8c7d9f4", map[string]string{"app": "kapinger", "server": "good"}, "10.244.0.11"),
		pod("kapinger-bad", "6c9d8f7b5", map[string]string{"app": "kapinger", "server": "bad"}, "10.244.0.12"),
		pod("redis-cart-v1", "8f7b6d5c4", map[string]string{"app": "redis-cart", "version": "v1"}, "10.244.0.13"),
		pod("web-blue", "9d8b7c6f5", map[string]string{"app": "web", "app.kubernetes.io/instance": "blue"}, "10.244.0.14"),
		pod("web-green", "4b5c6d7f8", map[string]string{"app": "web", "app.kubernetes.io/instance": "green"}, "10.244.0.15"),
	}
	for i := range 30 {
		at := g0().Add(time.Duration(i) * time.Minute)
		for _, dst := range targets {
			l.Add(&record.Record{Time: at, Src: client, Dst: withPort(dst, 8080), Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
		}
	}
	l.Add(&record.Record{Time: g0().Add(24 * time.Hour), Src: client, Dst: withPort(targets[0], 8080), Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
	_, tree := renderFormat(t, l.Graph(), "k8s", pipeline.FormatterOptions{}, synth.Options{})
	for _, tt := range []struct {
		file string
		want string
	}{
		{"shop/kapinger-ingress.yaml", "  podSelector:\n    matchLabels:\n      app: kapinger\n      server: good\n"},
		{"shop/redis-cart-v1-ingress.yaml", "  podSelector:\n    matchLabels:\n      app: redis-cart\n      version: v1\n"},
		{"shop/web-blue-ingress.yaml", "  podSelector:\n    matchLabels:\n      app: web\n      app.kubernetes.io/instance: blue\n"},
	} {
		if got := string(tree[tt.file]); !strings.Contains(got, tt.want) {
			t.Errorf("%s: want the policy to select\n%s\ngot:\n%s", tt.file, tt.want, got)
		}
	}
}

// TestCalicoKubeletProbeLooksLikeNode: in Calico flow logs a kubelet
// probe is a private network address (source_type net, pvt) calling a
// pod's port. Without node addresses it stays a /32 rule, and FLOWS.md and
// ROLLOUT.md say the caller looks like a node; with nodes.cidrs it is node
// traffic: admitted from the node CIDRs, reported as host traffic.
func TestCalicoKubeletProbeLooksLikeNode(t *testing.T) {
	g := learnFixture(t, "calico-kubelet-probe.jsonl")
	_, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{})
	if in := string(tree["shop/web-ingress.yaml"]); !strings.Contains(in, "cidr: 10.0.0.12/32") {
		t.Errorf("without nodes.cidrs: want the observed /32:\n%s", in)
	}
	for _, doc := range []string{"shop/FLOWS.md", "ROLLOUT.md"} {
		if d := string(tree[doc]); !strings.Contains(d, "| node-like-caller | shop | web | TCP/8080 | 10.0.0.12 |") || !strings.Contains(d, "the caller looks like a node") {
			t.Errorf("%s does not say the caller looks like a node:\n%s", doc, d)
		}
	}
	if row := rolloutRow(t, tree, "shop"); !strings.Contains(row, "| stable |") {
		t.Errorf("the probe is admitted: shop should be stable:\n%s", row)
	}

	set, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}})
	in := string(tree["shop/web-ingress.yaml"])
	if !strings.Contains(in, "cidr: 10.0.0.0/24") || strings.Contains(in, "10.0.0.12/32") {
		t.Errorf("with nodes.cidrs: want the node CIDR, not the /32:\n%s", in)
	}
	if strings.Contains(string(tree["shop/FLOWS.md"]), "node-like-caller") {
		t.Errorf("with nodes.cidrs the caller is known to be a node:\n%s", tree["shop/FLOWS.md"])
	}
	if !slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
		return f.Kind == policy.FindHostTraffic && f.Workload == "web" && strings.Contains(f.Message, "node address (nodes.cidrs)")
	}) {
		t.Errorf("no host-traffic finding for the node caller: %+v", set.Findings)
	}
}

// TestCapturesReplayWithoutFalseBugs: generate over every real Hubble
// capture replays the window and writes the tree in every flavor (a flow
// synth could not admit — istio-system/jaeger, whose pods carry no labels
// in the capture — blocks its namespace instead of failing the run as a
// flowfence bug), and that namespace is never stable.
func TestCapturesReplayWithoutFalseBugs(t *testing.T) {
	dir, ok := testsupport.FindCaptures("hubble")
	if !ok {
		t.Skip("../shared/captures not present")
	}
	g, _, err := pipeline.Learn(context.Background(), []string{filepath.Join(dir, "*")}, pipeline.LearnOptions{Collect: collectors.Options{Workers: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"k8s", cilium.FormatName} {
		set, tree := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{})
		for _, ns := range set.Namespaces {
			if ns.Name == "istio-system" && ns.Readiness.State != policy.Blocked {
				t.Errorf("%s: istio-system is %q, want blocked (jaeger cannot be selected)", format, ns.Readiness.State)
			}
		}
		if row := rolloutRow(t, tree, "istio-system"); !strings.Contains(row, "istio-system/jaeger") {
			t.Errorf("%s: ROLLOUT.md row does not name jaeger:\n%s", format, row)
		}
	}
}
