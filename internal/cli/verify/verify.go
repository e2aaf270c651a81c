// Package verify is the `flowfence verify` verb: replay the observed
// request flows against a committed NetworkPolicy tree and fail (exit 3)
// when the tree would deny one.
package verify

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/output/diffreport"
	"github.com/flowfence/flowfence/pipeline"
)

// NewCommand returns the verify command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify --policies DIR --from SRC...",
		Short: "Replay observed flows against a NetworkPolicy tree; exit 3 if it would deny any",
		Long: `Replay every observed request edge (learned from --from) against the NetworkPolicies
under --policies, with the NetworkPolicy semantics of --cni, and list every flow the
tree would deny with the policies involved. A tree written by 'flowfence generate --out'
is judged with the settings it was generated with (DIR/.flowfence/settings.json: --cni,
--cloud, the namespace scope, ...); a flag given on the command line overrides them.

Calico staged policies (generate --staged) are judged as promoted, which is what
verify is asked before promoting them: a staged policy with stagedAction Set is the
enforced policy of the same name and replaces one in the tree, stagedAction Delete
removes it, a StagedKubernetesNetworkPolicy is the NetworkPolicy it becomes; the report
says so (a "staged policies evaluated as promoted" line; "staged" in -o json).

Not failures, counted and listed: requests from the pod's own node (kubelet probes,
always allowed by real CNIs; a plain address is known as a node by --inventory), ICMP (inexpressible in NetworkPolicy), calls to cloud
credential endpoints the metadata guard denies on purpose, flows of application
namespaces the tree has no policy for (diff reports those), and denied attempts
(connections a policy already in place dropped; not replayed).

Exit status: 0 every observed request is admitted, 3 some would be denied, 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// a tree from generate is judged with the settings it was generated with
			c, log, state, err := flags.SetupTree(env, cmd, "verify")
			if err != nil {
				return err
			}
			format, err := flags.Output(cmd, diffreport.FormatText, diffreport.FormatJSON)
			if err != nil {
				return err
			}
			if c.Policies == "" {
				return errors.New("--policies: required (the directory of the NetworkPolicy tree to verify)")
			}
			// the inventory's nodes (a plain address calling its own node's
			// pods, a Calico flow log's kubelet probe, is the node) and the
			// pods' named container ports
			sopts, opts, err := flags.CheckOptions(cmd, c, env, state)
			if err != nil {
				return err
			}
			tree, err := diffcheck.ReadTree(c.Policies)
			if err != nil {
				return err
			}
			checker, err := diffcheck.NewChecker(tree, opts)
			if err != nil {
				return err
			}
			g, _, err := pipeline.Learn(flags.Context(cmd), c.From, flags.LearnOptions(c, env, log), log)
			if err != nil {
				return err
			}
			checker.UsePorts(flags.NamedPorts(sopts.Inventory, state, g))
			v := checker.Verify(g)
			if format == diffreport.FormatJSON {
				b, err := diffreport.Marshal(diffreport.NewVerifyDoc(v))
				if err != nil {
					return err
				}
				if _, err := env.Streams.Out.Write(b); err != nil {
					return err
				}
			} else {
				diffreport.VerifyText(env.Streams.Out, v)
			}
			if v.Failed() {
				return flags.Findings("verify: %d observed request edges would be denied by the policies in %s", v.Counts.Denied, escape.Terminal(c.Policies))
			}
			return nil
		},
	}
	flags.AddLearn(cmd.Flags())
	flags.AddPolicies(cmd.Flags())
	flags.AddScope(cmd.Flags())
	flags.AddInventory(cmd.Flags(), "the nodes' addresses, and the pods' named container ports the tree's named ports resolve through (default for those: the table the tree recorded)")
	flags.AddOutput(cmd.Flags(), diffreport.FormatText, diffreport.FormatJSON)
	return cmd
}
