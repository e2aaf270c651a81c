package config_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/golden"
)

// TestGoldenSettings: the settings document of a config is deterministic
// versioned JSON (the bytes under testdata/golden/settings/), and reading
// it back gives the same settings, which applied to a fresh viper load the
// same config values.
func TestGoldenSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		set  map[string]any
	}{
		{"defaults", nil},
		{"cilium-aws", map[string]any{config.KeyFormat: "cilium", config.KeyCNI: "cilium", config.KeyCloud: "aws",
			config.KeyCiliumFQDN: true, config.KeyCiliumFQDNPatterns: []string{"*.stripe.com"},
			config.KeyNSExclude: []string{"legacy-*"}, config.KeyDNSClusterIPs: []string{"10.96.0.10"}, config.KeyNodeCIDRs: []string{"10.0.0.0/24"},
			config.KeyQuietPeriod: "24h", config.KeyMinFlows: 5,
			config.KeyMetadataAllow: []map[string]any{{"namespace": "payments", "workload": "fraud", "address": "169.254.169.254", "port": 80}}}},
		{"calico-staged", map[string]any{config.KeyFormat: "calico", config.KeyCNI: "calico", config.KeyCalicoTier: "platform", config.KeyCalicoStaged: true, config.KeyLearnDropped: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vp := config.New()
			for k, v := range c.set {
				vp.Set(k, v)
			}
			cfg, err := config.Load(vp)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := config.MarshalSettings(config.SettingsOf(cfg))
			if err != nil {
				t.Fatal(err)
			}
			golden.CompareFile(t, golden.Dir(t, "settings")+"/"+c.name+".json", doc)
			s, err := config.ReadSettings("settings.json", bytes.NewReader(doc))
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if !reflect.DeepEqual(*s, config.SettingsOf(cfg)) {
				t.Errorf("read back %+v\nwant %+v", *s, config.SettingsOf(cfg))
			}
			fresh := config.New()
			if over := s.Apply(fresh, func(string) bool { return false }); len(over) != 0 {
				t.Errorf("overrides without an explicit flag: %v", over)
			}
			back, err := config.Load(fresh)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := config.MarshalSettings(config.SettingsOf(back))
			if !bytes.Equal(again, doc) {
				t.Errorf("applied settings load another config:\n%s\nwant\n%s", again, doc)
			}
		})
	}
}

// TestSettingsApplyKeepsExplicit: a key given explicitly keeps its value
// and is reported when it differs from the saved one.
func TestSettingsApplyKeepsExplicit(t *testing.T) {
	cfg, _ := config.Load(config.New())
	s := config.SettingsOf(cfg)
	vp := config.New()
	vp.Set(config.KeyCloud, "azure")
	over := s.Apply(vp, func(k string) bool { return k == config.KeyCloud })
	if vp.GetString(config.KeyCloud) != "azure" || len(over) != 1 || !strings.Contains(over[0], "cloud: azure (saved: generic)") {
		t.Errorf("cloud %q, overrides %q", vp.GetString(config.KeyCloud), over)
	}
	if got := len(config.SettingsKeys()); got != 20 {
		t.Errorf("%d settings keys, want 20 (a new key that changes the tree belongs in the settings)", got)
	}
}
