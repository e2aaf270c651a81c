// Package root assembles the flowfence command tree: one injected viper,
// injected IO streams, a package per verb.
package root

import (
	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/configview"
	"github.com/flowfence/flowfence/internal/cli/diff"
	explaincmd "github.com/flowfence/flowfence/internal/cli/explain"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/cli/generate"
	graphcmd "github.com/flowfence/flowfence/internal/cli/graph"
	"github.com/flowfence/flowfence/internal/cli/learn"
	relaycmd "github.com/flowfence/flowfence/internal/cli/relay"
	"github.com/flowfence/flowfence/internal/cli/verify"
	"github.com/flowfence/flowfence/internal/cli/version"
)

// NewCommand returns the root command wired to streams and a fresh viper.
func NewCommand(streams flags.Streams) *cobra.Command {
	env := flags.Env{Viper: config.New(), Streams: streams}
	cmd := &cobra.Command{
		Use:           "flowfence",
		Short:         "Learn the flows your CNI records and write the least-privilege network policies that admit exactly them",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.Err)
	cmd.PersistentFlags().String(config.KeyConfig, "", "config file (see config.example.yaml); also FLOWFENCE_CONFIG")
	cmd.PersistentFlags().Bool(config.KeyQuiet, false, "print errors only")
	cmd.AddCommand(generate.NewCommand(env), learn.NewCommand(env), configview.NewCommand(env))
	cmd.AddCommand(verify.NewCommand(env), diff.NewCommand(env))
	cmd.AddCommand(relaycmd.NewCommand(env))
	cmd.AddCommand(explaincmd.NewCommand(env), version.NewCommand(env))
	cmd.AddCommand(graphcmd.NewCommand(env))
	return cmd
}
