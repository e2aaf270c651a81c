package flags

import (
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/pipeline"
)

// flavorFlagKeys maps the cilium and guardrails flags to their config keys.
func flavorFlagKeys() map[string]string {
	return map[string]string{
		"fqdn":          config.KeyCiliumFQDN,
		"fqdn-pattern":  config.KeyCiliumFQDNPatterns,
		"guardrails":    config.KeyGuardrails,
		"baseline-deny": config.KeyBaselineDeny,
	}
}

func addFlavorFlags(fs *pflag.FlagSet) {
	fs.Bool("fqdn", false, "cilium flavor: external peers with observed DNS names become toFQDNs rules (adds the DNS-proxy rule where needed)")
	fs.StringSlice("fqdn-pattern", nil, "cilium flavor with --fqdn: matchPattern (e.g. '*.stripe.com') that replaces the observed names it matches (repeatable)")
	fs.Bool("guardrails", false, "k8s flavor: also write the AdminNetworkPolicy that denies every pod the cloud credential endpoints (_cluster/)")
	fs.Bool("baseline-deny", false, "k8s flavor: also write the BaselineAdminNetworkPolicy 'default' with default-deny for the application namespaces (_cluster/)")
}

// FormatterOptions builds the formatter options from the config.
func FormatterOptions(c *config.Config) pipeline.FormatterOptions {
	return pipeline.FormatterOptions{
		CalicoTier: c.CalicoTier, Staged: c.CalicoStaged,
		FQDN: c.Cilium.FQDN, FQDNPatterns: c.Cilium.FQDNPatterns,
		Guardrails: c.Guardrails.Enabled, BaselineDeny: c.Guardrails.BaselineDeny,
	}
}
