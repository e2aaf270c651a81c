package k8s

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// FuzzDecodeFastPaths: on any document, the YAML fast paths agree with the
// plain ones they stand for. unmarshalStrict (readPolicy, readYAML) gives
// sigs.k8s.io/yaml.UnmarshalStrict's policy or its error; a decoded policy
// that quickValid accepts is one validate accepts; marshalYAML (emitPolicy,
// emitYAML) writes what sigs.k8s.io/yaml.Marshal writes; and Decode never
// panics.
func FuzzDecodeFastPaths(f *testing.F) {
	for _, d := range goldenDocs(f) {
		f.Add(d)
	}
	for _, s := range []string{
		"", "---\n", "kind: NetworkPolicy\n", "a: [\n", "spec: {}\nx:", "metadata:\n  name: yes\n",
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: n\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n      endPort: 79\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var fast, ref networkingv1.NetworkPolicy
		ferr := unmarshalStrict(doc, &fast)
		rerr := yaml.UnmarshalStrict(doc, &ref)
		if fmt.Sprint(ferr) != fmt.Sprint(rerr) || !reflect.DeepEqual(fast, ref) {
			t.Fatalf("unmarshalStrict: %v / %#v\nsigs.k8s.io/yaml: %v / %#v", ferr, fast, rerr, ref)
		}
		_, _ = Decode("fuzz.yaml", doc)
		if ferr != nil {
			return
		}
		if quickValid(&fast) {
			if err := validate(&fast); err != nil {
				t.Fatalf("quickValid accepts what validate rejects: %v\n%#v", err, fast)
			}
		}
		want, werr := yaml.Marshal(&fast)
		got, gerr := marshalYAML(&fast)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !bytes.Equal(got, want) {
			t.Fatalf("marshalYAML: %v\n%s\nsigs.k8s.io/yaml: %v\n%s", gerr, got, werr, want)
		}
	})
}
