package pipeline_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/policyset"
)

func readSampleInventory(t *testing.T) *inventory.Snapshot {
	t.Helper()
	inv, err := dump.Read([]string{"../" + scenario.InventoryFile}, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// evaluatorOf is the evaluator of a tree's flavor, as verify builds it.
func evaluatorOf(t *testing.T, tree output.Tree, cni string) verifier.Evaluator {
	t.Helper()
	ps, err := policyset.FromTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ps.Evaluator(cni)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// invPeer is an inventory pod as the evaluators see it.
func invPeer(t *testing.T, inv *inventory.Snapshot, ns, workload string) verifier.Peer {
	t.Helper()
	for _, p := range inv.Pods {
		if p.Namespace == ns && p.Workload.Name == workload && len(p.IPs) > 0 {
			nsl := map[string]string{"kubernetes.io/metadata.name": ns}
			for _, n := range inv.Namespaces {
				if n.Name == ns {
					for k, v := range n.Labels {
						nsl[k] = v
					}
				}
			}
			return verifier.Peer{IsPod: true, Namespace: ns, Labels: p.Labels, NamespaceLabels: nsl, IP: p.IPs[0]}
		}
	}
	t.Fatalf("no pod of %s/%s in the inventory", ns, workload)
	return verifier.Peer{}
}

// entityPeer is peer with the Cilium entity of a peer that is not a pod
// (the Cilium engine matches entities, NetworkPolicy ignores them).
func entityPeer(t *testing.T, spec scenario.Spec, p scenario.Peer) verifier.Peer {
	v := peer(t, spec, p)
	if !v.IsPod {
		v.Entity = p.Entity
		if v.Entity == "" {
			v.Entity = scenario.EntityWorld
		}
	}
	return v
}

// isolatedPods are the scenario's pods that an observed workload of an
// application namespace owns (by the pod names the flows gave).
func isolatedPods(g *learner.Graph, set *policy.Set) map[string]bool {
	app := map[string]bool{}
	for _, ns := range set.Namespaces {
		app[ns.Name] = true
	}
	out := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Kind == learner.NodeWorkload && app[n.Namespace] {
			for _, p := range n.Pods {
				out[n.Namespace+"/"+p] = true
			}
		}
	}
	return out
}

// TestDenyScope renders the sample with its inventory in every flavor and
// both deny scopes, and checks the trees with the flavor's evaluator:
// every observed request is admitted (generate's own replay passed, and
// the scenario's probes say so); in namespace scope every unobserved pair
// stays denied; in observed scope an unobserved pair stays denied exactly
// when one end is a pod of an observed workload, the silent workloads are
// left open (the recommender reaches the internet) yet admitted by no
// observed workload, and readiness says so.
func TestDenyScope(t *testing.T) {
	g, _ := learnSample(t, 0)
	inv := readSampleInventory(t)
	spec := scenario.Cluster()
	for _, format := range []string{"k8s", "cilium", "calico"} {
		for _, scope := range []string{policy.DenyScopeNamespace, policy.DenyScopeObserved} {
			t.Run(format+"/"+scope, func(t *testing.T) {
				set, tree := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{Inventory: inv, DenyScope: scope})
				observed := scope == policy.DenyScopeObserved
				eng := evaluatorOf(t, tree, set.CNI)
				isolated := isolatedPods(g, set)
				for _, p := range scenario.Expected() {
					src, dst := entityPeer(t, spec, p.Src), entityPeer(t, spec, p.Dst)
					want := p.Allowed
					if observed && !p.Allowed && !isolated[p.Src.Namespace+"/"+p.Src.Pod] && !isolated[p.Dst.Namespace+"/"+p.Dst.Pod] {
						want = true // neither end is isolated
					}
					res := eng.Evaluate(verifier.Traffic{Src: src, Dst: dst, Protocol: corev1.Protocol(p.Proto), Port: int32(p.Port)})
					if got := res.Verdict == verifier.Allowed; got != want {
						t.Errorf("%s: allowed=%v, want %v (%s); %s", p.Name, got, want, p.Why, res.Reason)
					}
				}
				// the silent Deployment: open in observed scope, isolated by
				// default-deny otherwise; no policy admits it to an observed
				// workload either way
				rec := invPeer(t, inv, "shop", scenario.SilentDeployment)
				world := verifier.Peer{IP: netip.MustParseAddr("93.184.216.34"), Entity: scenario.EntityWorld}
				res := eng.Evaluate(verifier.Traffic{Src: rec, Dst: world, Protocol: corev1.ProtocolTCP, Port: 443})
				if got := res.Verdict == verifier.Allowed; got != observed {
					t.Errorf("silent recommender -> internet: allowed=%v, want %v: %s", got, observed, res.Reason)
				}
				// metadata: the silent pod is only guarded where the flavor
				// has a cluster-wide guard (or default-deny isolates it)
				md := verifier.Peer{IP: netip.MustParseAddr("169.254.169.254"), Entity: scenario.EntityWorld}
				res = eng.Evaluate(verifier.Traffic{Src: rec, Dst: md, Protocol: corev1.ProtocolTCP, Port: 80})
				if got, want := res.Verdict == verifier.Allowed, observed && format == "k8s"; got != want {
					t.Errorf("silent recommender -> metadata: allowed=%v, want %v: %s", got, want, res.Reason)
				}
				cart := invPeer(t, inv, "shop", "cart")
				res = eng.Evaluate(verifier.Traffic{Src: rec, Dst: cart, Protocol: corev1.ProtocolTCP, Port: 8080})
				if res.Verdict == verifier.Allowed {
					t.Errorf("silent recommender -> observed cart: allowed (%s)", res.Reason)
				}
				for _, ns := range set.Namespaces {
					if ns.Readiness.State == policy.Stable && (len(ns.Silent) > 0 || len(ns.Blockers) > 0) {
						t.Errorf("%s is stable with %d silent workloads and %d blockers", ns.Name, len(ns.Silent), len(ns.Blockers))
					}
					if ns.Name == "shop" && ns.Readiness.State != policy.Silent {
						t.Errorf("shop: readiness %q, want %q", ns.Readiness.State, policy.Silent)
					}
				}
				checkScopeFiles(t, set, tree, observed)
			})
		}
	}
}

// checkScopeFiles: namespace scope writes the default-deny and one DNS
// bundle per namespace; observed scope neither, and every observed
// workload with a selector gets its own -ingress, -egress and -dns
// policies; ROLLOUT.md says which scope it is.
func checkScopeFiles(t *testing.T, set *policy.Set, tree output.Tree, observed bool) {
	t.Helper()
	for _, ns := range set.Namespaces {
		_, dd := tree[ns.Name+"/00-default-deny.yaml"]
		_, dns := tree[ns.Name+"/01-allow-dns.yaml"]
		if dd == observed || dns == observed {
			t.Errorf("%s: default-deny %v, allow-dns %v in %s scope", ns.Name, dd, dns, map[bool]string{true: "observed", false: "namespace"}[observed])
		}
		if !observed {
			continue
		}
		for _, p := range ns.Policies {
			if p.Workload == "" || len(p.Subject) == 0 {
				t.Errorf("%s/%s: a namespace-wide policy in observed scope", ns.Name, p.Name)
			}
		}
		for _, w := range ns.Workloads {
			var kinds []policy.Kind
			for _, p := range ns.Policies {
				if p.Workload == w {
					kinds = append(kinds, p.Kind)
				}
			}
			slices.Sort(kinds)
			if len(kinds) > 0 && !slices.Equal(kinds, []policy.Kind{policy.KindDNS, policy.KindEgress, policy.KindIngress}) {
				t.Errorf("%s/%s: policies %v, want dns, egress and ingress", ns.Name, w, kinds)
			}
		}
	}
	rollout := string(tree["ROLLOUT.md"])
	if got := strings.Contains(rollout, "## Deny scope: observed"); got != observed {
		t.Errorf("ROLLOUT.md deny scope section: %v, want %v", got, observed)
	}
}

// TestDenyScopeGoldenTrees compares the sample rendered with its inventory
// in both deny scopes with testdata/golden/inventory-<scope>-<flavor>
// (regenerate with: make golden).
func TestDenyScopeGoldenTrees(t *testing.T) {
	g, _ := learnSample(t, 0)
	inv := readSampleInventory(t)
	for _, tc := range []struct{ format, scope string }{
		{"k8s", policy.DenyScopeNamespace}, {"k8s", policy.DenyScopeObserved},
		{"cilium", policy.DenyScopeObserved}, {"calico", policy.DenyScopeObserved},
	} {
		t.Run(tc.format+"-"+tc.scope, func(t *testing.T) {
			_, tree := renderFormat(t, g, tc.format, pipeline.FormatterOptions{}, synth.Options{Inventory: inv, DenyScope: tc.scope})
			golden.Compare(t, golden.Dir(t, "inventory-"+tc.scope+"-"+tc.format), tree)
		})
	}
}
