package k8s

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/output"
)

// Decode strictly decodes the NetworkPolicy documents of one YAML file
// (several documents separated by "---" allowed); name is used in errors.
func Decode(name string, data []byte) ([]*networkingv1.NetworkPolicy, error) {
	return output.DecodeDocuments(name, data, decodeDocument)
}

// decodeDocument strictly decodes and validates one NetworkPolicy.
func decodeDocument(doc []byte) (*networkingv1.NetworkPolicy, error) {
	var np networkingv1.NetworkPolicy
	if err := unmarshalStrict(doc, &np); err != nil {
		return nil, err
	}
	if np.Kind != "NetworkPolicy" || np.APIVersion != "networking.k8s.io/v1" {
		return nil, fmt.Errorf("%s/%s is not a networking.k8s.io/v1 NetworkPolicy", np.APIVersion, np.Kind)
	}
	if err := Validate(&np); err != nil {
		return nil, err
	}
	return &np, nil
}

// DecodeTree decodes every policy YAML of a rendered tree (kustomizations
// and reports are skipped).
func DecodeTree(t output.Tree) ([]*networkingv1.NetworkPolicy, error) {
	var paths []string
	for _, p := range t.Paths() {
		if output.IsPolicyFile(p) {
			paths = append(paths, p)
		}
	}
	// decoded on all cores, concatenated in path order
	decoded := make([][]*networkingv1.NetworkPolicy, len(paths))
	err := runAll(len(paths), func(i int) error {
		nps, err := Decode(paths[i], t[paths[i]])
		decoded[i] = nps
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*networkingv1.NetworkPolicy
	for _, nps := range decoded {
		out = append(out, nps...)
	}
	return out, nil
}
