package flags

import (
	"errors"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/inventory/kube"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// AddInventory adds --inventory, --kubeconfig and --context: the cluster
// inventory generate checks its tree against, and verify and diff resolve
// a tree's named container ports with. what says what it is for.
func AddInventory(fs *pflag.FlagSet, what string) {
	fs.StringSlice(config.KeyInventory, nil, "cluster inventory ("+what+"): kube (the live cluster, list only: deploy/inventory-clusterrole.yaml), or kubectl get ... -A -o json|yaml dumps (files, globs, .gz, - for stdin; repeatable)")
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

// NamedPorts returns what verify and diff resolve a tree's named container
// ports with, and where it came from: the inventory when one was given
// (the pods as they are now, for the workloads of g), else the table
// generate recorded in the tree (state.Ports), else nothing (a named port
// then matches nothing, and the report says so).
func NamedPorts(inv *inventory.Snapshot, state *pipeline.TreeState, g *learner.Graph) (policy.PortTable, string) {
	switch {
	case inv != nil:
		return synth.PortTable(g, inv), "the inventory"
	case state != nil && state.Ports != nil:
		return state.Ports, escape.Terminal(state.PortsPath)
	}
	return nil, ""
}
