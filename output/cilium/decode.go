package cilium

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Decode strictly decodes the Cilium policy documents of one YAML file
// (several documents separated by "---" allowed) into flowfence's structs
// and validates them; name is used in errors.
func Decode(name string, data []byte) ([]*Object, error) {
	var out []*Object
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
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

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		b.Write(line)
	}
	return b.Bytes()
}
