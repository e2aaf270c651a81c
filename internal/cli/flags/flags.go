// Package flags declares the CLI flags the verbs share and binds them to
// the injected viper under the config keys (flag > env > file > default).
package flags

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// Streams are the IO streams a command uses (injected, never os.* directly).
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Env is what every verb gets from the root command.
type Env struct {
	Viper   *viper.Viper
	Streams Streams
}

// flagKeys maps flag names to config keys where they differ.
func flagKeys() map[string]string {
	return map[string]string{
		"system-namespaces":  config.KeyNSSystem,
		"include-namespaces": config.KeyNSInclude,
		"exclude-namespaces": config.KeyNSExclude,
		"dns-cluster-ip":     config.KeyDNSClusterIPs,
		"node-cidrs":         config.KeyNodeCIDRs,
	}
}

// AddLearn adds the flags of reading and learning.
func AddLearn(fs *pflag.FlagSet) {
	fs.StringSlice(config.KeyFrom, nil, "flow sources: files, globs, .gz, - for stdin, saved graphs (repeatable)")
	fs.Bool(config.KeyStrict, false, "make a malformed input line fatal")
	fs.Bool(config.KeyLearnDropped, false, "also learn connections an existing policy denied")
	fs.String(config.KeySince, "", "only flows at or after this time (RFC 3339, or a duration ago such as 24h)")
	fs.String(config.KeyUntil, "", "only flows at or before this time (RFC 3339, or a duration ago)")
	fs.Int(config.KeyWorkers, 0, "decode workers (0 = all cores)")
}

// AddSynth adds the flags of policy generation.
func AddSynth(fs *pflag.FlagSet) {
	fs.String(config.KeyFormat, "k8s", "policy flavor: k8s")
	fs.String(config.KeyCloud, "generic", "cloud profile of the metadata guard: generic|aws|gcp|azure|oci|alibaba")
	fs.String(config.KeyCNI, "kubernetes", "NetworkPolicy semantics of the cluster's CNI: kubernetes|cilium|calico")
	fs.StringSlice("system-namespaces", nil, "more namespaces (globs) that get no policies")
	fs.StringSlice("include-namespaces", nil, "only these namespaces (globs) get policies")
	fs.StringSlice("exclude-namespaces", nil, "these namespaces (globs) get no policies")
	fs.StringSlice("dns-cluster-ip", nil, "kube-dns Service IP(s) to admit with NodeLocal DNS")
	fs.StringSlice("node-cidrs", nil, "node CIDRs to admit node traffic by (instead of observed node IPs)")
}

// Bind binds cmd's flags into vp under their keys and reads the config file.
func Bind(vp *viper.Viper, cmd *cobra.Command) error {
	keys := flagKeys()
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Name == "help" {
			return
		}
		key := f.Name
		if k, ok := keys[f.Name]; ok {
			key = k
		}
		err = vp.BindPFlag(key, f)
	})
	if err != nil {
		return fmt.Errorf("bind flags: %w", err)
	}
	return config.ReadFile(vp)
}

// Logger returns the logger for warnings on stderr.
func Logger(env Env, quiet bool) *slog.Logger {
	level := slog.LevelWarn
	if quiet {
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(env.Streams.Err, &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// LearnOptions builds pipeline options from the config.
func LearnOptions(c *config.Config, env Env, log *slog.Logger) pipeline.LearnOptions {
	return pipeline.LearnOptions{
		Collect: collectors.Options{Strict: c.Strict, Stdin: env.Streams.In, Logger: log, Workers: c.Workers},
		Learn:   learner.Options{LearnDropped: c.LearnDropped},
		Since:   c.Since, Until: c.Until,
	}
}

// SynthOptions builds synth options from the config.
func SynthOptions(c *config.Config) synth.Options {
	return synth.Options{
		Cloud: c.Cloud, CNI: c.CNI, SystemNamespaces: c.NSSystem, Include: c.NSInclude, Exclude: c.NSExclude,
		MetadataAllow: c.MetadataAllow, DNSClusterIPs: c.DNSClusterIPs, NodeCIDRs: c.NodeCIDRs,
		QuietFraction: c.QuietFraction, QuietPeriod: c.QuietPeriod, MinFlows: c.MinFlows,
	}
}

// Context returns the command's context (never nil).
func Context(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
