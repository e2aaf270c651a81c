package cilium

import (
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
)

// Decode strictly decodes the Cilium policy documents of one YAML file
// (several documents separated by "---" allowed) into flowfence's structs
// and validates them; name is used in errors.
func Decode(name string, data []byte) ([]*Object, error) {
	return output.DecodeDocuments(name, data, decodeDocument)
}

// decodeDocument strictly decodes and validates one object.
func decodeDocument(doc []byte) (*Object, error) {
	var obj Object
	if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
		return nil, err
	}
	if err := Validate(&obj); err != nil {
		return nil, err
	}
	return &obj, nil
}
