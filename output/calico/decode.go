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
	return output.DecodeDocuments(name, data, decodeDocument)
}

// decodeDocument strictly decodes one object, its spec as a *PolicySpec
// or (a Tier) a *TierSpec, and validates it.
func decodeDocument(doc []byte) (*Object, error) {
	var raw struct {
		output.ObjectHead
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(doc, &raw); err != nil {
		return nil, err
	}
	obj := &Object{ObjectHead: raw.ObjectHead}
	var spec any = &PolicySpec{}
	if raw.Kind == KindTier {
		spec = &TierSpec{}
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	obj.Spec = spec
	if err := Validate(obj); err != nil {
		return nil, err
	}
	return obj, nil
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
