// Package learn is the `flowfence learn` verb: learn the flow graph from
// sources and write (or merge into) a graph file.
package learn

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/serve"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
)

// replaceFlag is learn's own flag (no config key): write the graph instead
// of merging into the file's.
const replaceFlag = "replace"

// NewCommand returns the learn command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "learn --from SRC... --graph FILE",
		Short: "Learn the flow graph and write it (merging into an existing graph file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, log, err := flags.Setup(env, cmd)
			if err != nil {
				return err
			}
			if c.Graph == "" {
				return errors.New("--graph: required (the graph file to write or merge into)")
			}
			// the graph there is read first: live windows resume from its
			// cursors and save checkpoints of it merged with what they learn
			var base *learner.Graph
			if !env.Viper.GetBool(replaceFlag) {
				if base, err = pipeline.ReadGraphFile(c.Graph); err != nil {
					return err
				}
			}
			opts := flags.LearnOptions(c, env, log)
			opts.Live.Base, opts.Live.CheckpointPath = base, c.Graph
			ctx := flags.Context(cmd)
			if c.NATS.Publish != "" && env.Viper.GetBool(replaceFlag) {
				return errors.New("--replace with --publish: the fleet already holds what this graph published; starting it again would count that twice")
			}
			if c.NATS.Publish != "" {
				po := fleet.PublishOptions{URL: c.NATS.Publish, Cluster: c.NATS.Cluster, GraphPath: c.Graph, Options: opts.NATS}
				if c.Live.ShardCount > 0 {
					po.Shard = fmt.Sprintf("%d/%d", c.Live.ShardIndex, c.Live.ShardCount)
				}
				pub, err := fleet.NewPublisher(ctx, po, base)
				if err != nil {
					return err
				}
				defer pub.Close()
				opts.Live.Sink = pub
			}
			var srv *serve.Server
			if c.ServeListen != "" {
				interval := opts.Live.CheckpointInterval
				if interval <= 0 {
					interval = pipeline.DefaultCheckpointInterval
				}
				srv = serve.New(serve.Options{CheckpointInterval: interval, Logger: log})
				srv.SetGraph(base)
				addr, stop, err := srv.Listen(c.ServeListen)
				if err != nil {
					return err
				}
				// stopped after the graph is written: a SIGTERM still saves it
				defer stop()
				opts.Live.Monitor = srv
				if !c.Quiet {
					cmd.PrintErrf("flowfence learn: serving /healthz /readyz /metrics /graph on http://%s\n", addr)
				}
			}
			g, sum, err := pipeline.Learn(ctx, c.From, opts, log)
			var cut *pipeline.IncompleteError
			if err != nil && !errors.As(err, &cut) {
				return err
			}
			merged := pipeline.MergeGraphs(base, g)
			// the last deltas are published even when the run was interrupted
			if err := pipeline.SaveGraph(context.WithoutCancel(ctx), c.Graph, merged, opts.Live.Sink); err != nil {
				return err
			}
			if srv != nil {
				srv.SetGraph(merged)
			}
			if !c.Quiet {
				pipeline.PrintSummary(env.Streams.Err, sum, g, nil, "")
				cmd.PrintErrf("  graph:     %s now holds %d nodes, %d edges\n", c.Graph, len(merged.Nodes), len(merged.Edges))
			}
			if cut != nil {
				return &flags.ExitError{Code: flags.CodeIncomplete, Err: fmt.Errorf("%w; %s was written with the flows received before", cut, c.Graph)}
			}
			return nil
		},
	}
	flags.AddLearn(cmd.Flags())
	flags.AddShard(cmd.Flags())
	flags.AddServe(cmd.Flags())
	cmd.Flags().String(config.KeyGraph, "", "graph file to write; an existing graph there is merged with")
	cmd.Flags().Bool(replaceFlag, false, "replace the graph file instead of merging into it")
	cmd.Flags().String(config.KeyPublish, "", "publish, at every checkpoint, the graph's delta to NATS JetStream: nats://HOST:4222[/STREAM] (subject flowfence.graph.CLUSTER; the stream is created when missing)")
	cmd.Flags().String(config.KeyCluster, "", "--publish: the name of the cluster the graph is learned from (a DNS label)")
	cmd.Flags().Int(flags.FlagNATSReplicas, config.DefaultNATSReplica, "--publish: replicas of the stream when it is created")
	return cmd
}
