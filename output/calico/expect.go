package calico

import (
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// Expected returns the objects each file of the tree holds, built from the
// model as Render builds them (output.CheckTree compares them with the
// files read back).
func (f Formatter) Expected(set *policy.Set) (map[string][]any, error) {
	out := map[string][]any{}
	for _, ns := range set.Namespaces {
		for _, p := range ns.Policies {
			obj, _ := f.Build(p)
			out[ns.Name+"/"+output.PolicyFile(p)] = []any{obj}
		}
	}
	if tiers := f.tiers(set); len(tiers) > 0 {
		var objs []any
		for _, t := range tiers {
			objs = append(objs, t)
		}
		out[output.ClusterDir+"/"+TiersFile] = objs
	}
	if guard, _ := f.Guard(set); guard != nil {
		out[output.ClusterDir+"/"+output.GuardFile] = []any{guard}
	}
	return out, nil
}

// DecodeDocument strictly decodes one projectcalico.org/v3 document and
// validates it.
func (Formatter) DecodeDocument(path string, doc []byte) (any, error) {
	return output.OneObject(Decode(path, doc))
}

var _ output.Expecter = Formatter{}
