// Package configview is the `flowfence config view` verb: print the
// effective configuration after flags, environment, config file and defaults.
package configview

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/flags"
)

// NewCommand returns `config` with its `view` subcommand.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show flowfence's configuration"}
	view := &cobra.Command{
		Use:   "view",
		Short: "Print the effective configuration (flags > FLOWFENCE_* env > config file > defaults)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.Bind(env.Viper, cmd); err != nil {
				return err
			}
			if _, err := config.Load(env.Viper); err != nil {
				return err
			}
			settings := env.Viper.AllSettings()
			delete(settings, config.KeyConfig)
			redact(settings)
			b, err := yaml.Marshal(settings)
			if err != nil {
				return fmt.Errorf("config view: %w", err)
			}
			_, err = env.Streams.Out.Write(b)
			return err
		},
	}
	flags.AddLearn(view.Flags())
	flags.AddSynth(view.Flags())
	view.Flags().String(config.KeyOut, "out", "output directory")
	cmd.AddCommand(view)
	return cmd
}

// redact replaces the secrets' values (config.SecretKeys) with REDACTED.
func redact(settings map[string]any) {
	for _, k := range config.SecretKeys() {
		section, name, _ := strings.Cut(k, ".")
		if m, ok := settings[section].(map[string]any); ok {
			if v, ok := m[name].(string); ok && v != "" {
				m[name] = "REDACTED"
			}
		}
	}
}
