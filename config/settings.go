package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/spf13/viper"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/jsondoc"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// SettingsVersion is the version of the settings document (Settings).
const SettingsVersion = 1

// MaxSettingsBytes bounds a settings document: a few kilobytes in practice.
const MaxSettingsBytes = 1 << 20

// Settings are the generator settings a tree was written with: every
// config value that changes the tree (the flavor and its options, the CNI
// semantics, the cloud profile, the namespace scope, the metadata opt-ins,
// DNS and node addresses, readiness, whether policy drops were learned).
// generate saves them in the tree (output.SettingsFile) so that `diff
// --update` regenerates the tree alike without the user restating flags.
// The document is versioned JSON with every field always present, written
// deterministically (MarshalSettings). A pull request can edit it, so
// ReadSettings decodes it strictly and validates every value as the flags
// are validated.
type Settings struct {
	Version      int                `json:"version"`
	Format       string             `json:"format"`
	CNI          string             `json:"cni"`
	Cloud        string             `json:"cloud"`
	LearnDropped bool               `json:"learnDropped"`
	Namespaces   SettingsNamespaces `json:"namespaces"`
	// MetadataAllow are the named metadata opt-ins (config metadata.allow).
	MetadataAllow []policy.OptIn     `json:"metadataAllow"`
	DNSClusterIPs []string           `json:"dnsClusterIPs"`
	NodeCIDRs     []string           `json:"nodeCIDRs"`
	Readiness     SettingsReadiness  `json:"readiness"`
	Calico        SettingsCalico     `json:"calico"`
	Cilium        SettingsCilium     `json:"cilium"`
	Guardrails    SettingsGuardrails `json:"guardrails"`
	// DenyScope is what the tree isolates (deny-scope).
	DenyScope string `json:"denyScope"`
	// Inventory says the tree was generated with a cluster inventory
	// (--inventory): the inventory itself is not saved, so a regeneration
	// without one says so.
	Inventory bool `json:"inventory"`
}

// SettingsNamespaces is the namespace scope (namespaces.*).
type SettingsNamespaces struct {
	System  []string `json:"system"`
	Include []string `json:"include"`
	Exclude []string `json:"exclude"`
}

// SettingsReadiness are the readiness thresholds (readiness.*).
type SettingsReadiness struct {
	QuietFraction float64 `json:"quietFraction"`
	// QuietPeriod is a Go duration ("24h0m0s") or "" (QuietFraction rules).
	QuietPeriod string `json:"quietPeriod"`
	MinFlows    uint64 `json:"minFlows"`
}

// SettingsCalico are the calico flavor's options (calico.*).
type SettingsCalico struct {
	Tier   string `json:"tier"`
	Staged bool   `json:"staged"`
}

// SettingsCilium are the cilium flavor's options (cilium.*).
type SettingsCilium struct {
	FQDN         bool     `json:"fqdn"`
	FQDNPatterns []string `json:"fqdnPatterns"`
}

// SettingsGuardrails are the k8s flavor's cluster-wide objects (guardrails.*).
type SettingsGuardrails struct {
	Enabled      bool `json:"enabled"`
	BaselineDeny bool `json:"baselineDeny"`
}

