// Package diff is the `flowfence diff` verb: compare a new observation with
// the committed policy tree (undocumented flows, stale rules) and/or a
// baseline graph (new and vanished edges), report it as text, Markdown
// (--report, for a pull-request comment) or JSON, and with --update rewrite
// the tree so that it also admits the new flows.
package diff

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/diffreport"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/pipeline"
)

const updateFlag = "update"

// NewCommand returns the diff command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff --policies DIR | --baseline GRAPH --from SRC...",
		Short: "Report flows the committed policies do not document, stale rules, and new/vanished edges",
		Long: `Compare a new observation (--from) with what is committed:

  --policies DIR    the NetworkPolicy tree: new undocumented flows (observed requests the
                    tree denies, or flows of an application namespace it has no policy
                    for) per namespace, and stale rules (rule x peer x port elements no
                    observed flow uses; the default-deny and the DNS bundle never are)
  --baseline GRAPH  a saved graph (flowfence learn): new and vanished edges
Both may be given. --report FILE writes the Markdown report for a pull-request comment
(summary table, a section per namespace, a Mermaid graph of the new flows); -o json
prints the JSON document on stdout.

--update (with --policies and --graph FILE) rewrites the tree so that it also admits the
new flows. A tree does not store the graph it was generated from, so --graph must name
that graph (the one 'flowfence learn --graph' built, committed beside the tree): the new
observation is merged into it, the tree is regenerated from the merged graph into
--policies (atomically, with the same generator flags and config as generate) and the
merged graph is written back. Nothing is written when nothing is undocumented. A
periodic job runs diff --update --report, and opens a pull request with the report and
the changed files when the exit status is 3.

Exit status: 0 nothing new, 3 new undocumented flows or new edges (also after --update
rewrote the tree), 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, env)
		},
	}
	flags.AddLearn(cmd.Flags())
	flags.AddPolicies(cmd.Flags())
	flags.AddSynth(cmd.Flags())
	cmd.Flags().String(config.KeyBaseline, "", "baseline graph file (flowfence learn --graph) to compare edges with")
	cmd.Flags().String(config.KeyReport, "", "write the Markdown report (pull-request comment) to this file, atomically")
	cmd.Flags().String(config.KeyGraph, "", "with --update: the graph the committed tree was generated from; the observation is merged into it")
	cmd.Flags().Bool(updateFlag, false, "rewrite the --policies tree so that it also admits the new flows (needs --graph)")
	flags.AddOutput(cmd.Flags(), diffreport.FormatText, diffreport.FormatJSON, diffreport.FormatMarkdown)
	return cmd
}

func run(cmd *cobra.Command, env flags.Env) error {
	c, log, err := flags.Setup(env, cmd)
	if err != nil {
		return err
	}
	format, err := flags.Output(cmd, diffreport.FormatText, diffreport.FormatJSON, diffreport.FormatMarkdown)
	if err != nil {
		return err
	}
	update, err := cmd.Flags().GetBool(updateFlag)
	if err != nil {
		return fmt.Errorf("--update: %w", err)
	}
	if c.Policies == "" && c.Baseline == "" {
		return errors.New("--policies or --baseline: at least one is required (the committed policy tree, or a saved graph)")
	}
	var committed *learner.Graph
	if update {
		switch {
		case c.Policies == "":
			return errors.New("--update: needs --policies DIR, the tree to rewrite")
		case c.Graph == "":
			return errors.New("--update: needs --graph FILE, the graph the committed tree was generated from (a tree does not store its graph)")
		case c.Format != k8s.FormatName && c.Format != "kubernetes":
			return fmt.Errorf("--format %q: diff --update rewrites the NetworkPolicy (k8s) tree it reads", c.Format)
		}
		if committed, err = readGraph("--graph", c.Graph); err != nil {
			return err
		}
	}
	sopts := flags.SynthOptions(c)
	opts, err := diffcheck.NewOptions(sopts)
	if err != nil {
		return err
	}
	opts.Workers = c.Workers
	var checker *diffcheck.Checker
	if c.Policies != "" {
		tree, err := diffcheck.ReadTree(c.Policies)
		if err != nil {
			return err
		}
		if scope := tree.DenyScope(); update && scope != "" && scope != c.DenyScope && !cmd.Flags().Changed(config.KeyDenyScope) {
			// regenerating in another scope changes what the tree
			// isolates: only when asked for by name
			return fmt.Errorf("--update: the --policies tree was generated with --%s %s, not %s: pass --%s %s to keep it (or --%s %s to change it)",
				config.KeyDenyScope, scope, c.DenyScope, config.KeyDenyScope, scope, config.KeyDenyScope, c.DenyScope)
		}
		if checker, err = diffcheck.NewChecker(tree, opts); err != nil {
			return err
		}
	}
	var baseline *learner.Graph
	if c.Baseline != "" {
		if baseline, err = readGraph("--baseline", c.Baseline); err != nil {
			return err
		}
	}
	obs, _, err := pipeline.Learn(flags.Context(cmd), c.From, flags.LearnOptions(c, env, log), log)
	if err != nil {
		return err
	}
	d, err := diffcheck.Compare(obs, checker, baseline, c.Baseline, sopts)
	if err != nil {
		return err
	}
	if c.Report != "" {
		if err := output.WriteFileAtomic(c.Report, diffreport.Markdown(d)); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	switch format {
	case diffreport.FormatJSON:
		b, err := diffreport.Marshal(diffreport.NewDiffDoc(d))
		if err != nil {
			return err
		}
		if _, err := env.Streams.Out.Write(b); err != nil {
			return err
		}
	case diffreport.FormatMarkdown:
		if _, err := env.Streams.Out.Write(diffreport.Markdown(d)); err != nil {
			return err
		}
	default:
		diffreport.DiffText(env.Streams.Out, d)
	}
	if update && len(d.Undocumented) > 0 {
		res, err := diffcheck.Update(pipeline.Render, committed, obs, sopts, c.LearnDropped, c.Policies, c.Graph)
		if err != nil {
			return err
		}
		if !c.Quiet {
			n := 0
			for _, ns := range res.Set.Namespaces {
				n += len(ns.Policies)
			}
			fmt.Fprintf(env.Streams.Err, "updated: %s regenerated (%d policies in %d namespaces) from %s, which now holds %d edges\n",
				escape.Terminal(c.Policies), n, len(res.Set.Namespaces), escape.Terminal(c.Graph), len(res.Graph.Edges))
		}
	}
	if d.Found() {
		t := d.Totals()
		return flags.Findings("diff: %d new undocumented flows, %d new edges", t.Undocumented, t.NewEdges)
	}
	return nil
}

// readGraph reads a saved graph; flag names the flag in errors.
func readGraph(flag, path string) (*learner.Graph, error) {
	g, err := learner.ReadGraphFile(path)
	if _, opening := err.(*os.PathError); opening { // ReadGraph's errors are wrapped
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return g, nil
}
