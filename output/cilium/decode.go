package cilium

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
)

// Decode strictly decodes the Cilium policy documents of one YAML file
// (several documents separated by "---" allowed) into flowfence's structs
// and validates them; name is used in errors.
func Decode(name string, data []byte) ([]*Object, error) {
	var out []*Object
	for i, doc := range output.SplitDocuments(data) {
		if output.BlankDocument(doc) {
			continue
		}
		var obj Object
		if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		if err := Validate(&obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		out = append(out, &obj)
	}
	return out, nil
}
