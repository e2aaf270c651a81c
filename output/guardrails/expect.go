package guardrails

import (
	"fmt"
	"strings"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// Expected returns the wrapped flavor's objects plus the guardrails of
// output.ClusterDir, built from the model as Render builds them.
func (f Formatter) Expected(set *policy.Set) (map[string][]any, error) {
	base, ok := f.Base.(output.Expecter)
	if !ok {
		return nil, fmt.Errorf("formatter %s cannot read its tree back", f.Base.Name())
	}
	out, err := base.Expected(set)
	if err != nil {
		return nil, err
	}
	if f.Guard {
		objs, _ := Guard(set)
		var docs []any
		for _, o := range objs {
			docs = append(docs, o)
		}
		out[output.ClusterDir+"/"+output.GuardFile] = docs
	}
	if f.Baseline {
		obj, _ := Baseline(set)
		out[output.ClusterDir+"/"+BaselineFile] = []any{obj}
	}
	return out, nil
}

// DecodeDocument decodes a document of output.ClusterDir as an
// (Baseline)AdminNetworkPolicy and any other with the wrapped flavor.
func (f Formatter) DecodeDocument(path string, doc []byte) (any, error) {
	if strings.HasPrefix(path, output.ClusterDir+"/") {
		return Decode(doc)
	}
	base, ok := f.Base.(output.Expecter)
	if !ok {
		return nil, fmt.Errorf("formatter %s cannot read its tree back", f.Base.Name())
	}
	return base.DecodeDocument(path, doc)
}

// Decode strictly decodes one AdminNetworkPolicy or
// BaselineAdminNetworkPolicy document (unknown fields and duplicate keys
// are errors) and validates it.
func Decode(doc []byte) (*ANP, error) { return output.DecodeStrict(doc, Validate) }

var _ output.Expecter = Formatter{}