// SettingsOf returns the settings of a loaded config.
func SettingsOf(c *Config) Settings {
	s := Settings{
		Version: SettingsVersion, Format: c.Format, CNI: c.CNI, Cloud: c.Cloud, LearnDropped: c.LearnDropped,
		Namespaces:    SettingsNamespaces{System: nonNil(c.NSSystem), Include: nonNil(c.NSInclude), Exclude: nonNil(c.NSExclude)},
		MetadataAllow: append([]policy.OptIn{}, c.MetadataAllow...),
		DNSClusterIPs: []string{}, NodeCIDRs: []string{},
		Readiness:  SettingsReadiness{QuietFraction: c.QuietFraction, MinFlows: c.MinFlows},
		Calico:     SettingsCalico{Tier: c.CalicoTier, Staged: c.CalicoStaged},
		Cilium:     SettingsCilium{FQDN: c.Cilium.FQDN, FQDNPatterns: nonNil(c.Cilium.FQDNPatterns)},
		Guardrails: SettingsGuardrails{Enabled: c.Guardrails.Enabled, BaselineDeny: c.Guardrails.BaselineDeny},
		DenyScope:  c.DenyScope,
		Inventory:  len(c.Inventory) > 0,
	}
	if s.Format == "kubernetes" {
		s.Format = "k8s"
	}
	if c.QuietPeriod != 0 {
		s.Readiness.QuietPeriod = c.QuietPeriod.String()
	}
	for _, a := range c.DNSClusterIPs {
		s.DNSClusterIPs = append(s.DNSClusterIPs, a.String())
	}
	for _, p := range c.NodeCIDRs {
		s.NodeCIDRs = append(s.NodeCIDRs, p.String())
	}
	return s
}

func nonNil(s []string) []string { return append([]string{}, s...) }

// MarshalSettings returns the settings document: indented JSON, fields in
// declaration order, a trailing newline (the same settings give the same
// bytes).
func MarshalSettings(s Settings) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return append(b, '\n'), nil
}

// values maps the settings to their config keys, as viper holds them.
func (s *Settings) values() map[string]any {
	allow := make([]any, len(s.MetadataAllow))
	for i, o := range s.MetadataAllow {
		allow[i] = map[string]any{"namespace": o.Namespace, "workload": o.Workload, "address": o.Address, "port": o.Port}
	}
	return map[string]any{
		KeyFormat: s.Format, KeyCNI: s.CNI, KeyCloud: s.Cloud, KeyLearnDropped: s.LearnDropped,
		KeyNSSystem: s.Namespaces.System, KeyNSInclude: s.Namespaces.Include, KeyNSExclude: s.Namespaces.Exclude,
		KeyMetadataAllow: allow, KeyDNSClusterIPs: s.DNSClusterIPs, KeyNodeCIDRs: s.NodeCIDRs,
		KeyQuietFraction: s.Readiness.QuietFraction, KeyQuietPeriod: s.Readiness.QuietPeriod, KeyMinFlows: s.Readiness.MinFlows,
		KeyCalicoTier: s.Calico.Tier, KeyCalicoStaged: s.Calico.Staged,
		KeyCiliumFQDN: s.Cilium.FQDN, KeyCiliumFQDNPatterns: s.Cilium.FQDNPatterns,
		KeyGuardrails: s.Guardrails.Enabled, KeyBaselineDeny: s.Guardrails.BaselineDeny,
		KeyDenyScope: s.DenyScope,
	}
}

// SettingsKeys are the config keys a settings document holds, sorted.
func SettingsKeys() []string {
	var s Settings
	return slices.Sorted(maps.Keys(s.values()))
}

// ReadSettings decodes and validates a settings document; name (the file)
// prefixes every error. Unknown or missing fields, a second document, a
// version this build does not know and any value the matching flag would
// refuse are errors.
func ReadSettings(name string, r io.Reader) (*Settings, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s", escape.Terminal(name), fmt.Sprintf(format, a...))
	}
	data, err := jsondoc.ReadLimited(r, MaxSettingsBytes, "settings document")
	if err != nil {
		return nil, fail("%v", err)
	}
	if err := requireFields(data); err != nil {
		return nil, fail("%v", err)
	}
	var s Settings
	if err := jsondoc.DecodeStrict(data, &s, "settings document"); err != nil {
		return nil, fail("%s", boundMessage(err.Error()))
	}
	if s.Version != SettingsVersion {
		return nil, fail("version %d: this build reads version %d", s.Version, SettingsVersion)
	}
	if err := s.validate(); err != nil {
		return nil, fail("%v", err)
	}
	return &s, nil
}

