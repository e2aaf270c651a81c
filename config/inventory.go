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

func inventoryDefaults() map[string]any {
	return map[string]any{KeyInventory: []string{}}
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
