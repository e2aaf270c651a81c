// Package generate is the `flowfence generate` verb: learn from flow
// sources and write the PR-ready policy tree.
package generate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/inventory/kube"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
)

// NewCommand returns the generate command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate --from SRC... --out DIR",
		Short: "Learn the flow graph and write least-privilege policies as a PR-ready tree",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, log, err := flags.Setup(env, cmd)
			if err != nil {
				return err
			}
			f, err := pipeline.NewFormatter(c.Format, flags.FormatterOptions(c))
			if err != nil {
				return err
			}
			lopts := flags.LearnOptions(c, env, log)
			lopts.Fleet = c.Fleet
			if lopts.Fleet && !slices.ContainsFunc(c.From, func(u string) bool { return strings.HasPrefix(u, fleet.Scheme) }) {
				return fmt.Errorf("--%s: merges the clusters of a nats:// source; give one (--from 'nats://HOST:4222/STREAM?cluster=GLOB')", config.KeyFleet)
			}
			g, sum, err := pipeline.Learn(flags.Context(cmd), c.From, lopts, log)
			var cut *pipeline.IncompleteError
			if err != nil && !errors.As(err, &cut) {
				return err
			}
			sopts := flags.SynthOptions(c)
			if sopts.Inventory, err = readInventory(cmd, c, env); err != nil {
				return err
			}
			set, tree, err := pipeline.RenderLearned(g, sum, sopts, f)
			if err != nil {
				return err
			}
			// the graph and the settings go into the tree (.flowfence/), in
			// the same atomic replace: diff --update regenerates from them
			if err := pipeline.AddState(tree, g, config.SettingsOf(c)); err != nil {
				return err
			}
			if err := output.WriteTree(c.Out, tree); err != nil {
				return err
			}
			if !c.Quiet {
				pipeline.PrintSummary(env.Streams.Err, sum, g, set, c.Out)
			}
			if cut != nil {
				return &flags.ExitError{Code: flags.CodeIncomplete, Err: fmt.Errorf("%w; %s was written from the flows received before (ROLLOUT.md says so)", cut, c.Out)}
			}
			return nil
		},
	}
	flags.AddLearn(cmd.Flags())
	flags.AddSynth(cmd.Flags())
	cmd.Flags().Bool(config.KeyFleet, false, "with nats:// sources: one tree for every cluster merged (it admits what any of them observed); FLOWS.md, ROLLOUT.md and the summary say which edges only one cluster observed")
	cmd.Flags().String(config.KeyOut, "out", "output directory (replaced atomically); its .flowfence/ keeps the graph and the settings it was generated from (diff --update reads them)")
	cmd.Flags().StringSlice(config.KeyInventory, nil, "cluster inventory: kube (the live cluster, list only: deploy/inventory-clusterrole.yaml), or kubectl get ... -A -o json|yaml dumps (files, globs, .gz, - for stdin; repeatable)")
	cmd.Flags().String(flags.FlagKubeconfig, "", "--inventory kube: kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	cmd.Flags().String(flags.FlagKubeContext, "", "--inventory kube: kubeconfig context (default: its current context)")
	return cmd
}

// readInventory reads --inventory (nil without one): the live cluster or
// kubectl dumps.
func readInventory(cmd *cobra.Command, c *config.Config, env flags.Env) (*inventory.Snapshot, error) {
	if len(c.Inventory) == 0 {
		return nil, nil
	}
	if slices.Equal(c.Inventory, []string{config.InventoryLive}) {
		return kube.Read(flags.Context(cmd), kube.Options{Kubeconfig: c.Kube.Kubeconfig, Context: c.Kube.Context})
	}
	if slices.Contains(c.Inventory, "-") && slices.Contains(c.From, "-") {
		return nil, errors.New("--inventory - and --from -: only one of them can read standard input")
	}
	return dump.Read(c.Inventory, dump.Options{Stdin: env.Streams.In})
}
