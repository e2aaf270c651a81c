package flags

import (
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/pipeline"
)

func addFlavorFlags(fs *pflag.FlagSet) {
	fs.Bool(FlagFQDN, false, "cilium flavor: external peers with observed DNS names become toFQDNs rules (adds the DNS-proxy rule where needed)")
	fs.StringSlice(FlagFQDNPattern, nil, "cilium flavor with --fqdn: matchPattern (e.g. '*.stripe.com') that replaces the observed names it matches (repeatable)")
	fs.Bool(FlagGuardrails, false, "k8s flavor: also write the AdminNetworkPolicy that denies every pod the cloud credential endpoints (_cluster/)")
	fs.Bool(FlagBaselineDeny, false, "k8s flavor: also write the BaselineAdminNetworkPolicy 'default' with default-deny for the application namespaces (_cluster/)")
}

// FormatterOptions builds the formatter options from the config.
func FormatterOptions(c *config.Config) pipeline.FormatterOptions {
	return pipeline.FormatterOptions{
		CalicoTier: c.CalicoTier, Staged: c.CalicoStaged,
		FQDN: c.Cilium.FQDN, FQDNPatterns: c.Cilium.FQDNPatterns,
		Guardrails: c.Guardrails.Enabled, BaselineDeny: c.Guardrails.BaselineDeny,
	}
}
