// Package graph is the `flowfence graph` verb: learn the service graph from
// any source generate accepts (flow files, saved graphs, hubble://,
// goldmane://) and draw it as Mermaid, Graphviz DOT or one self-contained
// HTML page (output/picture).
package graph

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/picture"
	"github.com/flowfence/flowfence/pipeline"
)

// NewCommand returns the graph command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "graph --from SRC... [-n NS] -o mermaid|dot|html [--out FILE]",
		Short: "Draw the learned service graph (Mermaid, Graphviz DOT, or a self-contained HTML page)",
		Long: `Learn the service graph from the sources (as generate does) and draw it: namespaces
as groups (Mermaid subgraphs, DOT clusters, boxes on the page), one edge per caller and
callee labelled with its ports. Denied attempts (an existing policy dropped the connection
and nobody answered) are drawn dashed and red; with --baseline GRAPH, learned edges the
baseline does not hold are new, drawn thick and green.

  -o mermaid   a Mermaid flowchart (paste into a ` + "```mermaid" + ` block of Markdown)
  -o dot       Graphviz DOT (dot -Tsvg graph.dot > graph.svg)
  -o html      one HTML file that works offline: pan, zoom, find, a namespace at a time

-n NS keeps the edges from or to workloads of NS (repeatable; for hubble:// sources it is
also the relay's server-side filter). The picture goes to stdout, or to --out FILE
(written atomically).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, env) },
	}
	// the learn flags, with -n for --namespace as the Hubble CLI has it
	learn := pflag.NewFlagSet("learn", pflag.ContinueOnError)
	flags.AddLearn(learn)
	learn.VisitAll(func(f *pflag.Flag) {
		if f.Name == flags.FlagNamespace {
			f.Shorthand = "n"
			f.Usage = "only edges from or to workloads of these namespaces (repeatable; hubble:// sources: also the server-side filter)"
		}
		cmd.Flags().AddFlag(f)
	})
	cmd.Flags().String(config.KeyBaseline, "", "baseline graph file (flowfence learn --graph): learned edges it does not hold are drawn as new")
	cmd.Flags().String(config.KeyOut, "", "write the picture to this file (atomically) instead of stdout")
	flags.AddOutput(cmd.Flags(), picture.Formats()...)
	return cmd
}

func run(cmd *cobra.Command, env flags.Env) error {
	c, log, err := flags.Setup(env, cmd)
	if err != nil {
		return err
	}
	format, err := flags.Output(cmd, picture.Formats()...)
	if err != nil {
		return err
	}
	// --out is read from the flag alone: the config file's out is
	// generate's policy directory, not a picture file
	out, err := cmd.Flags().GetString(config.KeyOut)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	var baseline *learner.Graph
	if c.Baseline != "" {
		if baseline, err = learner.ReadGraphFile(c.Baseline); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	g, _, err := pipeline.Learn(flags.Context(cmd), c.From, flags.LearnOptions(c, env, log), log)
	if err != nil {
		return err
	}
	title := "flowfence graph"
	if ns := c.Live.Namespaces; len(ns) > 0 {
		title += " of " + strings.Join(ns, ", ")
	}
	p, err := picture.Build(g, picture.Options{Namespaces: c.Live.Namespaces, Baseline: baseline, Title: title})
	if err != nil {
		return fmt.Errorf("-n: %w", err)
	}
	var b []byte
	switch format {
	case picture.FormatDOT:
		b = picture.DOT(p)
	case picture.FormatHTML:
		if b, err = picture.HTML(p); err != nil {
			return err
		}
	default:
		b = picture.Mermaid(p)
	}
	if out == "" {
		_, err := env.Streams.Out.Write(b)
		return err
	}
	if err := output.WriteFileAtomic(out, b); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !c.Quiet {
		fmt.Fprintf(env.Streams.Err, "graph: %s written: %s\n", escape.Terminal(out), p.Summary())
	}
	return nil
}
