package cilium

import (
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// Expected returns the object each file of the tree holds, built from the
// model as Render builds it (output.CheckTree compares them with the files
// read back).
func (f Formatter) Expected(set *policy.Set) (map[string][]any, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	out := map[string][]any{}
	for _, ns := range set.Namespaces {
		dnsProxy := f.FQDN && f.namespaceHasFQDN(ns, &set.Guard)
		for _, p := range ns.Policies {
			obj, _ := f.Build(p, &set.Guard, dnsProxy)
			out[ns.Name+"/"+output.PolicyFile(p)] = []any{obj}
		}
	}
	guard, _, err := Guard(set)
	if err != nil {
		return nil, err
	}
	out[output.ClusterDir+"/"+output.GuardFile] = []any{guard}
	return out, nil
}

// DecodeDocument strictly decodes one Cilium policy document and validates
// it.
func (Formatter) DecodeDocument(path string, doc []byte) (any, error) {
	return output.OneObject(Decode(path, doc))
}

var _ output.Expecter = Formatter{}
