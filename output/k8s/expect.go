package k8s

import (
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// Expected returns the NetworkPolicy each policy file of the tree holds,
// built from the model as Render builds it (output.CheckTree compares
// them with the files read back).
func (Formatter) Expected(set *policy.Set) (map[string][]any, error) {
	out := map[string][]any{}
	for _, ns := range set.Namespaces {
		for _, p := range ns.Policies {
			np, _ := Build(p)
			out[ns.Name+"/"+output.PolicyFile(p)] = []any{np}
		}
	}
	return out, nil
}

// DecodeDocument strictly decodes one NetworkPolicy document and validates
// it.
func (Formatter) DecodeDocument(path string, doc []byte) (any, error) {
	return output.OneObject(Decode(path, doc))
}

var _ output.Expecter = Formatter{}
