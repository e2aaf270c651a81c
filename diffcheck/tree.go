package diffcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/verifier"
)

// Tree is a policy tree read from disk: every NetworkPolicy and the file it
// came from.
type Tree struct {
	// Dir is the directory as the user named it (--policies).
	Dir string
	// Policies are sorted by namespace/name.
	Policies []*networkingv1.NetworkPolicy
	// Files maps "namespace/name" to the file (slash-separated, relative to
	// Dir) that holds the policy.
	Files map[string]string
}

// Namespaces returns the namespaces that have at least one policy, sorted.
func (t *Tree) Namespaces() []string {
	var out []string
	for _, np := range t.Policies {
		out = append(out, namespaceOf(np))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PolicyKey is the "namespace/name" the verifier reports a policy by.
func PolicyKey(np *networkingv1.NetworkPolicy) string {
	return namespaceOf(np) + "/" + np.Name
}

func namespaceOf(np *networkingv1.NetworkPolicy) string {
	if np.Namespace == "" {
		return verifier.DefaultNamespace
	}
	return np.Namespace
}

// isPolicyFile says whether a file of a policy tree holds policies: YAML
// (.yaml, .yml), not a kustomization.
func isPolicyFile(name string) bool {
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
		return false
	}
	switch lower {
	case "kustomization.yaml", "kustomization.yml":
		return false
	}
	return true
}

// ClusterDir is the directory of cluster-scoped objects at the root of a
// generated tree.
const ClusterDir = "_cluster"

// ReadTree reads every NetworkPolicy under dir, recursively and in lexical
// order: YAML files (.yaml, .yml) with one or more documents, decoded
// strictly and validated as the API server would (output/k8s.Decode).
// kustomization.yaml, files that are not YAML and hidden directories (.git)
// are skipped. A file that is not valid NetworkPolicy YAML is an error
// naming the file and the document; so is a policy defined twice, or a
// tree without any policy (checking against nothing would pass everything).
// What it opens and how much it reads: ReadTreeWith.
func ReadTree(dir string) (*Tree, error) { return ReadTreeWith(dir, ReadOptions{}) }

// ReadTreeWith is ReadTree within opts' bounds. Only regular files inside
// dir are read (a link, FIFO, device or socket in the tree is an error
// naming it; see treeReader), each at most opts.MaxFileBytes and all
// together at most opts.MaxTreeBytes; errors quote at most a short escaped
// snippet of a file.
func ReadTreeWith(dir string, opts ReadOptions) (*Tree, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("--policies %s: %w", escape.Terminal(dir), unwrapPath(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("--policies %s: not a directory", escape.Terminal(dir))
	}
	t := &Tree{Dir: dir, Files: map[string]string{}}
	// _cluster/ at the root holds cluster-scoped guardrails
	// (AdminNetworkPolicy, BaselineAdminNetworkPolicy) that are not
	// NetworkPolicies: verify and diff judge the namespaced tree
	skipDir := func(rel string) bool { return rel == ClusterDir }
	err = walkPolicyFiles(dir, opts, skipDir, func(rel string, data []byte) error {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		nps, err := k8s.Decode(path, data)
		if err != nil {
			return decodeError(path, err)
		}
		for _, np := range nps {
			key := PolicyKey(np)
			if prev, dup := t.Files[key]; dup {
				return fmt.Errorf("%s: policy %s is also defined in %s", escape.Terminal(path), key, escape.Terminal(filepath.Join(dir, filepath.FromSlash(prev))))
			}
			t.Files[key] = rel
			t.Policies = append(t.Policies, np)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.Policies) == 0 {
		return nil, fmt.Errorf("--policies %s: no NetworkPolicy found (want the tree flowfence generate wrote)", escape.Terminal(dir))
	}
	slices.SortFunc(t.Policies, func(a, b *networkingv1.NetworkPolicy) int { return strings.Compare(PolicyKey(a), PolicyKey(b)) })
	return t, nil
}
