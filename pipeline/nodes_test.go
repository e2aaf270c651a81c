package pipeline_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// probeInventory is the cluster of calico-kubelet-probe.jsonl: web's pod
// runs on node-b, whose InternalIP 10.0.0.12 the Calico flow log shows as a
// plain private address (no host endpoints).
func probeInventory() *inventory.Snapshot {
	var b inventory.Builder
	b.AddSource("probe-cluster.json")
	b.AddNamespace(inventory.Namespace{Name: "shop", Labels: map[string]string{"kubernetes.io/metadata.name": "shop"}})
	b.AddNode(inventory.Node{Name: "node-a", Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.11")}})
	b.AddNode(inventory.Node{Name: "node-b", Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.12")}})
	b.AddWorkload(inventory.Workload{Kind: inventory.KindDeployment, Namespace: "shop", Name: "web",
		Selector: map[string]string{"app": "web"}, SelectorExact: true, Template: map[string]string{"app": "web"}})
	b.AddPod(inventory.Pod{Namespace: "shop", Name: "web-5b8c7d9f4-x2x7q", NodeName: "node-b", Phase: "Running",
		Labels: map[string]string{"app": "web", "pod-template-hash": "5b8c7d9f4"},
		Owner:  inventory.Ref{Kind: inventory.KindReplicaSet, Name: "web-5b8c7d9f4"}, IPs: []netip.Addr{netip.MustParseAddr("10.244.1.7")}})
	return b.Build()
}

// TestCalicoKubeletProbeWithInventory: with the inventory's nodes (alone
// or with nodes.cidrs) a Calico flow log's kubelet probe from the pod's own
// node gets no rule at all — no /32, no node CIDR — FLOWS.md says it is the
// pod's own node, nothing calls it node-like, the namespace is stable and
// verify passes on the written tree.
func TestCalicoKubeletProbeWithInventory(t *testing.T) {
	g := learnFixture(t, "calico-kubelet-probe.jsonl")
	for _, tc := range []struct {
		name  string
		cidrs []netip.Prefix
	}{
		{"inventory", nil},
		{"inventory and nodes.cidrs", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so := synth.Options{Inventory: probeInventory(), NodeCIDRs: tc.cidrs}
			_, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, so)
			for name, data := range tree {
				if strings.HasSuffix(name, ".yaml") && strings.Contains(string(data), "10.0.0.") {
					t.Errorf("%s admits a node address: the probe from web's own node needs no rule:\n%s", name, data)
				}
			}
			for _, doc := range []string{"shop/FLOWS.md", "ROLLOUT.md"} {
				d := string(tree[doc])
				if strings.Contains(d, "node-like-caller") {
					t.Errorf("%s calls the caller node-like, the inventory knows it:\n%s", doc, d)
				}
				if !strings.Contains(d, "from the pod's own node node-b") {
					t.Errorf("%s does not say the probe comes from web's own node node-b:\n%s", doc, d)
				}
			}
			if row := rolloutRow(t, tree, "shop"); !strings.Contains(row, "| stable |") {
				t.Errorf("the probe needs no rule: shop should be stable:\n%s", row)
			}
			dir := t.TempDir()
			if err := output.WriteTree(dir, tree); err != nil {
				t.Fatal(err)
			}
			if v := diffchecktest.Checker(t, dir, so).Verify(g); v.Failed() || v.Counts.Host != 1 {
				t.Errorf("verify: %d host, %d denied; want the probe counted as host and nothing denied (%+v)", v.Counts.Host, v.Counts.Denied, v.Denied)
			}
		})
	}
}
