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

func inventoryDefaults() map[string]any {
	return map[string]any{KeyInventory: []string{}, KeyKubeconfig: "", KeyKubeContext: ""}
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
