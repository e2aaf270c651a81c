package root_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/cli/root"
)

// TestEveryFlagHasAKey: every flag of every verb is bound to a config key
// (config.Defaults), so a config file and FLOWFENCE_* set what the flag
// sets; the only exceptions are the verbs' own flags listed here.
func TestEveryFlagHasAKey(t *testing.T) {
	own := map[string]bool{"help": true, flags.OutputFlag: true, "update": true, "replace": true, config.KeyConfig: true}
	defaults := config.Defaults()
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			seen++
			if own[f.Name] {
				return
			}
			if _, ok := defaults[flags.FlagKey(f)]; !ok {
				t.Errorf("%s --%s: bound to %q, which is no config key", c.CommandPath(), f.Name, flags.FlagKey(f))
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root.NewCommand(flags.Streams{In: strings.NewReader(""), Out: &strings.Builder{}, Err: &strings.Builder{}}))
	if seen < 50 {
		t.Fatalf("only %d flags seen: the walk missed the verbs", seen)
	}
}
