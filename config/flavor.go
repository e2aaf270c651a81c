package config

import (
	"fmt"
	"regexp"

	"github.com/spf13/viper"
)

// Keys of the cilium flavor and of the k8s flavor's cluster-wide guardrails.
const (
	// KeyCiliumFQDN writes external peers with observed DNS names as toFQDNs
	// rules (flag --fqdn).
	KeyCiliumFQDN = "cilium.fqdn"
	// KeyCiliumFQDNPatterns are matchPattern values that replace the
	// observed names they match (flag --fqdn-pattern).
	KeyCiliumFQDNPatterns = "cilium.fqdn-patterns"
	// KeyGuardrails adds the AdminNetworkPolicy metadata guard (flag
	// --guardrails).
	KeyGuardrails = "guardrails.enabled"
	// KeyBaselineDeny adds the BaselineAdminNetworkPolicy default-deny (flag
	// --baseline-deny).
	KeyBaselineDeny = "guardrails.baseline-deny"
)

// Cilium configures the cilium flavor.
type Cilium struct {
	FQDN         bool
	FQDNPatterns []string
}

// Guardrails configures the k8s flavor's cluster-wide objects.
type Guardrails struct {
	Enabled      bool
	BaselineDeny bool
}

func flavorDefaults() map[string]any {
	return map[string]any{KeyCiliumFQDN: false, KeyCiliumFQDNPatterns: []string{}, KeyGuardrails: false, KeyBaselineDeny: false}
}

// fqdnPatternRE is Cilium's matchPattern syntax.
var fqdnPatternRE = regexp.MustCompile(`^([-a-zA-Z0-9_*]+[.]?)+$`)

func loadFlavor(vp *viper.Viper) (Cilium, Guardrails, error) {
	c := Cilium{FQDN: vp.GetBool(KeyCiliumFQDN), FQDNPatterns: vp.GetStringSlice(KeyCiliumFQDNPatterns)}
	for _, p := range c.FQDNPatterns {
		if len(p) > 255 || !fqdnPatternRE.MatchString(p) {
			return c, Guardrails{}, fmt.Errorf("%s %q: a DNS name pattern is letters, digits, '-', '_', '.' and '*' (e.g. *.stripe.com)", KeyCiliumFQDNPatterns, p)
		}
	}
	if len(c.FQDNPatterns) > 0 && !c.FQDN {
		return c, Guardrails{}, fmt.Errorf("%s: only used with --fqdn (%s)", KeyCiliumFQDNPatterns, KeyCiliumFQDN)
	}
	return c, Guardrails{Enabled: vp.GetBool(KeyGuardrails), BaselineDeny: vp.GetBool(KeyBaselineDeny)}, nil
}
