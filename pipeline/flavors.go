package pipeline

import (
	"errors"
	"fmt"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/output/guardrails"
	"github.com/flowfence/flowfence/output/k8s"
)

// withFlavorOptions applies the cilium and guardrails options to the
// formatter of their flavor, and rejects them for any other.
func withFlavorOptions(f output.Formatter, o FormatterOptions) (output.Formatter, error) {
	switch f.Name() {
	case cilium.FormatName:
		if o.BaselineDeny {
			return nil, errors.New("--baseline-deny: BaselineAdminNetworkPolicy is not enforced by Cilium; only for --format k8s")
		}
		// --guardrails: the cilium flavor always writes its guard
		// (a CiliumClusterwideNetworkPolicy)
		return cilium.Formatter{FQDN: o.FQDN, FQDNPatterns: o.FQDNPatterns}, nil
	case k8s.FormatName:
		if o.Guardrails || o.BaselineDeny {
			f = guardrails.Formatter{Base: f, Options: guardrails.Options{Guard: o.Guardrails, Baseline: o.BaselineDeny}}
		}
	default:
		switch {
		case o.Guardrails:
			return nil, fmt.Errorf("--guardrails: only for --format k8s (the cilium flavor always writes its guard)")
		case o.BaselineDeny:
			return nil, fmt.Errorf("--baseline-deny: only for --format k8s")
		}
	}
	switch {
	case o.FQDN:
		return nil, errors.New("--fqdn: only for --format cilium (toFQDNs rules)")
	case len(o.FQDNPatterns) > 0:
		return nil, errors.New("cilium.fqdn-patterns: only for --format cilium with --fqdn")
	}
	return f, nil
}
