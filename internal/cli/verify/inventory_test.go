package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// probeCluster is `kubectl get nodes,pods -A -o json` of the cluster of
// calico-kubelet-probe.jsonl: web's pod runs on node-b, 10.0.0.12.
const probeCluster = `{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-b"},"spec":{"podCIDR":"10.244.1.0/24"},
 "status":{"addresses":[{"type":"InternalIP","address":"10.0.0.12"},{"type":"Hostname","address":"node-b"}]}},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-5b8c7d9f4-x2x7q","namespace":"shop","labels":{"app":"web","pod-template-hash":"5b8c7d9f4"}},
 "spec":{"nodeName":"node-b","containers":[{"name":"web","image":"web"}]},"status":{"phase":"Running","podIP":"10.244.1.7"}}]}`

// TestVerifyKnowsNodesByInventory: a tree generated from Calico flow logs
// with the inventory writes no rule for the kubelet probe from the pod's
// own node (a plain address in the flow log); verify with the same
// --inventory counts it as host traffic and passes, and without it cannot
// tell the node from a peer and fails.
func TestVerifyKnowsNodesByInventory(t *testing.T) {
	tmp := t.TempDir()
	inv := filepath.Join(tmp, "cluster.json")
	if err := os.WriteFile(inv, []byte(probeCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	flows := "../../../pipeline/testdata/identities/calico-kubelet-probe.jsonl"
	dir := filepath.Join(tmp, "policies")
	must(t, "generate", "--quiet", "--from", flows, "--inventory", inv, "--out", dir)
	stdout, stderr, code, err := run(t, "verify", "--policies", dir, "--from", flows, "--inventory", inv)
	if code != 0 || !strings.Contains(stdout, "host:            1") {
		t.Errorf("verify --inventory: exit %d (%v): want 0 and the probe from node-b as host traffic\n%s\n%s", code, err, stdout, stderr)
	}
	if _, _, code, _ := run(t, "verify", "--policies", dir, "--from", flows); code != 3 {
		t.Errorf("verify without --inventory: exit %d, want 3 (the plain address is not known as a node)", code)
	}
}

// TestVerifyKnowsPodsWithoutCiliumEndpoint: verify with the sample's
// inventory and CiliumEndpoints judges the pod without one (data/redis-1)
// as generate does: no selector matches it, so shop/cart's call to
// data/redis is denied for it and verify fails naming that flow; with the
// inventory alone (no CiliumEndpoint) the same tree passes.
func TestVerifyKnowsPodsWithoutCiliumEndpoint(t *testing.T) {
	inv, ceps := "../../../testdata/inventory/sample.json", "../../../testdata/inventory/sample-ciliumendpoints.json"
	dir := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--inventory", inv, "--inventory", ceps, "--out", dir)
	stdout, _, code, _ := run(t, "verify", "--policies", dir, "--from", sample, "--inventory", inv, "--inventory", ceps)
	if code != 3 || !strings.Contains(stdout, "shop/cart") || !strings.Contains(stdout, "data/redis") {
		t.Errorf("verify with the CiliumEndpoints: exit %d, want 3 naming shop/cart -> data/redis\n%s", code, stdout)
	}
	if stdout, _, code, _ := run(t, "verify", "--policies", dir, "--from", sample, "--inventory", inv); code != 0 {
		t.Errorf("verify with the inventory alone: exit %d, want 0\n%s", code, stdout)
	}
}
