package pipeline

import (
	"context"

	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/learner"
)

// Sink receives every graph a learn run saves (each checkpoint and the
// final graph): Prepare is called before the graph is written (it may add
// its cursor to g, which is written with it) and commit after (with the
// write's error). The --publish sink (fleet.Publisher) is one.
type Sink interface {
	Prepare(g *learner.Graph) (commit func(ctx context.Context, written error) error, err error)
}

// SaveGraph writes g to path through sink (nil: none).
func SaveGraph(ctx context.Context, path string, g *learner.Graph, sink Sink) error {
	if sink == nil {
		return WriteGraphFile(path, g)
	}
	commit, err := sink.Prepare(g)
	if err != nil {
		return err
	}
	werr := WriteGraphFile(path, g)
	if cerr := commit(ctx, werr); werr == nil {
		return cerr
	}
	return werr
}

// openFleet opens a nats:// aggregator: durable (acknowledging after each
// checkpoint) when the run saves a --graph file, else a reader of the
// whole stream (generate).
func openFleet(u string, opts *LearnOptions) (GraphSource, error) {
	no := opts.NATS
	if no.Logger == nil {
		no.Logger = opts.Collect.Logger
	}
	return fleet.NewAggregator(fleet.AggregateOptions{
		URL: u, Durable: opts.Live.CheckpointPath != "", Follow: opts.Live.Relay.Follow,
		SaveEvery: opts.Live.CheckpointInterval, PerCluster: opts.Fleet, Options: no,
	}, opts.Live.Base)
}

// learnGraphs runs a graph source: what it merges goes into merged, and
// each of its saves writes Base ⊕ (what the run learned so far) to the
// checkpoint path.
func learnGraphs(ctx context.Context, arg string, src *Source, opts *LearnOptions, sum *Summary, l *learner.Learner, merged *learner.Graph, names sourceNames) error {
	gs, err := src.OpenGraphs(arg, opts)
	if err != nil {
		return err
	}
	var save func() error
	if path := opts.Live.CheckpointPath; path != "" {
		save = func() error {
			g := l.Graph()
			names.applyTo(g)
			g.Merge(merged)
			g.Judge(opts.Learn.LearnDropped)
			return SaveGraph(ctx, path, MergeGraphs(opts.Live.Base, g), opts.Live.Sink)
		}
	}
	if err := gs.Run(ctx, merged, save); err != nil {
		return err
	}
	if cg, ok := gs.(interface {
		ClusterGraphs() map[string]*learner.Graph
	}); ok && opts.Fleet {
		if sum.Clusters == nil {
			sum.Clusters = map[string]*learner.Graph{}
		}
		for c, g := range cg.ClusterGraphs() {
			if cur := sum.Clusters[c]; cur != nil {
				cur.Merge(g)
			} else {
				sum.Clusters[c] = g
			}
		}
	}
	sum.Graphs++
	return nil
}
