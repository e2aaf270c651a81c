package flags

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// OutputFlag is the -o/--output flag of the verbs that report.
const OutputFlag = "output"

// AddPolicies adds --policies, the committed policy tree to check.
func AddPolicies(fs *pflag.FlagSet) {
	fs.String(config.KeyPolicies, "", "directory of the committed NetworkPolicy tree (read recursively; kustomization.yaml and non-YAML skipped)")
}

// AddScope adds the generator settings a check judges a tree by (for verbs
// that do not generate): --cni, --cloud and the namespace globs.
func AddScope(fs *pflag.FlagSet) {
	fs.String(config.KeyCNI, "kubernetes", "NetworkPolicy semantics of the cluster's CNI: kubernetes|cilium|calico")
	fs.String(config.KeyCloud, "generic", "cloud profile of the metadata guard: generic|aws|gcp|azure|oci|alibaba")
	addNamespaces(fs)
}

// addNamespaces adds the namespace globs of the generated policies' scope
// (config namespaces.*), for every verb that generates or judges a tree.
func addNamespaces(fs *pflag.FlagSet) {
	fs.StringSlice(FlagSystemNamespaces, nil, "more namespaces (globs) that get no policies")
	fs.StringSlice(FlagIncludeNamespaces, nil, "only these namespaces (globs) get policies")
	fs.StringSlice(FlagExcludeNamespaces, nil, "these namespaces (globs) get no policies")
}

// CheckOptions returns what verify and diff judge a tree by: the synth
// settings of the flags with the inventory of --inventory, and the check
// options built from them, with --workers and the named ports the tree's
// rules were written with (state.Ports).
func CheckOptions(cmd *cobra.Command, c *config.Config, env Env, state *pipeline.TreeState) (synth.Options, diffcheck.Options, error) {
	sopts := SynthOptions(c)
	var err error
	if sopts.Inventory, err = ReadInventory(cmd, c, env); err != nil {
		return synth.Options{}, diffcheck.Options{}, err
	}
	opts, err := diffcheck.NewOptions(sopts)
	if err != nil {
		return synth.Options{}, diffcheck.Options{}, err
	}
	opts.Workers = c.Workers
	opts.Relied = state.Ports
	return sopts, opts, nil
}

// AddOutput adds -o/--output with the given formats, the first the default.
func AddOutput(fs *pflag.FlagSet, formats ...string) {
	fs.StringP(OutputFlag, "o", formats[0], "output on stdout: "+strings.Join(formats, "|"))
}

// Output returns the -o value, checked against formats.
func Output(cmd *cobra.Command, formats ...string) (string, error) {
	o, err := cmd.Flags().GetString(OutputFlag)
	if err != nil {
		return "", fmt.Errorf("-o: %w", err)
	}
	if !slices.Contains(formats, o) {
		return "", fmt.Errorf("-o %q: one of %s", o, strings.Join(formats, "|"))
	}
	return o, nil
}
