// Package learn is the `flowfence learn` verb: learn the flow graph from
// sources and write (or merge into) a graph file.
package learn

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/pipeline"
)

// NewCommand returns the learn command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "learn --from SRC... --graph FILE",
		Short: "Learn the flow graph and write it (merging into an existing graph file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.Bind(env.Viper, cmd); err != nil {
				return err
			}
			c, err := config.Load(env.Viper)
			if err != nil {
				return err
			}
			if c.Graph == "" {
				return errors.New("--graph: required (the graph file to write or merge into)")
			}
			if env.Viper.GetString("duration") != "" {
				return errors.New("--duration: only for live sources (hubble://), not files")
			}
			log := flags.Logger(env, c.Quiet)
			g, sum, err := pipeline.Learn(flags.Context(cmd), c.From, flags.LearnOptions(c, env, log), log)
			if err != nil {
				return err
			}
			merged, err := pipeline.WriteGraph(c.Graph, g, !env.Viper.GetBool("replace"))
			if err != nil {
				return err
			}
			if !c.Quiet {
				pipeline.PrintSummary(env.Streams.Err, sum, g, nil, "")
				cmd.PrintErrf("  graph:     %s now holds %d nodes, %d edges\n", c.Graph, len(merged.Nodes), len(merged.Edges))
			}
			return nil
		},
	}
	flags.AddLearn(cmd.Flags())
	cmd.Flags().String(config.KeyGraph, "", "graph file to write; an existing graph there is merged with")
	cmd.Flags().Bool("replace", false, "replace the graph file instead of merging into it")
	cmd.Flags().String("duration", "", "observe a live source for this long (live sources only)")
	return cmd
}
