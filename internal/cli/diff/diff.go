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
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
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
Both may be given. Calico staged policies (generate --staged) are judged as promoted: a
staged Set policy is the enforced policy of its name (replacing one in the tree), a staged
Delete removes it; the report says so. --report FILE writes the Markdown report for a pull-request comment
(summary table, a section per namespace, a Mermaid graph of the new flows); -o json
prints the JSON document on stdout.

--update (with --policies) rewrites the tree so that it also admits the new flows. A tree
written by 'flowfence generate --out' keeps the graph it was generated from and its
settings in DIR/.flowfence/ (graph.json, settings.json): the new observation is merged into
that graph and the tree is regenerated from the merged graph, in the same flavor and with the
same settings (flavor, tier, staged, cloud, CNI, namespaces, fqdn, guardrails, ...), into
--policies atomically, the merged graph with it. Those settings also decide how this diff
judges the tree. A flag given on the command line overrides the saved setting (and is named
on stderr); the config file and FLOWFENCE_* do not. --graph FILE names the graph to merge
into instead (a tree without .flowfence/, or a graph kept beside it; the merged graph is
written back there too). Nothing is written when nothing is undocumented. A periodic job
runs diff --update --report, and opens a pull request with the report and the changed files
when the exit status is 3 (action.yml, examples/).

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
	flags.AddInventory(cmd.Flags(), "the nodes' addresses, and the pods' named container ports the tree's named ports resolve through (default for those: the table the tree recorded); with --update, the tree is regenerated against it")
	cmd.Flags().String(config.KeyBaseline, "", "baseline graph file (flowfence learn --graph) to compare edges with")
	cmd.Flags().String(config.KeyReport, "", "write the Markdown report (pull-request comment) to this file, atomically")
	cmd.Flags().String(config.KeyGraph, "", "with --update: the graph to merge the observation into, instead of the tree's own .flowfence/graph.json; written back")
	cmd.Flags().Bool(updateFlag, false, "rewrite the --policies tree so that it also admits the new flows, with the settings saved in the tree")
	flags.AddOutput(cmd.Flags(), diffreport.FormatText, diffreport.FormatJSON, diffreport.FormatMarkdown)
	return cmd
}

func run(cmd *cobra.Command, env flags.Env) error {
	c, log, st, err := flags.SetupTree(env, cmd, "diff")
	if err != nil {
		return err
	}
	var state *pipeline.TreeState
	if st.Settings != nil {
		state = st
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
	var formatter output.Formatter
	graphName := c.Graph
	if update {
		switch {
		case c.Policies == "":
			return errors.New("--update: needs --policies DIR, the tree to rewrite")
		case c.Graph != "":
			if committed, err = readGraph("--graph", c.Graph); err != nil {
				return err
			}
		case state != nil:
			committed, graphName = state.Graph, state.GraphPath
		default:
			return fmt.Errorf("--update: %s has no %s (written by flowfence generate --out): needs --graph FILE, the graph the tree was generated from", escape.Terminal(c.Policies), output.GraphFile)
		}
		if formatter, err = pipeline.NewFormatter(c.Format, flags.FormatterOptions(c)); err != nil {
			return err
		}
		if state != nil && state.Settings.Inventory && len(c.Inventory) == 0 && !c.Quiet {
			fmt.Fprintf(env.Streams.Err, "diff --update: %s was generated with --inventory, which is not saved: the tree is regenerated from the flows alone (selectors proven against observed pods only, silent workloads not listed)\n", escape.Terminal(c.Policies))
		}
	}
	sopts, opts, err := flags.CheckOptions(cmd, c, env, st)
	if err != nil {
		return err
	}
	var checker *diffcheck.Checker
	if c.Policies != "" {
		tree, err := diffcheck.ReadTree(c.Policies)
		if err != nil {
			return err
		}
		if update && tree.Flavor != formatter.Name() {
			return fmt.Errorf("--update: the tree in %s is the %s flavor, --format is %s: regenerate it in its own flavor (--format %s)", escape.Terminal(c.Policies), tree.Flavor, formatter.Name(), tree.Flavor)
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
	if checker != nil {
		checker.UsePorts(flags.NamedPorts(sopts.Inventory, st, obs))
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
		settings := config.SettingsOf(c)
		render := func(g *learner.Graph) (*policy.Set, output.Tree, error) {
			set, tree, err := pipeline.RenderWith(g, sopts, formatter)
			if err != nil {
				return nil, nil, err
			}
			if err := pipeline.AddState(tree, g, settings); err != nil {
				return nil, nil, err
			}
			if err := pipeline.AddPorts(tree, set); err != nil {
				return nil, nil, err
			}
			return set, tree, nil
		}
		res, err := diffcheck.Update(render, committed, obs, c.LearnDropped, c.Policies, c.Graph)
		if err != nil {
			return err
		}
		if !c.Quiet {
			n := 0
			for _, ns := range res.Set.Namespaces {
				n += len(ns.Policies)
			}
			fmt.Fprintf(env.Streams.Err, "updated: %s regenerated (%s flavor, %d policies in %d namespaces) from %s, which now holds %d edges\n",
				escape.Terminal(c.Policies), formatter.Name(), n, len(res.Set.Namespaces), escape.Terminal(graphName), len(res.Graph.Edges))
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
