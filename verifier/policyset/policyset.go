// Package policyset reads the policy objects of a tree of any flavor
// flowfence writes — networking.k8s.io/v1 NetworkPolicy, cilium.io/v2
// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, projectcalico.org/v3
// NetworkPolicy, GlobalNetworkPolicy, their staged kinds and Tier —
// dispatching every YAML document on its apiVersion and kind, and compiles
// them for the verifier engine of their flavor (verifier.Engine,
// verifier/cilium, verifier/calico).
//
// Calico staged policies are evaluated as promoted (verifier/calico
// Promote): Namespaces, Evaluator and CalicoPromoted see the tree as it
// will be enforced, and Files names, for a key a staged Set policy
// becomes, the staged policy's file.
//
// The AdminNetworkPolicy and BaselineAdminNetworkPolicy of --guardrails
// are read past (listed in Ignored): no engine evaluates them. A tree holds
// one flavor; anything else is an error naming the file and document.
package policyset

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/output/guardrails"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/calico"
	"github.com/flowfence/flowfence/verifier/cilium"
)

// Flavors of a set: the --format that writes them.
const (
	FlavorK8s    = "k8s"
	FlavorCilium = "cilium"
	FlavorCalico = "calico"
)

// Set is the policy objects of a tree.
type Set struct {
	NetworkPolicies []*networkingv1.NetworkPolicy
	Cilium          []*cilium.Object
	Calico          []*calico.Object
	// Files maps each policy's key, as the engines name it in results
	// ("namespace/name", or the name of a cluster-scoped policy), to the
	// file that holds it: for a key a staged Set policy is promoted to,
	// the staged policy's file (the one evaluated).
	Files map[string]string
	// Ignored lists the objects read past: "file: Kind name".
	Ignored []string
	// defined maps "Kind key" to its file
	defined map[string]string
	// promoted holds the keys of Files a staged Set policy took
	promoted map[string]bool
}

// New returns an empty set.
func New() *Set { return &Set{Files: map[string]string{}} }

