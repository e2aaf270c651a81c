package config

import (
	"fmt"

	"github.com/spf13/viper"
)

// KeyInventory names the cluster inventory generate reads (flag
// --inventory, repeatable): kubectl dumps (files, globs, .gz, - for
// stdin). Empty: no inventory, and the output is what the flows alone say.
const KeyInventory = "inventory"

// InventoryLive is the --inventory value reserved for the live cluster.
const InventoryLive = "kube"

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

func inventoryDefaults() map[string]any {
	return map[string]any{KeyInventory: []string{}, KeyDenyScope: DenyScopeNamespace}
}

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

func loadInventory(vp *viper.Viper) ([]string, error) {
	args := vp.GetStringSlice(KeyInventory)
	for _, a := range args {
		if a == InventoryLive {
			return nil, fmt.Errorf("--%s %s: reading the live cluster is not in this build yet: pass a kubectl dump "+
				"(kubectl get ns,nodes,pods,deploy,sts,ds,rs,job,cronjob,svc,networkpolicies -A -o json > inventory.json), or ./kube for a file of that name", KeyInventory, a)
		}
		if a == "" {
			return nil, fmt.Errorf("--%s: empty file name", KeyInventory)
		}
	}
	return args, nil
}
