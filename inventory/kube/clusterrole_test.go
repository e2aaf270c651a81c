package kube

import (
	"bytes"
	"os"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestClusterRoleIsWhatReadLists: deploy/inventory-clusterrole.yaml grants
// exactly "list" on exactly the resources Read lists (one source of truth:
// Resources; a new resource without its rule, or a rule left behind,
// fails here).
func TestClusterRoleIsWhatReadLists(t *testing.T) {
	raw, err := os.ReadFile("../../" + ClusterRoleFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var role *rbacv1.ClusterRole
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		if obj["kind"] == "ClusterRole" {
			role = &rbacv1.ClusterRole{}
			if err := convertMap(obj, role); err != nil {
				t.Fatal(err)
			}
		}
	}
	if role == nil {
		t.Fatalf("%s holds no ClusterRole", ClusterRoleFile)
	}
	granted := map[string]bool{}
	for _, rule := range role.Rules {
		if !slices.Equal(rule.Verbs, []string{Verb}) {
			t.Errorf("rule %v: verbs %v, want exactly [%s]", rule.Resources, rule.Verbs, Verb)
		}
		if len(rule.ResourceNames) > 0 || len(rule.NonResourceURLs) > 0 {
			t.Errorf("rule %v: resourceNames or nonResourceURLs: Read lists whole resources", rule.Resources)
		}
		for _, g := range rule.APIGroups {
			for _, r := range rule.Resources {
				key := r + "." + g
				if granted[key] {
					t.Errorf("%s granted twice", key)
				}
				granted[key] = true
			}
		}
	}
	for _, r := range Resources() {
		key := r.Resource + "." + r.Group
		if !granted[key] {
			t.Errorf("Read lists %s, which the ClusterRole does not grant", r.Name())
		}
		delete(granted, key)
	}
	for key := range granted {
		t.Errorf("the ClusterRole grants %s, which Read never lists", key)
	}
}

func convertMap(obj map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into)
}
