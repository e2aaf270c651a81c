package output

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Metadata is the part of a Kubernetes ObjectMeta that flowfence sets on the
// objects it writes with structs of its own (Cilium, Calico, the
// AdminNetworkPolicy guardrails). A cluster-scoped object leaves Namespace
// empty.
type Metadata struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// ManagedBy is the label every object flowfence writes carries, so that
// `kubectl delete -l app.kubernetes.io/managed-by=flowfence` finds them all
// (ROLLOUT.md relies on it).
const (
	ManagedByKey   = "app.kubernetes.io/managed-by"
	ManagedByValue = "flowfence"
)

// ManagedLabels returns a fresh label map holding the ManagedBy label.
func ManagedLabels() map[string]string {
	return map[string]string{ManagedByKey: ManagedByValue}
}

// ObjectHead is how every object flowfence writes with structs of its own
// begins: apiVersion, kind and metadata (Kubernetes' TypeMeta and the
// ObjectMeta subset). The object types embed it, so its members are the
// object's first JSON members.
type ObjectHead struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
}

// Head is the head of a written object: its apiVersion and kind, its name
// and namespace ("" for a cluster-scoped object) and the ManagedBy label.
func Head(apiVersion, kind, name, namespace string) ObjectHead {
	return ObjectHead{APIVersion: apiVersion, Kind: kind, Metadata: Metadata{Name: name, Namespace: namespace, Labels: ManagedLabels()}}
}

// CheckHead returns what the API server refuses in h for an object of
// apiVersion: another apiVersion, a name that is not a DNS-1123 subdomain.
func (h *ObjectHead) CheckHead(apiVersion string) []string {
	var out []string
	if h.APIVersion != apiVersion {
		out = append(out, fmt.Sprintf("apiVersion %q: want %s", h.APIVersion, apiVersion))
	}
	for _, msg := range validation.IsDNS1123Subdomain(h.Metadata.Name) {
		out = append(out, fmt.Sprintf("metadata.name %q: %s", h.Metadata.Name, msg))
	}
	return out
}
