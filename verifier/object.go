package verifier

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Object is what a policy document of a flavor's evaluator (verifier/calico,
// verifier/cilium) says of itself, read leniently (an object exported
// from a cluster carries uid, annotations, …); its spec members are kept
// raw for the flavor's strict decode (StrictJSON).
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec  json.RawMessage `json:"spec"`
	Specs json.RawMessage `json:"specs"`
}

// DecodeObject reads one YAML document's Object: an error unless isKind
// accepts its apiVersion and kind (what names what it must be: "a Cilium
// policy") and it has a metadata.name.
func DecodeObject(doc []byte, isKind func(apiVersion, kind string) bool, what string) (*Object, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var o Object
	if err := json.Unmarshal(js, &o); err != nil {
		return nil, err
	}
	if !isKind(o.APIVersion, o.Kind) {
		return nil, fmt.Errorf("%s %s is not %s", o.APIVersion, o.Kind, what)
	}
	if o.Metadata.Name == "" {
		return nil, fmt.Errorf("%s without metadata.name", o.Kind)
	}
	return &o, nil
}

// IsNullJSON reports a member absent or null.
func IsNullJSON(m json.RawMessage) bool {
	t := bytes.TrimSpace(m)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// StrictJSON decodes data into v refusing members v does not have; the
// error of one says what the evaluator does evaluate.
func StrictJSON(data []byte, v any, evaluated string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w (flowfence evaluates %s)", err, evaluated)
	}
	return nil
}

// DefinedTwice is the error naming the first of objs whose id (its kind
// and key) an earlier one has, nil when none has: an engine of another
// flavor compiles each object once.
func DefinedTwice[O any](objs []O, id func(O) string) error {
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		k := id(o)
		if seen[k] {
			return fmt.Errorf("%s: defined twice", k)
		}
		seen[k] = true
	}
	return nil
}
