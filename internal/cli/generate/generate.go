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
			if sopts.Inventory, err = flags.ReadInventory(cmd, c, env); err != nil {
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
			if err := pipeline.AddPorts(tree, set); err != nil {
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
	flags.AddInventory(cmd.Flags(), "selectors proven against every pod, silent workloads, nodes, named ports")
	return cmd
}
