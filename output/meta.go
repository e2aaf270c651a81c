package output

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

// Meta is the metadata of a written object: its name and namespace ("" for
// a cluster-scoped object) and the ManagedBy label.
func Meta(name, namespace string) Metadata {
	return Metadata{Name: name, Namespace: namespace, Labels: ManagedLabels()}
}
