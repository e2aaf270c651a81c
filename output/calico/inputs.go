package calico

import (
	"fmt"
	"maps"
	"slices"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// Calico selectors are expressions (app == 'web' && …) built from label
// keys, values and namespace names: a value holding a quote could close
// its string and add a clause ("x' || all() || a == 'y" selects every
// pod). checkInputs refuses, before anything is built, every label and
// namespace that breaks Kubernetes' syntax — which allows no quote, space
// or operator in them — so that what goes into a selector is always a
// plain token.

// checkInputs checks the labels and namespaces the policy's selectors are
// built from.
func checkInputs(p *policy.Policy) error {
	where := func() string { return "policy " + escape.Terminal(p.Namespace+"/"+p.Name) }
	if !record.ValidNamespace(p.Namespace) {
		return fmt.Errorf("%s: namespace is not a valid Kubernetes name", where())
	}
	if err := checkLabels(p.Subject); err != nil {
		return fmt.Errorf("%s: subject: %w", where(), err)
	}
	for _, rs := range [][]policy.Rule{p.IngressRules, p.EgressRules} {
		for _, r := range rs {
			for _, pe := range r.Peers {
				if pe.Pods == nil {
					continue
				}
				if pe.Pods.Namespace != "" && !record.ValidNamespace(pe.Pods.Namespace) {
					return fmt.Errorf("%s: peer namespace %s is not a valid Kubernetes name", where(), escape.Snippet(pe.Pods.Namespace, 64))
				}
				if err := checkLabels(pe.Pods.Selector); err != nil {
					return fmt.Errorf("%s: peer: %w", where(), err)
				}
			}
		}
	}
	return nil
}

// checkGuardInputs checks the namespaces and opt-in selectors the metadata
// guard's selector is built from.
func checkGuardInputs(set *policy.Set) error {
	for _, ns := range set.Namespaces {
		if !record.ValidNamespace(ns.Name) {
			return fmt.Errorf("metadata guard: namespace %s is not a valid Kubernetes name", escape.Snippet(ns.Name, 64))
		}
	}
	for _, o := range set.Guard.OptIns {
		if !record.ValidNamespace(o.Namespace) {
			return fmt.Errorf("config metadata.allow: namespace %s is not a valid Kubernetes name", escape.Snippet(o.Namespace, 64))
		}
		if sub := optInSubject(set, o); sub != nil {
			if err := checkLabels(sub); err != nil {
				return fmt.Errorf("config metadata.allow %s/%s: %w", o.Namespace, escape.Snippet(o.Workload, 64), err)
			}
		}
	}
	return nil
}

func checkLabels(m map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !record.ValidLabel(k, m[k]) {
			return fmt.Errorf("label %s=%s is not a valid Kubernetes label", escape.Snippet(k, 64), escape.Snippet(m[k], 64))
		}
	}
	return nil
}
