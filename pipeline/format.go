package pipeline

import (
	"errors"

	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
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
// flag.
func NewFormatter(name string, o FormatterOptions) (output.Formatter, error) {
	f, err := Formatter(name)
	if err != nil {
		return nil, err
	}
	if f, err = withFlavorOptions(f, o); err != nil {
		return nil, err
	}
	if _, ok := f.(caliout.Formatter); ok {
		return caliout.Formatter{Tier: o.CalicoTier, Staged: o.Staged}, nil
	}
	switch {
	case o.CalicoTier != "":
		return nil, errors.New("--calico-tier: only for --format calico")
	case o.Staged:
		return nil, errors.New("--staged: only for --format calico")
	}
	return f, nil
}
