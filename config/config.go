// Package config defines flowfence's configuration keys, their defaults and
// the typed Config read from one injected viper instance. Precedence is
// viper's: flags > FLOWFENCE_* environment > config file > defaults.
// config.example.yaml at the repository root documents every key.
package config

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
)

// Keys. Nested keys are sections of the config file; their environment
// variables replace '.' and '-' with '_' (namespaces.include →
// FLOWFENCE_NAMESPACES_INCLUDE).
const (
	KeyConfig        = "config"
	KeyFrom          = "from"
	KeyOut           = "out"
	KeyFormat        = "format"
	KeyGraph         = "graph"
	KeyStrict        = "strict"
	KeyLearnDropped  = "learn-dropped"
	KeyCloud         = "cloud"
	KeyCNI           = "cni"
	KeySince         = "since"
	KeyUntil         = "until"
	KeyWorkers       = "workers"
	KeyQuiet         = "quiet"
	KeyNSSystem      = "namespaces.system"
	KeyNSInclude     = "namespaces.include"
	KeyNSExclude     = "namespaces.exclude"
	KeyMetadataAllow = "metadata.allow"
	KeyDNSClusterIPs = "dns.cluster-ips"
	KeyNodeCIDRs     = "nodes.cidrs"
	KeyQuietFraction = "readiness.quiet-fraction"
	KeyQuietPeriod   = "readiness.quiet-period"
	KeyMinFlows      = "readiness.min-flows"
	// verify and diff: the committed policy tree, the baseline graph, and
	// the Markdown report diff writes.
	KeyPolicies = "policies"
	KeyBaseline = "baseline"
	KeyReport   = "report"
	// Goldmane (goldmane://HOST:PORT sources): mutual TLS and live follow.
	KeyGoldmaneCA         = "goldmane.ca"
	KeyGoldmaneCert       = "goldmane.cert"
	KeyGoldmaneKey        = "goldmane.key"
	KeyGoldmaneServerName = "goldmane.server-name"
	KeyGoldmaneFollow     = "goldmane.follow"
	// The calico flavor: the tier of the workload policies, and staged
	// (audit-only) policies.
	KeyCalicoTier   = "calico.tier"
	KeyCalicoStaged = "calico.staged"
)

// DefaultGoldmaneServerName is the name verified in Goldmane's certificate
// by default: its Service in calico-system.
const DefaultGoldmaneServerName = "goldmane.calico-system.svc"

// EnvPrefix prefixes every environment variable.
const EnvPrefix = "FLOWFENCE"

// Defaults returns every key's default value.
func Defaults() map[string]any {
	m := map[string]any{
		KeyFrom: []string{}, KeyOut: "out", KeyFormat: "k8s", KeyGraph: "", KeyStrict: false, KeyLearnDropped: false, KeyFleet: false,
		KeyCloud: "generic", KeyCNI: "kubernetes", KeySince: "", KeyUntil: "", KeyWorkers: 0, KeyQuiet: false,
		KeyNSSystem: []string{}, KeyNSInclude: []string{}, KeyNSExclude: []string{}, KeyMetadataAllow: []any{},
		KeyDNSClusterIPs: []string{}, KeyNodeCIDRs: []string{},
		KeyQuietFraction: 0.25, KeyQuietPeriod: "", KeyMinFlows: 20,
		KeyPolicies: "", KeyBaseline: "", KeyReport: "",
		KeyGoldmaneCA: "", KeyGoldmaneCert: "", KeyGoldmaneKey: "", KeyGoldmaneServerName: DefaultGoldmaneServerName, KeyGoldmaneFollow: "",
		KeyCalicoTier: "", KeyCalicoStaged: false,
	}
	maps.Copy(m, liveDefaults())
	maps.Copy(m, flavorDefaults())
	maps.Copy(m, limitsDefaults())
	maps.Copy(m, inventoryDefaults())
	maps.Copy(m, serveDefaults())
	maps.Copy(m, natsDefaults())
	return m
}

