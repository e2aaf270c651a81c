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
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/internal/escape"
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

// AddLearn adds the flags of reading and learning.
func AddLearn(fs *pflag.FlagSet) {
	AddLive(fs)
	fs.StringSlice(config.KeyFrom, nil, "flow sources: files, globs, .gz, - for stdin, saved graphs (repeatable)")
	fs.Bool(config.KeyStrict, false, "make a malformed input line fatal")
	fs.Bool(config.KeyLearnDropped, false, "also learn connections an existing policy denied")
	fs.String(config.KeySince, "", "only flows at or after this time (RFC 3339, or a duration ago such as 24h)")
	fs.String(config.KeyUntil, "", "only flows at or before this time (RFC 3339, or a duration ago)")
	fs.Int(config.KeyWorkers, 0, "decode workers (0 = all cores)")
	fs.String(FlagGoldmaneCA, "", "goldmane:// sources: CA bundle (PEM) that signed Goldmane's certificate")
	fs.String(FlagGoldmaneCert, "", "goldmane:// sources: client certificate (PEM) for Goldmane's mutual TLS")
	fs.String(FlagGoldmaneKey, "", "goldmane:// sources: client key (PEM) for Goldmane's mutual TLS")
	fs.String(FlagGoldmaneServerName, config.DefaultGoldmaneServerName, "goldmane:// sources: name to verify in Goldmane's certificate")
	fs.String(FlagGoldmaneFollow, "", "goldmane:// sources: stream new flows for this long (e.g. 30m) instead of listing the stored window")
	AddNATS(fs)
}

// AddNATS adds the flags of NATS connections (nats:// sources, learn
// --publish): credentials and TLS.
func AddNATS(fs *pflag.FlagSet) {
	fs.String(FlagNATSUser, "", "nats:// and --publish: user name (with --nats-password)")
	fs.String(FlagNATSPassword, "", "nats:// and --publish: password (prefer FLOWFENCE_NATS_PASSWORD or the config file; never printed)")
	fs.String(FlagNATSToken, "", "nats:// and --publish: authentication token (prefer FLOWFENCE_NATS_TOKEN; never printed)")
	fs.String(FlagNATSCreds, "", "nats:// and --publish: NATS credentials file (JWT and NKey seed)")
	fs.String(FlagNATSNKey, "", "nats:// and --publish: file holding an NKey seed")
	fs.StringSlice(FlagNATSCA, nil, "nats:// and --publish: CA certificates (PEM) the server's certificate must chain to (turns TLS on)")
	fs.String(FlagNATSCert, "", "nats:// and --publish: client certificate (PEM) for mutual TLS")
	fs.String(FlagNATSKey, "", "nats:// and --publish: client key (PEM) for mutual TLS")
}

// NATSOptions builds the NATS connection options from the config.
func NATSOptions(c *config.Config, log *slog.Logger) fleet.Options {
	n := c.NATS
	return fleet.Options{User: n.User, Password: n.Password, Token: n.Token, CredsFile: n.CredsFile, NKeyFile: n.NKeyFile,
		CAFiles: n.CAFiles, CertFile: n.CertFile, KeyFile: n.KeyFile, Replicas: n.Replicas, Logger: log}
}

// AddSynth adds the flags of policy generation.
func AddSynth(fs *pflag.FlagSet) {
	fs.String(config.KeyFormat, "k8s", "policy flavor: k8s|cilium|calico")
	addFlavorFlags(fs)
	AddScope(fs)
	fs.String(config.KeyDenyScope, config.DenyScopeNamespace, "what the tree isolates: namespace (a default-deny per application namespace) | observed (only the observed workloads, each by its own policies)")
	fs.StringSlice(FlagDNSClusterIP, nil, "kube-dns Service IP(s) to admit with NodeLocal DNS")
	fs.StringSlice(FlagNodeCIDRs, nil, "node CIDRs to admit node traffic by (instead of observed node IPs)")
	fs.String(FlagCalicoTier, "", "calico flavor: put the workload policies in this Calico tier (emitted with its order) instead of the default tier")
	fs.Bool(FlagStaged, false, "calico flavor: emit StagedNetworkPolicy/StagedGlobalNetworkPolicy (audit, then promote to enforced)")
}

// Bind binds cmd's flags into vp under their keys and reads the config file.
func Bind(vp *viper.Viper, cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Name == "help" {
			return
		}
		err = vp.BindPFlag(FlagKey(f), f)
	})
	if err != nil {
		return fmt.Errorf("bind flags: %w", err)
	}
	return config.ReadFile(vp)
}

