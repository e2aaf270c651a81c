package policyset

import (
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/verifiertest"
)

const (
	np = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`
	cnp = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  endpointSelector: {}
  ingress: [{}]
`
	ccnp = `# the guard
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: guard}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false, egress: false}
  egressDeny: [{toCIDR: [169.254.169.254/32]}]
`
	cal  = verifiertest.CalicoDefaultDeny
	tier = `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: guard}
spec: {order: 1, defaultAction: Pass}
`
	anp = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: flowfence-metadata-guard}
spec: {priority: 10, subject: {namespaces: {}}}
`
)

// TestReadsEveryFlavor: a tree of each flavor reads into its set and
// compiles for its engine; the --guardrails objects are read past.
func TestReadsEveryFlavor(t *testing.T) {
	for _, c := range []struct {
		name    string
		tree    output.Tree
		flavor  string
		cni     string
		ignored int
		n       int
	}{
		{"k8s with guardrails", output.Tree{"shop/00-default-deny.yaml": []byte(np), "_cluster/01-metadata-guard.yaml": []byte(anp)}, FlavorK8s, "", 1, 1},
		{"cilium, documents in one file", output.Tree{"shop/00-default-deny.yaml": []byte(cnp + "---\n" + ccnp)}, FlavorCilium, "cilium", 0, 2},
		{"calico with a tier", output.Tree{"shop/00-default-deny.yaml": []byte(cal), "_cluster/00-tiers.yaml": []byte(tier), "shop/kustomization.yaml": []byte("resources: []\n")}, FlavorCalico, "", 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := FromTree(c.tree)
			if err != nil {
				t.Fatal(err)
			}
			if f, _ := s.Flavor(); f != c.flavor || len(s.Ignored) != c.ignored || s.Len() != c.n {
				t.Fatalf("flavor %q, ignored %v, len %d", f, s.Ignored, s.Len())
			}
			e, err := s.Evaluator(c.cni)
			if err != nil {
				t.Fatal(err)
			}
			if e.Len() != c.n {
				t.Errorf("engine has %d objects, want %d", e.Len(), c.n)
			}
			if got := s.Namespaces(); len(got) != 1 || got[0] != "shop" {
				t.Errorf("namespaces %v", got)
			}
		})
	}
}

func TestTreeErrorsNameTheFileAndDocument(t *testing.T) {
	for _, c := range []struct {
		name string
		tree output.Tree
		cni  string
		want string
	}{
		{"mixed flavors", output.Tree{"a/np.yaml": []byte(np), "b/cnp.yaml": []byte(cnp)}, "", "the tree mixes policy flavors (k8s, cilium)"},
		{"NetworkPolicy and CNP in one file", output.Tree{"a/x.yaml": []byte(np + "---\n" + cnp)}, "", "a/x.yaml: document 2: cilium.io/v2/CiliumNetworkPolicy is not a networking.k8s.io/v1 NetworkPolicy like the file's other documents"},
		{"another kind", output.Tree{"a/svc.yaml": []byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")}, "", "a/svc.yaml: document 1: v1 Service is not a policy flowfence evaluates"},
		{"defined twice", output.Tree{"a/1.yaml": []byte(cnp), "a/2.yaml": []byte(cnp)}, "", "a/2.yaml: CiliumNetworkPolicy shop/default-deny is also defined in a/1.yaml"},
		{"unsupported member", output.Tree{"a/x.yaml": []byte(strings.Replace(cnp, "ingress: [{}]", "ingress: [{fromRequires: [{}]}]", 1))}, "", `a/x.yaml: document 1: CiliumNetworkPolicy shop/default-deny: spec: json: unknown field "fromRequires"`},
		{"cilium tree with --cni calico", output.Tree{"a/x.yaml": []byte(cnp)}, "calico", "--cni calico: the tree holds Cilium policies"},
		{"calico tree with --cni cilium", output.Tree{"a/x.yaml": []byte(cal)}, "cilium", "--cni cilium: the tree holds Calico policies"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := FromTree(c.tree)
			if err == nil {
				_, err = s.Evaluator(c.cni)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestStateDirIsNotPolicy: the tree's state directory (.flowfence/: the
// graph and settings it came from) holds no policy; a YAML file in it,
// even one that is not a valid policy, is never read as one.
func TestStateDirIsNotPolicy(t *testing.T) {
	for _, c := range []struct {
		path string
		want bool
	}{
		{"shop/api-ingress.yaml", true},
		{".flowfence/settings.json", false},
		{".flowfence/policy.yaml", false},
		{".flowfence/nested/x.yml", false},
		{"shop/.flowfence/x.yaml", true},
		{"shop/kustomization.yaml", false},
	} {
		if got := IsPolicyFile(c.path); got != c.want {
			t.Errorf("IsPolicyFile(%q) = %v, want %v", c.path, got, c.want)
		}
	}
	if _, err := FromTree(output.Tree{".flowfence/policy.yaml": []byte("kind: NetworkPolicy\nspec: 7\n")}); err != nil {
		t.Errorf("a YAML file in .flowfence/ was read as a policy: %v", err)
	}
}

const (
	calWeb = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]
`
	stagedWeb = `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  stagedAction: Set
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [9090]}}]
`
	stagedDeleteDeny = `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {stagedAction: Delete}
`
)

