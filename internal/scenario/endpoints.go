package scenario

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/flowfence/flowfence/inventory"
)

// CiliumEndpointsFile is where `go run ./internal/scenario/gen
// -ciliumendpoints` writes the CiliumEndpoints, relative to the
// repository: a second inventory file beside InventoryFile.
const CiliumEndpointsFile = "testdata/inventory/sample-ciliumendpoints.json"

// UnmanagedPod is the one running pod on the pod network that has no
// CiliumEndpoint: data's redis-1 started before the Cilium agent on its
// node, so Cilium does not manage it (shop/cart, which calls data/redis,
// is held back).
const UnmanagedPod = "data/redis-1"

// CiliumEndpoints renders what `kubectl get ciliumendpoints -A -o json`
// prints for the scenario's cluster (the pods of Inventory): one
// cilium.io/v2 CiliumEndpoint per running pod on the pod network, named
// after its pod, with its identity (a number per workload, its labels) and
// address, but none for UnmanagedPod. A v1 List, indented, deterministic.
func CiliumEndpoints() ([]byte, error) {
	s := Cluster()
	pods := append(slices.Clone(s.Pods), silentPods(s)...)
	ids := map[string]int{}
	var items []any
	for _, p := range pods {
		if p.WorkloadKind == KindCronJob || p.WorkloadKind == KindDaemonSet || p.Namespace+"/"+p.Name == UnmanagedPod {
			continue // finished Jobs and host-network pods have none
		}
		key := p.Namespace + "/" + p.WorkloadName
		if _, ok := ids[key]; !ok {
			ids[key] = 10000 + len(ids)
		}
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
			if inventory.ControllerLabel(k) {
				continue // Cilium leaves them out of identities
			}
			labels = append(labels, "k8s:"+k+"="+p.Labels[k])
		}
		labels = append(labels, "k8s:io.kubernetes.pod.namespace="+p.Namespace)
		nodeIP := ""
		if n, ok := s.Node(p.Node); ok {
			nodeIP = n.IP
		}
		items = append(items, map[string]any{
			"apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
			"metadata": map[string]any{"namespace": p.Namespace, "name": p.Name, "labels": p.Labels,
				"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": p.Name, "uid": "00000000-0000-4000-8000-000000000000"}}},
			"status": map[string]any{
				"id":         ids[key],
				"identity":   map[string]any{"id": ids[key], "labels": labels},
				"networking": map[string]any{"addressing": []any{map[string]any{"ipv4": p.IP}}, "node": nodeIP},
				"state":      "ready",
			},
		})
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": items}
	out, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
