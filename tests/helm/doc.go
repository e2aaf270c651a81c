// Package helm checks the chart deploy/helm/flowfence with the real helm
// (v3, built from the module proxy into the repository's bin/): helm lint,
// helm template with the default values and with TLS, the inventory
// ClusterRole and Goldmane, every rendered object decoded strictly into its
// Kubernetes type, the security settings asserted, and the learner's
// arguments accepted by flowfence's own flag parser. A nested module: helm
// and its dependencies never enter the product's go.mod.
package helm
