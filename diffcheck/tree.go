package diffcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// Tree is a policy tree read from disk: every policy object and the file it
// came from.
type Tree struct {
	// Dir is the directory as the user named it (--policies).
	Dir string
	// Flavor is the tree's policy flavor: k8s, cilium or calico
	// (policyset.Flavor*).
	Flavor string
	// Policies are the NetworkPolicies of a k8s tree, sorted by
	// namespace/name.
	Policies []*networkingv1.NetworkPolicy
	// Files maps each policy's key ("namespace/name", or the name of a
	// cluster-scoped policy) to the file (slash-separated, relative to
	// Dir) that holds it.
	Files map[string]string
	// set holds the objects of every flavor (flavor.go).
	set *policyset.Set
}

// Namespaces returns the namespaces that have at least one policy, sorted.
func (t *Tree) Namespaces() []string { return t.objects().Namespaces() }

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

// ReadTree reads every policy under dir, recursively and in lexical order:
// YAML files (.yaml, .yml) with one or more documents, each dispatched on
// its apiVersion and kind (policyset.Set.Add: NetworkPolicy decoded
// strictly and validated as the API server would, Cilium and Calico
// policies and tiers, _cluster/ included; --guardrails objects read past).
// kustomization.yaml, files that are not YAML and hidden directories (.git)
// are skipped. A file that is not valid policy YAML is an error naming the
// file and the document; so is a policy defined twice, a tree mixing
// flavors, or a tree without any policy (checking against nothing would
// pass everything). What it opens and how much it reads: ReadTreeWith.
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
	t := &Tree{Dir: dir, set: policyset.New()}
	err = walkPolicyFiles(dir, opts, func(string) bool { return false }, func(rel string, data []byte) error {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := t.set.Add(path, rel, data); err != nil {
			return decodeError(path, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

// DenyScope is the deny scope a k8s tree was generated with: namespace
// when a namespace holds the default-deny, observed when none does and a
// workload has its own DNS policy ("<workload>-dns"), "" when the tree
// says neither (another flavor, or no namespace policy).
func (t *Tree) DenyScope() string {
	scope := ""
	for _, np := range t.Policies {
		switch {
		case np.Name == policy.NameDefaultDeny:
			return policy.DenyScopeNamespace
		case strings.HasSuffix(np.Name, "-dns") && len(np.Spec.PodSelector.MatchLabels) > 0:
			scope = policy.DenyScopeObserved
		}
	}
	return scope
}