// TestStagedNameAlsoEnforced: a name defined both enforced and staged in
// one tree is, on promotion, the staged policy (stagedAction Set replaces
// the enforced one; Delete removes it), whatever the files' order: the
// engine evaluates it, Files names its file, and Namespaces counts a
// namespace whose policies are all staged.
func TestStagedNameAlsoEnforced(t *testing.T) {
	web := verifier.Peer{IsPod: true, Namespace: "shop", Labels: map[string]string{"app": "web"}}
	client := verifier.Peer{IsPod: true, Namespace: "shop", Labels: map[string]string{"app": "client"}}
	for _, c := range []struct {
		name       string
		tree       output.Tree
		file       string // Files["shop/web-ingress"]
		port8080   bool
		port9090   bool
		namespaces []string
	}{
		{"enforced only", output.Tree{"shop/a.yaml": []byte(calWeb)}, "shop/a.yaml", true, false, []string{"shop"}},
		{"staged after enforced", output.Tree{"shop/a.yaml": []byte(calWeb), "shop/b.yaml": []byte(stagedWeb)}, "shop/b.yaml", false, true, []string{"shop"}},
		{"staged before enforced", output.Tree{"shop/a.yaml": []byte(stagedWeb), "shop/b.yaml": []byte(calWeb)}, "shop/a.yaml", false, true, []string{"shop"}},
		{"one file", output.Tree{"shop/a.yaml": []byte(calWeb + "---\n" + stagedWeb)}, "shop/a.yaml", false, true, []string{"shop"}},
		{"staged only", output.Tree{"shop/s.yaml": []byte(stagedWeb)}, "shop/s.yaml", false, true, []string{"shop"}},
		{"default-deny deleted, web staged", output.Tree{"shop/0.yaml": []byte(cal), "shop/1.yaml": []byte(stagedDeleteDeny), "shop/s.yaml": []byte(stagedWeb)}, "shop/s.yaml", false, true, []string{"shop"}},
		{"the only enforced policy deleted", output.Tree{"shop/0.yaml": []byte(cal), "shop/1.yaml": []byte(stagedDeleteDeny)}, "", true, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := FromTree(c.tree)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Files["shop/web-ingress"]; got != c.file {
				t.Errorf("Files[shop/web-ingress] = %q, want %q", got, c.file)
			}
			if got := s.Namespaces(); !slices.Equal(got, c.namespaces) {
				t.Errorf("namespaces %v, want %v", got, c.namespaces)
			}
			e, err := s.Evaluator("")
			if err != nil {
				t.Fatal(err)
			}
			for port, want := range map[int32]bool{8080: c.port8080, 9090: c.port9090} {
				res := e.Evaluate(verifier.Traffic{Src: client, Dst: web, Protocol: "TCP", Port: port})
				if got := res.Verdict == verifier.Allowed; got != want {
					t.Errorf("TCP/%d allowed = %v, want %v: %s", port, got, want, res.Reason)
				}
			}
		})
	}
}

// TestStagedErrorsNameTheFileAndDocument: a staged document that cannot
// be evaluated as promoted is an error naming the file and the document.
func TestStagedErrorsNameTheFileAndDocument(t *testing.T) {
	for _, c := range []struct {
		name string
		tree output.Tree
		want string
	}{
		{"unknown stagedAction", output.Tree{"shop/x.yaml": []byte(cal + "---\n" + strings.Replace(stagedWeb, "stagedAction: Set", "stagedAction: Enforce", 1))},
			`shop/x.yaml: document 2: StagedNetworkPolicy shop/web-ingress: spec.stagedAction "Enforce" is not Set or Delete`},
		{"Learn", output.Tree{"shop/x.yaml": []byte(strings.Replace(stagedWeb, "stagedAction: Set", "stagedAction: Learn", 1))},
			`shop/x.yaml: document 1: StagedNetworkPolicy shop/web-ingress: spec.stagedAction "Learn"`},
		{"staged defined twice", output.Tree{"shop/x.yaml": []byte(stagedWeb), "shop/y.yaml": []byte(stagedDeleteDeny + "---\n" + strings.Replace(stagedWeb, "Set", "Delete", 1))},
			"shop/y.yaml: StagedNetworkPolicy shop/web-ingress is also defined in shop/x.yaml"},
		{"StagedKubernetesNetworkPolicy with a bad spec", output.Tree{"shop/k.yaml": []byte("apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata: {name: k, namespace: shop}\nspec: {podSelector: {matchLabels: {'a b': c}}}\n")},
			"shop/k.yaml: document 1: StagedKubernetesNetworkPolicy shop/k: spec:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromTree(c.tree)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
