package output_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// TestKustomization: the kustomization every flavor writes, with and
// without a namespace and a requirement note; resources listed sorted.
func TestKustomization(t *testing.T) {
	cases := []struct {
		name, ns, requires string
		files              []string
		want               string
	}{
		{"namespace", "shop", "", []string{"web.yaml", "00-default-deny.yaml"},
			"# Apply: kubectl apply -k .   Roll back: kubectl delete -k .\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n- 00-default-deny.yaml\n- web.yaml\n"},
		{"cluster with a note", "", "these need CRDs.", []string{output.GuardFile},
			"# Apply: kubectl apply -k .   Roll back: kubectl delete -k .\n# these need CRDs.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- 01-metadata-guard.yaml\n"},
	}
	for _, c := range cases {
		if got := string(output.Kustomization(c.ns, c.files, c.requires)); got != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, got, c.want)
		}
	}
}

// TestPolicyFile: the default deny sorts first, the DNS bundle second,
// then the workloads' policies.
func TestPolicyFile(t *testing.T) {
	cases := []struct {
		kind policy.Kind
		want string
	}{
		{policy.KindDefaultDeny, "00-p.yaml"},
		{policy.KindDNS, "01-p.yaml"},
		{policy.KindIngress, "p.yaml"},
		{policy.KindEgress, "p.yaml"},
	}
	for _, c := range cases {
		if got := output.PolicyFile(&policy.Policy{Name: "p", Kind: c.kind}); got != c.want {
			t.Errorf("kind %v: %q, want %q", c.kind, got, c.want)
		}
	}
	if !output.IsPolicyFile("shop/web.yaml") || output.IsPolicyFile("shop/"+output.KustomizationFile) || output.IsPolicyFile("shop/FLOWS.md") {
		t.Error("IsPolicyFile: want policy YAML only")
	}
}

// TestClusterObjects: a file of cluster objects holds each object's
// document, "---" between them, in order; an invalid object is refused
// naming it, and nothing is returned.
func TestClusterObjects(t *testing.T) {
	what := func(s string) string { return "object " + s }
	validate := func(s string) error {
		if s == "bad" {
			return errors.New("no good")
		}
		return nil
	}
	marshal := func(i int, s string) ([]byte, error) { return []byte(fmt.Sprintf("# %d\nname: %s\n", i, s)), nil }
	for _, c := range []struct {
		objs    []string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{[]string{"guard"}, "# 0\nname: guard\n", ""},
		{[]string{"a", "b", "c"}, "# 0\nname: a\n---\n# 1\nname: b\n---\n# 2\nname: c\n", ""},
		{[]string{"a", "bad"}, "", "generated object bad is invalid: no good"},
	} {
		got, err := output.ClusterObjects(c.objs, what, validate, marshal)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr || got != nil {
				t.Errorf("%q: %q, %v; want error %q and nothing", c.objs, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%q: %q, %v; want %q", c.objs, got, err, c.want)
		}
	}
}
