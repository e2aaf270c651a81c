package pipeline

import (
	"errors"

	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/output/guardrails"
	"github.com/flowfence/flowfence/output/k8s"
)

// FormatterOptions are the flavor-specific settings of a formatter.
type FormatterOptions struct {
	// CalicoTier and Staged configure the calico flavor (--calico-tier,
	// --staged).
	CalicoTier string
	Staged     bool
	// FQDN and FQDNPatterns configure the cilium flavor (--fqdn, config
	// cilium.fqdn-patterns).
	FQDN         bool
	FQDNPatterns []string
	// Guardrails and BaselineDeny add the cluster-wide AdminNetworkPolicy
	// metadata guard and the BaselineAdminNetworkPolicy default-deny to the
	// k8s flavor (--guardrails, --baseline-deny).
	Guardrails   bool
	BaselineDeny bool
}

// NewFormatter returns the formatter for a --format value configured with
// its flavor's options; options of another flavor are an error naming the
// flag (checked in this order: the k8s flavor's guardrails, the cilium
// flavor's, the calico flavor's).
func NewFormatter(name string, o FormatterOptions) (output.Formatter, error) {
	f, err := Formatter(name)
	if err != nil {
		return nil, err
	}
	switch f.Name() {
	case cilium.FormatName:
		if o.BaselineDeny {
			return nil, errors.New("--baseline-deny: BaselineAdminNetworkPolicy is not enforced by Cilium; only for --format k8s")
		}
		// --guardrails: the cilium flavor always writes its guard
		// (a CiliumClusterwideNetworkPolicy)
		if err := reject(o, calicoOnly); err != nil {
			return nil, err
		}
		return cilium.Formatter{FQDN: o.FQDN, FQDNPatterns: o.FQDNPatterns}, nil
	case k8s.FormatName:
		if err := reject(o, ciliumOnly, calicoOnly); err != nil {
			return nil, err
		}
		if o.Guardrails || o.BaselineDeny {
			f = guardrails.Formatter{Base: f, Options: guardrails.Options{Guard: o.Guardrails, Baseline: o.BaselineDeny}}
		}
		return f, nil
	case caliout.FormatName:
		if err := reject(o, k8sOnly, ciliumOnly); err != nil {
			return nil, err
		}
		return caliout.Formatter{Tier: o.CalicoTier, Staged: o.Staged}, nil
	}
	if err := reject(o, k8sOnly, ciliumOnly, calicoOnly); err != nil {
		return nil, err
	}
	return f, nil
}

// reject returns the first error of the checks of another flavor's options.
func reject(o FormatterOptions, checks ...func(FormatterOptions) error) error {
	for _, check := range checks {
		if err := check(o); err != nil {
			return err
		}
	}
	return nil
}

// k8sOnly rejects the guardrails of the k8s flavor.
func k8sOnly(o FormatterOptions) error {
	switch {
	case o.Guardrails:
		return errors.New("--guardrails: only for --format k8s (the cilium flavor always writes its guard)")
	case o.BaselineDeny:
		return errors.New("--baseline-deny: only for --format k8s")
	}
	return nil
}

// ciliumOnly rejects the cilium flavor's options.
func ciliumOnly(o FormatterOptions) error {
	switch {
	case o.FQDN:
		return errors.New("--fqdn: only for --format cilium (toFQDNs rules)")
	case len(o.FQDNPatterns) > 0:
		return errors.New("cilium.fqdn-patterns: only for --format cilium with --fqdn")
	}
	return nil
}

// calicoOnly rejects the calico flavor's options.
func calicoOnly(o FormatterOptions) error {
	switch {
	case o.CalicoTier != "":
		return errors.New("--calico-tier: only for --format calico")
	case o.Staged:
		return errors.New("--staged: only for --format calico")
	}
	return nil
}
