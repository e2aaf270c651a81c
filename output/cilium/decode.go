package cilium

import "github.com/flowfence/flowfence/output"

// Decode strictly decodes the Cilium policy documents of one YAML file
// (several documents separated by "---" allowed) into flowfence's structs
// and validates them; name is used in errors.
func Decode(name string, data []byte) ([]*Object, error) {
	return output.DecodeDocuments(name, data, func(doc []byte) (*Object, error) { return output.DecodeStrict(doc, Validate) })
}