// New returns a viper with defaults and environment binding set up.
func New() *viper.Viper {
	vp := viper.New()
	for k, v := range Defaults() {
		vp.SetDefault(k, v)
	}
	vp.SetEnvPrefix(EnvPrefix)
	vp.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	vp.AutomaticEnv()
	return vp
}

// ReadFile loads the config file named by the `config` key (flag or
// FLOWFENCE_CONFIG), if any: a regular file (a link to one is followed) of
// at most MaxFileBytes, its format by extension as viper knows them. Errors
// name --config and quote at most a short escaped snippet of the file.
func ReadFile(vp *viper.Viper) error {
	f := vp.GetString(KeyConfig)
	if f == "" {
		return nil
	}
	name := escape.Terminal(f)
	data, err := readConfigFile(f)
	if err != nil {
		return fmt.Errorf("--config %s: %w", name, err)
	}
	vp.SetConfigType(strings.TrimPrefix(filepath.Ext(f), "."))
	if err := vp.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("--config %s: %s", name, boundMessage(err.Error()))
	}
	for _, k := range vp.AllKeys() {
		if _, known := Defaults()[k]; !known && k != KeyConfig && !strings.HasPrefix(k, KeyMetadataAllow) {
			return fmt.Errorf("--config %s: unknown key %s (see config.example.yaml)", name, escape.Snippet(k, 64))
		}
	}
	return nil
}

// KeyFleet: generate makes one tree of the clusters of nats:// sources,
// saying what only one of them observed.
const KeyFleet = "fleet"

// Config is the typed configuration.
type Config struct {
	From          []string
	Out           string
	Format        string
	Graph         string
	Strict        bool
	LearnDropped  bool
	Fleet         bool
	Cloud         string
	CNI           string
	Since, Until  time.Time
	Workers       int
	Quiet         bool
	NSSystem      []string
	NSInclude     []string
	NSExclude     []string
	MetadataAllow []policy.OptIn
	DNSClusterIPs []netip.Addr
	NodeCIDRs     []netip.Prefix
	QuietFraction float64
	QuietPeriod   time.Duration
	MinFlows      uint64
	// MaxWorkloads: see KeyMaxWorkloads.
	MaxWorkloads int
	// Live Hubble sources and the replay relay (see live.go).
	Live  Live
	Relay Relay
	// Goldmane sources.
	GoldmaneCA, GoldmaneCert, GoldmaneKey, GoldmaneServerName string
	GoldmaneFollow                                            time.Duration
	// The calico flavor.
	CalicoTier   string
	CalicoStaged bool
	// The cilium flavor and the k8s flavor's guardrails (see flavor.go).
	Cilium     Cilium
	Guardrails Guardrails
	// Policies, Baseline, Report: see KeyPolicies.
	Policies, Baseline, Report string
	// Inventory: see KeyInventory; Kube: see KeyKubeconfig.
	Inventory []string
	Kube      Kube
	// DenyScope: see KeyDenyScope.
	DenyScope string
	// ServeListen: see KeyServeListen.
	ServeListen string
	// NATS: the fleet (see nats.go).
	NATS NATS
}

