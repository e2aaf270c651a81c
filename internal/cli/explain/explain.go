// Package explain is the `flowfence explain` verb: why a flow would be
// admitted or denied by a policy tree, and which observed flows stand
// behind a rule (the library: package explain).
package explain

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/diffcheck"
	explainlib "github.com/flowfence/flowfence/explain"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// NewCommand returns the explain command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain --policies DIR 'FLOW' | 'RULE'",
		Short: "Explain why a flow is admitted or denied by a policy tree, or which observed flows a rule admits",
		Long: `FLOW is 'SRC -> DST:PORT/PROTO' (quote it: > is a shell redirection), each end a
workload ns/name or an IP address, e.g. 'shop/frontend -> data/postgres:5432/TCP' or
'payments/worker -> 198.51.100.10:443/TCP'. explain prints the verdict of the tree under
--policies with its flavor's semantics (--cni for NetworkPolicy trees), the policies
selecting each end and their files, the rule that admits the flow, or for a denial the
nearest rule and what differs (port, peer, namespace, pod labels).

RULE is 'ns/policy', 'ns/policy#ingress', 'ns/policy#egress N' (N counts from 0; a
cluster-scoped policy has no ns/): the observed flows behind every peer x port of those
rules, with counts, first and last seen, the nodes that saw them and the DNS names of
address peers; an element nothing used is stale.

Workload labels and observed flows come from the graph the tree was generated from:
--graph FILE, by default DIR/.flowfence/graph.json (written by generate --out DIR).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, env, strings.Join(args, " "))
		},
	}
	flags.AddPolicies(cmd.Flags())
	cmd.Flags().String(config.KeyCNI, "kubernetes", "NetworkPolicy semantics of the cluster's CNI: kubernetes|cilium|calico (Cilium and Calico trees are judged with their own)")
	cmd.Flags().String(config.KeyGraph, "", "the graph the tree was generated from (default: DIR/.flowfence/graph.json)")
	flags.AddOutput(cmd.Flags(), explainlib.FormatText, explainlib.FormatJSON)
	return cmd
}

func run(cmd *cobra.Command, env flags.Env, arg string) error {
	c, _, err := flags.Setup(env, cmd)
	if err != nil {
		return err
	}
	format, err := flags.Output(cmd, explainlib.FormatText, explainlib.FormatJSON)
	if err != nil {
		return err
	}
	if c.Policies == "" {
		return errors.New("--policies: required (the directory of the policy tree to explain)")
	}
	// the argument first: a typo is reported before anything is read
	answer, err := question(arg)
	if err != nil {
		return err
	}
	tree, err := diffcheck.ReadTree(c.Policies)
	if err != nil {
		return err
	}
	// the semantics the tree's flavor implies, as generate decides them
	sopts, err := synth.ForFlavor(flags.SynthOptions(c), tree.Flavor)
	if err != nil {
		return err
	}
	opts, err := diffcheck.NewOptions(sopts)
	if err != nil {
		return err
	}
	// the tree's named ports resolve with the table generate recorded
	ports, portsFile, err := pipeline.ReadPorts(c.Policies)
	if err != nil {
		return err
	}
	if ports != nil {
		opts.Ports, opts.PortsFrom = ports, escape.Terminal(portsFile)
	}
	graphFile, flag := c.Graph, "--graph"
	if graphFile == "" {
		graphFile, flag = explainlib.TreeGraphFile(c.Policies), "--policies"
	}
	g, err := learner.ReadGraphFile(graphFile)
	switch {
	case flag == "--policies" && (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		// ENOTDIR: a tree whose .flowfence is the marker file of an older generate
		return fmt.Errorf("--graph: %s does not exist: pass --graph FILE, the graph the tree was generated from (generate --out writes it there)", escape.Terminal(graphFile))
	case err != nil:
		return fmt.Errorf("%s: %w", flag, err)
	}
	x, err := explainlib.New(tree, opts, g, graphFile)
	if err != nil {
		return err
	}
	report, err := answer(x)
	if err != nil {
		return err
	}
	if format == explainlib.FormatJSON {
		b, err := explainlib.JSON(report)
		if err != nil {
			return err
		}
		_, err = env.Streams.Out.Write(b)
		return err
	}
	if r, ok := report.(*explainlib.FlowReport); ok {
		return explainlib.FlowText(env.Streams.Out, r)
	}
	return explainlib.RuleText(env.Streams.Out, report.(*explainlib.RuleReport))
}

// question parses arg, a flow or a rule, into what it asks of an
// Explainer: the one place that tells the two kinds of argument apart.
func question(arg string) (func(*explainlib.Explainer) (any, error), error) {
	if explainlib.IsFlow(arg) {
		q, err := explainlib.ParseFlow(arg)
		return func(x *explainlib.Explainer) (any, error) { return x.Flow(q) }, err
	}
	q, err := explainlib.ParseRule(arg)
	return func(x *explainlib.Explainer) (any, error) { return x.Rule(q) }, err
}
