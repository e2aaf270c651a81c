package calico

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
)

// Decode strictly decodes the projectcalico.org/v3 documents of one YAML
// file (several documents separated by "---" allowed) and validates them;
// name is used in errors.
func Decode(name string, data []byte) ([]*Object, error) {
	var out []*Object
	for i, doc := range output.SplitDocuments(data) {
		if output.BlankDocument(doc) {
			continue
		}
		var raw struct {
			APIVersion string          `json:"apiVersion"`
			Kind       string          `json:"kind"`
			Metadata   output.Metadata `json:"metadata"`
			Spec       json.RawMessage `json:"spec"`
		}
		if err := yaml.UnmarshalStrict(doc, &raw); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		obj := &Object{APIVersion: raw.APIVersion, Kind: raw.Kind, Metadata: raw.Metadata}
		var spec any = &PolicySpec{}
		if raw.Kind == KindTier {
			spec = &TierSpec{}
		}
		dec := json.NewDecoder(bytes.NewReader(raw.Spec))
		dec.DisallowUnknownFields()
		if err := dec.Decode(spec); err != nil {
			return nil, fmt.Errorf("%s: document %d: spec: %w", name, i+1, err)
		}
		obj.Spec = spec
		if err := Validate(obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// DecodeTree decodes every policy YAML of a rendered tree (kustomizations
// and reports are skipped), in path order.
func DecodeTree(t output.Tree) ([]*Object, error) {
	var out []*Object
	for _, p := range t.Paths() {
		if !output.IsPolicyFile(p) {
			continue
		}
		objs, err := Decode(p, t[p])
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}