// requireFields refuses a document that leaves out a field: a missing
// field would silently take the zero value, which is not the default.
func requireFields(data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return errors.New(boundMessage(err.Error()))
	}
	want := []string{"version", "format", "cni", "cloud", "learnDropped", "namespaces", "metadataAllow",
		"dnsClusterIPs", "nodeCIDRs", "readiness", "calico", "cilium", "guardrails", "denyScope", "inventory"}
	for _, k := range want {
		if _, ok := top[k]; !ok {
			return fmt.Errorf("field %q missing (every setting is written out; regenerate with flowfence generate)", k)
		}
	}
	return nil
}

// validate checks every value as the flags and config file are checked
// (Load on a viper holding only these settings), and what Load leaves to
// later stages: the flavor, CNI and cloud names, namespace globs, the
// opt-ins' names and addresses.
func (s *Settings) validate() error {
	switch s.Format {
	case "k8s", "cilium", "calico":
	default:
		return fmt.Errorf("format %q: one of k8s, cilium, calico", s.Format)
	}
	switch s.CNI {
	case "kubernetes", "cilium", "calico":
	default:
		return fmt.Errorf("cni %q: one of kubernetes, cilium, calico", s.CNI)
	}
	switch s.Cloud {
	case "generic", "aws", "gcp", "azure", "oci", "alibaba":
	default:
		return fmt.Errorf("cloud %q: one of generic, aws, gcp, azure, oci, alibaba", s.Cloud)
	}
	for _, list := range []struct {
		name  string
		globs []string
	}{{"namespaces.system", s.Namespaces.System}, {"namespaces.include", s.Namespaces.Include}, {"namespaces.exclude", s.Namespaces.Exclude}} {
		if list.globs == nil {
			return fmt.Errorf("%s: null (write [] for none)", list.name)
		}
		for _, g := range list.globs {
			if _, err := path.Match(g, ""); err != nil || g == "" || len(g) > 253 || strings.ContainsAny(g, "/\\") {
				return fmt.Errorf("%s %s: not a namespace glob", list.name, escape.Snippet(g, 64))
			}
		}
	}
	for i, o := range s.MetadataAllow {
		if !record.ValidNamespace(o.Namespace) {
			return fmt.Errorf("metadataAllow[%d].namespace %s: not a namespace name", i, escape.Snippet(o.Namespace, 64))
		}
		if !record.ValidName(o.Workload) {
			return fmt.Errorf("metadataAllow[%d].workload %s: not a workload name", i, escape.Snippet(o.Workload, 64))
		}
		if _, err := netip.ParseAddr(o.Address); err != nil {
			return fmt.Errorf("metadataAllow[%d].address %s: not an IP address", i, escape.Snippet(o.Address, 64))
		}
	}
	for name, l := range map[string][]string{"dnsClusterIPs": s.DNSClusterIPs, "nodeCIDRs": s.NodeCIDRs, "cilium.fqdnPatterns": s.Cilium.FQDNPatterns} {
		if l == nil {
			return fmt.Errorf("%s: null (write [] for none)", name)
		}
	}
	vp := New()
	for k, v := range s.values() {
		vp.Set(k, v)
	}
	if _, err := Load(vp); err != nil {
		return err
	}
	return nil
}

// Apply sets the saved settings in vp (above every other source), except
// the keys explicit reports as given on the command line: those keep the
// flag's value. It returns the explicit keys whose value differs from the
// saved one, sorted, each as "key: flag value (saved: saved value)".
func (s *Settings) Apply(vp *viper.Viper, explicit func(key string) bool) []string {
	var overridden []string
	vals := s.values()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		v := vals[k]
		if explicit(k) {
			if saved, given := fmt.Sprint(v), fmt.Sprint(vp.Get(k)); saved != given {
				overridden = append(overridden, fmt.Sprintf("%s: %s (saved: %s)", k, given, saved))
			}
			continue
		}
		vp.Set(k, v)
	}
	return overridden
}
