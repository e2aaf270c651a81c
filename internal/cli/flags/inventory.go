package flags

import (
	"errors"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/inventory/kube"
)

// AddInventory adds --inventory and the live cluster's --kubeconfig and
// --context (generate reads the cluster with them; verify knows the
// nodes' addresses by them).
func AddInventory(fs *pflag.FlagSet) {
	fs.StringSlice(config.KeyInventory, nil, "cluster inventory: kube (the live cluster, list only: deploy/inventory-clusterrole.yaml), or kubectl get ... -A -o json|yaml dumps (files, globs, .gz, - for stdin; repeatable)")
	fs.String(FlagKubeconfig, "", "--inventory kube: kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	fs.String(FlagKubeContext, "", "--inventory kube: kubeconfig context (default: its current context)")
}

// ReadInventory reads --inventory (nil without one): the live cluster or
// kubectl dumps.
func ReadInventory(cmd *cobra.Command, c *config.Config, env Env) (*inventory.Snapshot, error) {
	if len(c.Inventory) == 0 {
		return nil, nil
	}
	if slices.Equal(c.Inventory, []string{config.InventoryLive}) {
		return kube.Read(Context(cmd), kube.Options{Kubeconfig: c.Kube.Kubeconfig, Context: c.Kube.Context})
	}
	if slices.Contains(c.Inventory, "-") && slices.Contains(c.From, "-") {
		return nil, errors.New("--inventory - and --from -: only one of them can read standard input")
	}
	return dump.Read(c.Inventory, dump.Options{Stdin: env.Streams.In})
}
