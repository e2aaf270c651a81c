package k8s

import (
	"fmt"

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
	return DecodeOne(path, doc)
}

// DecodeOne strictly decodes a document that holds exactly one
// NetworkPolicy.
func DecodeOne(path string, doc []byte) (any, error) {
	nps, err := Decode(path, doc)
	if err != nil {
		return nil, err
	}
	if len(nps) != 1 {
		return nil, fmt.Errorf("%d objects in one document", len(nps))
	}
	return nps[0], nil
}

var _ output.Expecter = Formatter{}