// Key returns the config key a flag is bound to: its own name unless the
// flag names a nested key (the Flag* constants).
func Key(flag string) string { return key(flagKeys(), flag) }

// FlagKey returns the config key f is bound to: the key its keyAnnotation
// names (a flag name two verbs use for different keys, as --listen), else
// Key(f.Name).
func FlagKey(f *pflag.Flag) string {
	if k := f.Annotations[keyAnnotation]; len(k) == 1 {
		return k[0]
	}
	return Key(f.Name)
}

func key(keys map[string]string, flag string) string {
	if k, ok := keys[flag]; ok {
		return k
	}
	return flag
}

// Explicit returns whether the flag bound to a config key was given on
// cmd's command line (as opposed to a default, the environment or the
// config file).
func Explicit(cmd *cobra.Command) func(key string) bool {
	keys, given := flagKeys(), map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { given[key(keys, f.Name)] = true })
	return func(k string) bool { return given[k] }
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
		Live:    LiveOptions(c, env, log),
		Collect: collectors.Options{Strict: c.Strict, Stdin: env.Streams.In, Logger: log, Workers: c.Workers},
		Learn:   learner.Options{LearnDropped: c.LearnDropped},
		NATS:    NATSOptions(c, log),
		Since:   c.Since, Until: c.Until,
		MaxWorkloads: c.MaxWorkloads,
		Goldmane: goldmane.Options{CA: c.GoldmaneCA, Cert: c.GoldmaneCert, Key: c.GoldmaneKey, ServerName: c.GoldmaneServerName,
			Since: c.Since, Until: c.Until, Follow: c.GoldmaneFollow, IdleTimeout: idleTimeout(c.Live.IdleTimeout)},
	}
}

// SynthOptions builds synth options from the config.
func SynthOptions(c *config.Config) synth.Options {
	return synth.Options{
		Cloud: c.Cloud, CNI: c.CNI, SystemNamespaces: c.NSSystem, Include: c.NSInclude, Exclude: c.NSExclude,
		MetadataAllow: c.MetadataAllow, DNSClusterIPs: c.DNSClusterIPs, NodeCIDRs: c.NodeCIDRs,
		QuietFraction: c.QuietFraction, QuietPeriod: c.QuietPeriod, MinFlows: c.MinFlows, DenyScope: c.DenyScope,
	}
}

// SetupTree is Setup for the verbs that judge a tree (--policies): the
// settings the tree was generated with (its .flowfence/settings.json)
// decide below the flags given on the command line, which override them
// (each override that changes a value is named on stderr). state is the
// tree's state directory as read (empty fields without one).
func SetupTree(env Env, cmd *cobra.Command, verb string) (c *config.Config, log *slog.Logger, state *pipeline.TreeState, err error) {
	if err := Bind(env.Viper, cmd); err != nil {
		return nil, nil, nil, err
	}
	var overridden []string
	state = &pipeline.TreeState{}
	if dir := env.Viper.GetString(config.KeyPolicies); dir != "" {
		if state, err = pipeline.ReadState(dir); err != nil {
			return nil, nil, nil, fmt.Errorf("--policies: %w", err)
		}
		if state.Settings != nil {
			overridden = state.Settings.Apply(env.Viper, Explicit(cmd))
		}
	}
	if c, err = config.Load(env.Viper); err != nil {
		return nil, nil, nil, err
	}
	if err := CheckShard(c, cmd); err != nil {
		return nil, nil, nil, err
	}
	if !c.Quiet {
		for _, o := range overridden {
			fmt.Fprintf(env.Streams.Err, "%s: the command line overrides a setting saved in %s: %s\n", verb, escape.Terminal(state.SettingsPath), escape.Terminal(o))
		}
	}
	return c, Logger(env, c.Quiet), state, nil
}

// Context returns the command's context (never nil).
func Context(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// Setup is every verb's preamble: bind cmd's flags into the injected viper,
// read the config file, load the typed config and make the logger.
func Setup(env Env, cmd *cobra.Command) (*config.Config, *slog.Logger, error) {
	if err := Bind(env.Viper, cmd); err != nil {
		return nil, nil, err
	}
	c, err := config.Load(env.Viper)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckShard(c, cmd); err != nil {
		return nil, nil, err
	}
	return c, Logger(env, c.Quiet), nil
}
