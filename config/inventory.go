package config

import (
	"fmt"

	"github.com/spf13/viper"
)

// KeyInventory names the cluster inventory generate reads (flag
// --inventory, repeatable): kubectl dumps (files, globs, .gz, - for
// stdin), or InventoryLive for the live cluster. Empty: no inventory, and
// the output is what the flows alone say.
const KeyInventory = "inventory"

// InventoryLive is the --inventory value that reads the live cluster
// (inventory/kube).
const InventoryLive = "kube"

// The live cluster's kubeconfig and context (--inventory kube; flags
// --kubeconfig and --context). Empty: KUBECONFIG or ~/.kube/config and
// its current context, or the in-cluster service account. Read only with
// --inventory kube (a config file may set them for every run).
const (
	KeyKubeconfig  = "kube.kubeconfig"
	KeyKubeContext = "kube.context"
)

// Kube is where --inventory kube reads the cluster.
type Kube struct {
	Kubeconfig, Context string
}

// KeyDenyScope says what the generated tree isolates (flag --deny-scope):
// DenyScopeNamespace, every pod of an application namespace (a namespace
// default-deny), or DenyScopeObserved, only the observed workloads, each
// by its own ingress and egress policies.
const KeyDenyScope = "deny-scope"

// The --deny-scope values.
const (
	DenyScopeNamespace = "namespace"
	DenyScopeObserved  = "observed"
)

// loadDenyScope reads --deny-scope; baseline is guardrails.baseline-deny,
// a cluster-wide default-deny that observed scope would contradict.
func loadDenyScope(vp *viper.Viper, baseline bool) (string, error) {
	s := vp.GetString(KeyDenyScope)
	switch s {
	case DenyScopeNamespace, DenyScopeObserved:
	default:
		return "", fmt.Errorf("--%s %q: one of %s (a default-deny per application namespace), %s (only the observed workloads, each by its own policies)",
			KeyDenyScope, s, DenyScopeNamespace, DenyScopeObserved)
	}
	if s == DenyScopeObserved && baseline {
		return "", fmt.Errorf("--%s %s and %s (--baseline-deny): the baseline default-deny isolates every pod of the application namespaces, which %s scope leaves alone: choose one",
			KeyDenyScope, s, KeyBaselineDeny, s)
	}
	return s, nil
}

func inventoryDefaults() map[string]any {
	return map[string]any{KeyInventory: []string{}, KeyDenyScope: DenyScopeNamespace, KeyKubeconfig: "", KeyKubeContext: ""}
}

func loadInventory(vp *viper.Viper) ([]string, Kube, error) {
	args := vp.GetStringSlice(KeyInventory)
	k := Kube{Kubeconfig: vp.GetString(KeyKubeconfig), Context: vp.GetString(KeyKubeContext)}
	live := false
	for _, a := range args {
		if a == InventoryLive {
			live = true
		}
		if a == "" {
			return nil, k, fmt.Errorf("--%s: empty file name", KeyInventory)
		}
	}
	if live && len(args) > 1 {
		return nil, k, fmt.Errorf("--%s %s reads the live cluster: it cannot be combined with inventory files (name a file called kube ./kube)", KeyInventory, InventoryLive)
	}
	return args, k, nil
}