// FromTree reads every policy YAML of a rendered tree (kustomizations
// skipped), in path order.
func FromTree(t output.Tree) (*Set, error) {
	s := New()
	for _, p := range t.Paths() {
		if !IsPolicyFile(p) {
			continue
		}
		if err := s.Add(p, p, t[p]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// IsPolicyFile says whether a file of a tree holds policies: YAML (.yaml,
// .yml), not a kustomization, not in the tree's state directory
// (output.StateDir: the graph and settings the tree came from).
func IsPolicyFile(name string) bool {
	if output.InStateDir(name) {
		return false
	}
	lower := strings.ToLower(name)
	if i := strings.LastIndexByte(lower, '/'); i >= 0 {
		lower = lower[i+1:]
	}
	if !strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
		return false
	}
	return lower != "kustomization.yaml" && lower != "kustomization.yml"
}

// Add decodes the documents of one file: path names it in errors, file in
// Files. NetworkPolicies are decoded strictly and validated as the API
// server would (output/k8s.Decode, on the whole file); Cilium and Calico
// objects with their engine's decoder. A policy defined twice is an error.
func (s *Set) Add(path, file string, data []byte) error {
	docs := output.SplitDocuments(data)
	type typeMeta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	kinds := make([]*typeMeta, len(docs))
	nps := false
	for i, d := range docs {
		if output.BlankDocument(d) {
			continue
		}
		var tm typeMeta
		if err := yaml.Unmarshal(d, &tm); err != nil {
			return fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		kinds[i] = &tm
		nps = nps || tm.Kind == "NetworkPolicy" && tm.APIVersion == "networking.k8s.io/v1"
	}
	if nps {
		// one decoder for the file (output/k8s.Decode); a document of
		// another kind is an error naming it: a tree holds one flavor
		for i, k := range kinds {
			if k != nil && (k.Kind != "NetworkPolicy" || k.APIVersion != "networking.k8s.io/v1") {
				return fmt.Errorf("%s: document %d: %s/%s is not a networking.k8s.io/v1 NetworkPolicy like the file's other documents: a tree holds one policy flavor", path, i+1, k.APIVersion, k.Kind)
			}
		}
		decoded, err := k8s.Decode(path, data)
		if err != nil {
			return err
		}
		for _, np := range decoded {
			ns := np.Namespace
			if ns == "" {
				ns = verifier.DefaultNamespace
			}
			if err := s.file(path, file, ns+"/"+np.Name, "NetworkPolicy"); err != nil {
				return err
			}
			s.Files[ns+"/"+np.Name] = file
			s.NetworkPolicies = append(s.NetworkPolicies, np)
		}
		return nil
	}
	for i, d := range docs {
		if kinds[i] == nil {
			continue
		}
		av, kind := kinds[i].APIVersion, kinds[i].Kind
		where := fmt.Sprintf("%s: document %d", path, i+1)
		switch {
		case cilium.IsKind(av, kind):
			o, err := cilium.DecodeObject(d)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if err := s.file(path, file, o.Key(), o.Kind); err != nil {
				return err
			}
			s.Files[o.Key()] = file
			s.Cilium = append(s.Cilium, o)
		case calico.IsKind(av, kind):
			o, err := calico.DecodeObject(d)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if o.Tier == nil {
				if err := s.file(path, file, o.Key(), o.Kind); err != nil {
					return err
				}
				s.calicoFile(file, o)
			}
			s.Calico = append(s.Calico, o)
		case av == guardrails.APIVersion && (kind == guardrails.KindANP || kind == guardrails.KindBANP):
			var m struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			_ = yaml.Unmarshal(d, &m)
			s.Ignored = append(s.Ignored, fmt.Sprintf("%s: %s %s", file, kind, m.Metadata.Name))
		default:
			return fmt.Errorf("%s: %s %s is not a policy flowfence evaluates (networking.k8s.io/v1 NetworkPolicy; %s %s, %s; %s %s, %s, their staged kinds, %s)",
				where, av, kind, ciliumout.APIVersion, ciliumout.KindCiliumNetworkPolicy, ciliumout.KindCiliumClusterwideNetworkPolicy,
				caliout.APIVersion, caliout.KindNetworkPolicy, caliout.KindGlobalNetworkPolicy, caliout.KindTier)
		}
	}
	return nil
}

// file records where a policy is defined; a second definition of the same
// kind and key is an error naming both files.
func (s *Set) file(path, file, key, kind string) error {
	if s.defined == nil {
		s.defined = map[string]string{}
	}
	id := kind + " " + key
	if prev, dup := s.defined[id]; dup {
		return fmt.Errorf("%s: %s %s is also defined in %s", path, kind, key, prev)
	}
	s.defined[id] = file
	return nil
}

// calicoFile records the file of a Calico policy under the key it is
// evaluated by: a staged Set policy's under the key it is promoted to,
// which it takes from an enforced policy of that key (promotion replaces
// that one); a staged Delete's nowhere (it is not evaluated).
func (s *Set) calicoFile(file string, o *calico.Object) {
	key := calico.PromotedKey(o)
	switch {
	case calico.IsStaged(o.Kind) && o.Policy.StagedAction == calico.StagedActionDelete:
	case calico.IsStaged(o.Kind):
		if s.promoted == nil {
			s.promoted = map[string]bool{}
		}
		s.promoted[key] = true
		s.Files[key] = file
	case !s.promoted[key]:
		s.Files[key] = file
	}
}

// CalicoPromoted returns the Calico objects as Calico enforces them once
// the staged policies are promoted, and what promotion does
// (verifier/calico Promote).
func (s *Set) CalicoPromoted() ([]*calico.Object, calico.Promotion) {
	return calico.Promote(s.Calico)
}

// Len is the number of policy objects as read (tiers and staged policies
// included).
func (s *Set) Len() int { return len(s.NetworkPolicies) + len(s.Cilium) + len(s.Calico) }

// Flavor is the set's flavor; a set mixing flavors is an error.
func (s *Set) Flavor() (string, error) {
	var found []string
	if len(s.NetworkPolicies) > 0 {
		found = append(found, FlavorK8s)
	}
	if len(s.Cilium) > 0 {
		found = append(found, FlavorCilium)
	}
	if len(s.Calico) > 0 {
		found = append(found, FlavorCalico)
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("the tree mixes policy flavors (%s): verify and diff judge one flavor at a time", strings.Join(found, ", "))
}

// Namespaces returns the namespaces with at least one namespaced policy,
// staged policies as promoted, sorted.
func (s *Set) Namespaces() []string {
	var out []string
	for _, np := range s.NetworkPolicies {
		out = append(out, cmpOr(np.Namespace, verifier.DefaultNamespace))
	}
	for _, o := range s.Cilium {
		if o.Namespace != "" {
			out = append(out, o.Namespace)
		}
	}
	promoted, _ := s.CalicoPromoted()
	for _, o := range promoted {
		if o.Namespace != "" && o.Policy != nil {
			out = append(out, o.Namespace)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Evaluator compiles the set for the engine of its flavor. cni is the
// --cni the user gave ("" or kubernetes for the default): NetworkPolicies
// are evaluated with its semantics (calico's being upstream Kubernetes);
// Cilium policies need cilium, Calico policies calico (the default is
// accepted for both: the tree says which CNI enforces it).
func (s *Set) Evaluator(cni string) (verifier.Evaluator, error) {
	flavor, err := s.Flavor()
	if err != nil {
		return nil, err
	}
	switch flavor {
	case FlavorCilium:
		if cni != "" && cni != string(verifier.CNIKubernetes) && cni != string(verifier.CNICilium) {
			return nil, fmt.Errorf("--cni %s: the tree holds Cilium policies, which only Cilium enforces (use --cni cilium or leave it unset)", cni)
		}
		return cilium.New(s.Cilium)
	case FlavorCalico:
		if cni != "" && cni != string(verifier.CNIKubernetes) && cni != string(verifier.CNICalico) {
			return nil, fmt.Errorf("--cni %s: the tree holds Calico policies, which only Calico enforces (use --cni calico or leave it unset)", cni)
		}
		return calico.New(s.Calico)
	}
	c := verifier.CNIKubernetes
	switch cni {
	case "", string(verifier.CNIKubernetes), string(verifier.CNICalico):
	case string(verifier.CNICilium):
		c = verifier.CNICilium
	default:
		return nil, fmt.Errorf("--cni %q: one of kubernetes, cilium, calico", cni)
	}
	return verifier.New(s.NetworkPolicies, verifier.Options{CNI: c})
}
