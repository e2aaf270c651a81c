package pipeline_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// sampleWithEndpoints reads the sample inventory with its CiliumEndpoints
// (scenario.CiliumEndpointsFile: every running pod on the pod network has
// one but scenario.UnmanagedPod), as `--inventory sample.json --inventory
// sample-ciliumendpoints.json` reads them; with all, UnmanagedPod gets one
// too.
func sampleWithEndpoints(t *testing.T, all bool) *inventory.Snapshot {
	t.Helper()
	inv, err := dump.Read([]string{"../" + scenario.InventoryFile, "../" + scenario.CiliumEndpointsFile}, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all {
		ns, name, _ := strings.Cut(scenario.UnmanagedPod, "/")
		inv.Endpoints = append(inv.Endpoints, inventory.CiliumEndpoint{Namespace: ns, Name: name, Identity: 10001})
	}
	return inv
}

// TestPodsWithoutCiliumEndpoint: with the sample's CiliumEndpoints, a
// running pod without one (data/redis-1: Cilium does not manage it) is
// reported in ROLLOUT.md, FLOWS.md and the run summary, and shop, whose
// cart calls data/redis, is held back with the fix (restart the pods) — in
// both flavors — while data itself and every other namespace are as
// without the inventory's endpoints. Without CiliumEndpoints ROLLOUT.md
// says this was not checked.
func TestPodsWithoutCiliumEndpoint(t *testing.T) {
	g, sum := learnSample(t, 0)
	redis1 := scenario.UnmanagedPod
	for _, format := range []string{"k8s", cilium.FormatName} {
		t.Run(format, func(t *testing.T) {
			_, full := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{Inventory: sampleWithEndpoints(t, true)})
			set, tree := renderFormat(t, g, format, pipeline.FormatterOptions{}, synth.Options{Inventory: sampleWithEndpoints(t, false)})
			rollout := string(tree["ROLLOUT.md"])
			for _, want := range []string{
				"1 running pod without a CiliumEndpoint (26 CiliumEndpoints read): Cilium does not manage them",
				"- " + redis1 + "\n",
				"pod redis-1 has no CiliumEndpoint in the inventory: Cilium does not manage it",
			} {
				if !strings.Contains(rollout, want) {
					t.Errorf("ROLLOUT.md lacks %q:\n%s", want, rollout)
				}
			}
			if !strings.Contains(string(full["ROLLOUT.md"]), "Every running pod on the pod network has a CiliumEndpoint (27 CiliumEndpoints read)") {
				t.Errorf("with every endpoint: ROLLOUT.md does not say Cilium manages every pod:\n%s", full["ROLLOUT.md"])
			}
			row := rolloutRow(t, tree, "shop")
			if !strings.Contains(row, "| blocked |") || !strings.Contains(row, "data/redis") || !strings.Contains(row, "rollout restart statefulset/redis") {
				t.Errorf("shop is not held back for data/redis with the fix:\n%s", row)
			}
			if flows := string(tree["data/FLOWS.md"]); !strings.Contains(flows, "| unmanaged-peer | data | redis |") || !strings.Contains(flows, "pod redis-1 has no CiliumEndpoint") {
				t.Errorf("data/FLOWS.md does not report redis-1 without a CiliumEndpoint:\n%s", flows)
			}
			if flows := string(tree["shop/FLOWS.md"]); !strings.Contains(flows, "blocked: some of data/redis's pods are not managed by the CNI") {
				t.Errorf("shop/FLOWS.md does not say cart's call to data/redis is blocked:\n%s", flows)
			}
			// only shop depends on data/redis: every other namespace reads as
			// with every endpoint present
			for _, ns := range []string{"data", "payments", "monitoring", "shop-staging"} {
				if a, b := rolloutRow(t, tree, ns), rolloutRow(t, full, ns); a != b {
					t.Errorf("%s changed:\n%s\nwant\n%s", ns, a, b)
				}
			}
			for name, body := range full {
				if strings.HasSuffix(name, ".yaml") && !bytes.Equal(tree[name], body) {
					t.Errorf("%s changed: a pod without an endpoint changes what is reported, not the policies", name)
				}
			}
			var out bytes.Buffer
			pipeline.PrintSummary(&out, sum, g, set, "out")
			for _, want := range []string{
				", 26 CiliumEndpoints (snapshot of ",
				"  unmanaged: 1 running pods without a CiliumEndpoint, first " + redis1 + ": Cilium does not manage them",
				"! namespace shop is blocked",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("run summary lacks %q:\n%s", want, out.String())
				}
			}
			if !slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
				return f.Kind == policy.FindUnmanaged && f.Namespace == "data" && f.Workload == "redis"
			}) {
				t.Errorf("no unmanaged finding for data/redis: %+v", set.Findings)
			}
		})
	}
	_, tree := renderFormat(t, g, "k8s", pipeline.FormatterOptions{}, synth.Options{Inventory: readSampleInventory(t)})
	if r := string(tree["ROLLOUT.md"]); !strings.Contains(r, "The inventory has no CiliumEndpoint, so pods the CNI does not manage were not checked") {
		t.Errorf("without CiliumEndpoints ROLLOUT.md does not say it did not check:\n%s", r)
	}
}