// Load reads the typed config from vp, validating every value and naming
// the key (flag) of a bad one.
func Load(vp *viper.Viper) (*Config, error) {
	c := &Config{
		From: vp.GetStringSlice(KeyFrom), Out: vp.GetString(KeyOut), Format: vp.GetString(KeyFormat),
		Graph: vp.GetString(KeyGraph), Strict: vp.GetBool(KeyStrict), LearnDropped: vp.GetBool(KeyLearnDropped), Fleet: vp.GetBool(KeyFleet),
		Policies: vp.GetString(KeyPolicies), Baseline: vp.GetString(KeyBaseline), Report: vp.GetString(KeyReport),
		Cloud: vp.GetString(KeyCloud), CNI: vp.GetString(KeyCNI), Workers: vp.GetInt(KeyWorkers), Quiet: vp.GetBool(KeyQuiet),
		NSSystem: vp.GetStringSlice(KeyNSSystem), NSInclude: vp.GetStringSlice(KeyNSInclude), NSExclude: vp.GetStringSlice(KeyNSExclude),
		QuietFraction: vp.GetFloat64(KeyQuietFraction),
	}
	var err error
	for _, tk := range []struct {
		key string
		dst *time.Time
	}{{KeySince, &c.Since}, {KeyUntil, &c.Until}} {
		if s := vp.GetString(tk.key); s != "" {
			if *tk.dst, err = parseTime(s); err != nil {
				return nil, fmt.Errorf("--%s %q: %w", tk.key, s, err)
			}
		}
	}
	if s := vp.GetString(KeyQuietPeriod); s != "" {
		if c.QuietPeriod, err = time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("%s %q: %w", KeyQuietPeriod, s, err)
		}
	}
	if c.QuietFraction <= 0 || c.QuietFraction >= 1 {
		return nil, fmt.Errorf("%s %v: must be between 0 and 1", KeyQuietFraction, c.QuietFraction)
	}
	mf := vp.GetInt64(KeyMinFlows)
	if mf < 0 {
		return nil, fmt.Errorf("%s %d: must not be negative", KeyMinFlows, mf)
	}
	c.MinFlows = uint64(mf)
	for _, s := range vp.GetStringSlice(KeyDNSClusterIPs) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", KeyDNSClusterIPs, s, err)
		}
		c.DNSClusterIPs = append(c.DNSClusterIPs, a)
	}
	for _, s := range vp.GetStringSlice(KeyNodeCIDRs) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", KeyNodeCIDRs, s, err)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%s %q: not a network address (did you mean %s?)", KeyNodeCIDRs, s, p.Masked())
		}
		c.NodeCIDRs = append(c.NodeCIDRs, p)
	}
	if err := vp.UnmarshalKey(KeyMetadataAllow, &c.MetadataAllow); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyMetadataAllow, err)
	}
	if c.Workers < 0 {
		return nil, fmt.Errorf("--%s %d: must not be negative", KeyWorkers, c.Workers)
	}
	c.GoldmaneCA, c.GoldmaneCert, c.GoldmaneKey = vp.GetString(KeyGoldmaneCA), vp.GetString(KeyGoldmaneCert), vp.GetString(KeyGoldmaneKey)
	c.GoldmaneServerName = vp.GetString(KeyGoldmaneServerName)
	if s := vp.GetString(KeyGoldmaneFollow); s != "" {
		if c.GoldmaneFollow, err = time.ParseDuration(s); err != nil || c.GoldmaneFollow < 0 {
			return nil, fmt.Errorf("--goldmane-follow %q: want a positive duration such as 10m", s)
		}
	}
	c.CalicoTier, c.CalicoStaged = vp.GetString(KeyCalicoTier), vp.GetBool(KeyCalicoStaged)
	if t := c.CalicoTier; t != "" && !validTierName(t) {
		return nil, fmt.Errorf("--calico-tier %q: a tier name is lowercase letters, digits and '-' (a DNS-1123 label, no '.')", t)
	}
	if c.Live, c.Relay, err = loadLive(vp); err != nil {
		return nil, err
	}
	if c.MaxWorkloads, err = loadLimits(vp); err != nil {
		return nil, err
	}
	if c.Cilium, c.Guardrails, err = loadFlavor(vp); err != nil {
		return nil, err
	}
	if c.ServeListen, err = loadServe(vp); err != nil {
		return nil, err
	}
	if c.Inventory, c.Kube, err = loadInventory(vp); err != nil {
		return nil, err
	}
	if c.DenyScope, err = loadDenyScope(vp, c.Guardrails.BaselineDeny); err != nil {
		return nil, err
	}
	if c.NATS, err = loadNATS(vp); err != nil {
		return nil, err
	}
	return c, nil
}

// validTierName reports a name usable as a Calico tier: a DNS-1123 label
// (policy names in the tier are prefixed "<tier>.", so no dots).
func validTierName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-11-16T00:00:00Z) or a duration ago (24h)")
}
