package calico

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/verifier"
	"github.com/flowfence/flowfence/verifier/verifiertest"
)

const (
	npWebIngress = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == 'frontend'}
    destination: {ports: [8080]}
`
	npDefaultDeny = verifiertest.CalicoDefaultDeny
	gnpQuarantine = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: quarantine}
spec:
  selector: quarantine == 'true'
  types: [Ingress, Egress]
`
)

// stagedDelete is a staged document of kind deleting the enforced policy
// name (of namespace ns; none for a global kind).
func stagedDelete(kind, name, ns string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return "apiVersion: projectcalico.org/v3\nkind: " + kind + "\nmetadata: " + meta + "\nspec: {stagedAction: Delete}\n"
}

// knpDB is Calico's view of the Kubernetes NetworkPolicy data/db (as
// read from a cluster), sknpDB a StagedKubernetesNetworkPolicy of that
// name admitting another port.
const (
	knpDB = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: knp.default.db, namespace: data}
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s' && app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [5432]}
`
	sknpDB = `apiVersion: projectcalico.org/v3
kind: StagedKubernetesNetworkPolicy
metadata: {name: db, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{ports: [{port: 6432}]}]
`
)

// TestStagedEvaluatedAsPromoted: each staged kind and stagedAction is
// evaluated as what promotion leaves enforced. The "enforced alone" rows
// are the controls: the same probes with the staged document left out
// give the other verdict, so each staged row measures the staged document.
func TestStagedEvaluatedAsPromoted(t *testing.T) {
	frontend, web := pod("shop", "app", "frontend"), pod("shop", "app", "web")
	quarantined := pod("shop", "app", "frontend", "quarantine", "true")
	// npWebIngress staged (without stagedAction: Set by default),
	// admitting 9090 instead of 8080.
	stagedWeb9090 := strings.NewReplacer("kind: NetworkPolicy", "kind: StagedNetworkPolicy", "ports: [8080]", "ports: [9090]").Replace(npWebIngress)
	for _, c := range []struct {
		name    string
		docs    []string
		src     verifier.Peer
		dst     verifier.Peer
		port    int32
		allowed bool
	}{
		{"enforced alone admits 8080", []string{npWebIngress}, frontend, web, 8080, true},
		{"enforced alone denies 9090", []string{npWebIngress}, frontend, web, 9090, false},
		{"staged Set replaces the enforced policy of its name: 8080 no longer admitted", []string{npWebIngress, strings.Replace(stagedWeb9090, "spec:\n", "spec:\n  stagedAction: Set\n", 1)}, frontend, web, 8080, false},
		{"staged Set replaces the enforced policy of its name: 9090 admitted", []string{stagedWeb9090, npWebIngress}, frontend, web, 9090, true},
		{"no policy: the profile admits", nil, frontend, web, 9090, true},
		{"a staged Set without stagedAction (Calico's default) is enforced", []string{strings.NewReplacer("kind: NetworkPolicy", "kind: StagedNetworkPolicy").Replace(npDefaultDeny)}, frontend, web, 9090, false},
		{"enforced default-deny alone denies", []string{npDefaultDeny}, frontend, web, 8080, false},
		{"staged Delete removes the enforced policy of its name", []string{npDefaultDeny, stagedDelete("StagedNetworkPolicy", "default-deny", "shop")}, frontend, web, 8080, true},
		{"staged Delete of another namespace's policy removes nothing", []string{npDefaultDeny, stagedDelete("StagedNetworkPolicy", "default-deny", "data")}, frontend, web, 8080, false},
		{"Calico's view of a Kubernetes NetworkPolicy alone admits 5432", []string{knpDB}, pod("data", "app", "api"), pod("data", "app", "db"), 5432, true},
		{"a StagedKubernetesNetworkPolicy Set replaces the Kubernetes NetworkPolicy of its name", []string{knpDB, sknpDB}, pod("data", "app", "api"), pod("data", "app", "db"), 5432, false},
		{"Calico's view of a Kubernetes NetworkPolicy alone denies 9", []string{knpDB}, pod("shop", "app", "x"), pod("data", "app", "db"), 9, false},
		{"a StagedKubernetesNetworkPolicy Delete removes the Kubernetes NetworkPolicy of its name", []string{knpDB, strings.Replace(sknpDB, "ingress: [{ports: [{port: 6432}]}]", "stagedAction: Delete", 1)}, pod("shop", "app", "x"), pod("data", "app", "db"), 9, true},
		{"staged global Set is a GlobalNetworkPolicy", []string{strings.Replace(gnpQuarantine, "kind: GlobalNetworkPolicy", "kind: StagedGlobalNetworkPolicy", 1)}, quarantined, web, 8080, false},
		{"enforced global alone denies", []string{gnpQuarantine}, quarantined, web, 8080, false},
		{"staged global Delete removes the GlobalNetworkPolicy", []string{gnpQuarantine, stagedDelete("StagedGlobalNetworkPolicy", "quarantine", "")}, quarantined, web, 8080, true},
		{"a staged NetworkPolicy does not delete a GlobalNetworkPolicy of its name", []string{gnpQuarantine, stagedDelete("StagedNetworkPolicy", "quarantine", "shop")}, quarantined, web, 8080, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := load(t, strings.Join(c.docs, "\n---\n"))
			res := e.Evaluate(verifier.Traffic{Src: c.src, Dst: c.dst, Protocol: "TCP", Port: c.port})
			if got := res.Verdict == verifier.Allowed; got != c.allowed {
				t.Errorf("allowed = %v, want %v: %s", got, c.allowed, res.Reason)
			}
		})
	}
}

func decodeAll(t *testing.T, docs ...string) []*Object {
	return verifiertest.Decode(t, DecodeObject, docs...)
}

// TestPromotionSays: what Promote reports doing, and the objects it
// leaves: the staged Set under the enforced kind, From naming the staged
// document; the replaced and deleted enforced policies gone.
func TestPromotionSays(t *testing.T) {
	objs := decodeAll(t, npWebIngress, npDefaultDeny, gnpQuarantine,
		strings.Replace(npWebIngress, "kind: NetworkPolicy", "kind: StagedNetworkPolicy", 1),
		stagedDelete("StagedNetworkPolicy", "default-deny", "shop"),
		stagedDelete("StagedGlobalNetworkPolicy", "gone", ""),
		"apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata: {name: db, namespace: data}\nspec: {podSelector: {matchLabels: {app: db}}}\n",
		"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: apps}\nspec: {order: 100}\n",
	)
	out, pr := Promote(objs)
	want := Promotion{
		Set:      []string{"NetworkPolicy data/knp.default.db", "NetworkPolicy shop/web-ingress"},
		Replaced: []string{"NetworkPolicy shop/web-ingress"},
		Deleted:  []string{"NetworkPolicy shop/default-deny"},
		Absent:   []string{"GlobalNetworkPolicy gone"},
	}
	if !reflect.DeepEqual(pr, want) {
		t.Errorf("promotion:\n got  %+v\n want %+v", pr, want)
	}
	if pr.Staged() != 4 {
		t.Errorf("staged = %d, want 4", pr.Staged())
	}
	var got []string
	for _, o := range out {
		s := o.Kind + " " + o.Key()
		if o.From != "" {
			s += " from " + o.From
		}
		got = append(got, s)
	}
	wantObjs := []string{"GlobalNetworkPolicy quarantine", "NetworkPolicy shop/web-ingress from StagedNetworkPolicy shop/web-ingress",
		"NetworkPolicy data/knp.default.db from StagedKubernetesNetworkPolicy data/db", "Tier apps"}
	if !reflect.DeepEqual(got, wantObjs) {
		t.Errorf("promoted objects:\n got  %q\n want %q", got, wantObjs)
	}
	for _, o := range out {
		if o.Policy != nil && o.Policy.StagedAction != "" {
			t.Errorf("%s keeps stagedAction %q", o.ID(), o.Policy.StagedAction)
		}
	}
	again, pr2 := Promote(out)
	if !reflect.DeepEqual(again, out) || pr2.Staged() != 0 {
		t.Errorf("promoting promoted objects changed them: %d staged", pr2.Staged())
	}
	if _, pr := Promote(decodeAll(t, npWebIngress)); pr.Staged() != 0 {
		t.Errorf("a tree without staged policies: %+v", pr)
	}
}

// k8sCases are NetworkPolicy specs covering what a
// StagedKubernetesNetworkPolicy's conversion must get right.
var k8sCases = []struct{ name, spec string }{
	{"pod selector, port", `podSelector: {matchLabels: {app: db}}
ingress:
- from: [{podSelector: {matchLabels: {app: api}}}]
  ports: [{port: 5432}]`},
	{"namespace selector, empty and labelled, UDP", `podSelector: {matchLabels: {app: db}}
ingress:
- from: [{namespaceSelector: {}}]
  ports: [{port: 53, protocol: UDP}]
- from: [{namespaceSelector: {matchLabels: {team: shop-team}}, podSelector: {matchLabels: {app: web}}}]`},
	{"expressions, endPort, named port, protocol without port", `podSelector:
  matchExpressions:
  - {key: app, operator: In, values: [db, cache]}
  - {key: canary, operator: DoesNotExist}
ingress:
- from:
  - podSelector:
      matchExpressions:
      - {key: app, operator: NotIn, values: [web]}
      - {key: tier, operator: Exists}
  ports: [{port: 8000, endPort: 8100}, {port: http}, {protocol: SCTP}]`},
	{"ipBlock with except, egress only", `podSelector: {}
policyTypes: [Egress]
egress:
- to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
  ports: [{port: 443}]
- to: [{podSelector: {}}]`},
	{"no rules: isolation only, both directions by default", `podSelector: {matchLabels: {app: api}}
egress:
- ports: [{port: 53, protocol: UDP}, {port: 53}]
ingress:
- {}`},
}

// TestStagedKubernetesNetworkPolicyIsAKubernetesNetworkPolicy: a
// StagedKubernetesNetworkPolicy is evaluated as the NetworkPolicy it
// becomes: for every spec of k8sCases and every probe, the Calico engine
// given it staged gives the verdict the NetworkPolicy engine
// (verifier.New, Kubernetes semantics) gives the NetworkPolicy.
func TestStagedKubernetesNetworkPolicyIsAKubernetesNetworkPolicy(t *testing.T) {
	named := map[string]verifier.NamedPort{"http": {Port: 8888}}
	withPorts := func(p verifier.Peer) verifier.Peer { p.NamedPorts = named; return p }
	peers := []verifier.Peer{
		withPorts(pod("data", "app", "db")), withPorts(pod("data", "app", "cache", "canary", "1")), withPorts(pod("data", "app", "api", "tier", "x")),
		withPorts(pod("shop", "app", "web")), withPorts(pod("shop", "app", "api")), withPorts(pod("shop", "app", "batch", "tier", "y")),
		addr("10.2.3.4"), addr("10.1.2.3"), addr("192.0.2.1"),
	}
	type pp struct {
		proto string
		port  int32
	}
	ports := []pp{{"TCP", 5432}, {"UDP", 53}, {"TCP", 53}, {"TCP", 8050}, {"TCP", 8101}, {"TCP", 8888}, {"SCTP", 9}, {"TCP", 443}, {"UDP", 443}}
	for _, c := range k8sCases {
		t.Run(c.name, func(t *testing.T) {
			var np networkingv1.NetworkPolicy
			np.Name, np.Namespace = "p", "data"
			if err := yaml.UnmarshalStrict([]byte(c.spec), &np.Spec); err != nil {
				t.Fatal(err)
			}
			k8sEng, err := verifier.New([]*networkingv1.NetworkPolicy{&np}, verifier.Options{CNI: verifier.CNIKubernetes})
			if err != nil {
				t.Fatal(err)
			}
			doc := "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata: {name: p, namespace: data}\nspec:\n  " +
				strings.ReplaceAll(c.spec, "\n", "\n  ") + "\n"
			cal := load(t, doc)
			allowed, denied := 0, 0
			for _, src := range peers {
				for _, dst := range peers {
					if !src.IsPod && !dst.IsPod {
						continue
					}
					for _, q := range ports {
						tr := verifier.Traffic{Src: src, Dst: dst, Protocol: corev1.Protocol(q.proto), Port: q.port}
						want, got := k8sEng.Evaluate(tr), cal.Evaluate(tr)
						if (want.Verdict == verifier.Allowed) != (got.Verdict == verifier.Allowed) {
							t.Errorf("%s -> %s %s/%d: NetworkPolicy %v (%s), staged as promoted %v (%s)", peerName(src), peerName(dst), q.proto, q.port,
								want.Verdict, want.Reason, got.Verdict, got.Reason)
						}
						if want.Verdict == verifier.Allowed {
							allowed++
						} else {
							denied++
						}
					}
				}
			}
			if allowed == 0 || denied == 0 {
				t.Errorf("probes cannot tell: %d allowed, %d denied", allowed, denied)
			}
			res := cal.Evaluate(verifier.Traffic{Src: addr("192.0.2.1"), Dst: pod("data", "app", "api"), Protocol: "TCP", Port: 1})
			if res.Verdict != verifier.Allowed && !strings.Contains(res.Reason, "data/knp.default.p") {
				t.Errorf("a denial names the policy as Calico does (data/knp.default.p): %s", res.Reason)
			}
		})
	}
}

func peerName(p verifier.Peer) string {
	if !p.IsPod {
		return p.IP.String()
	}
	return fmt.Sprintf("%s/%v", p.Namespace, p.Labels)
}

// TestStagedDecodeErrors: a staged document flowfence cannot evaluate as
// promoted is an error naming it and saying why.
func TestStagedDecodeErrors(t *testing.T) {
	decode := func(doc []byte) (*Object, error) {
		return DecodeObject([]byte("apiVersion: projectcalico.org/v3\n" + string(doc) + "\n"))
	}
	verifiertest.DecodeErrors(t, decode, []verifiertest.BadDoc{
		{"unknown stagedAction", "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: Promote}", `StagedNetworkPolicy a/x: spec.stagedAction "Promote" is not Set or Delete`},
		{"Learn", "kind: StagedGlobalNetworkPolicy\nmetadata: {name: x}\nspec: {stagedAction: Learn}", `StagedGlobalNetworkPolicy x: spec.stagedAction "Learn": a Calico Enterprise policy recommendation`},
		{"Ignore", "kind: StagedKubernetesNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: Ignore, podSelector: {}}", `StagedKubernetesNetworkPolicy a/x: spec.stagedAction "Ignore"`},
		{"lowercase set", "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: set}", `spec.stagedAction "set" is not Set or Delete`},
		{"control characters", "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: \"\\e[31mSet\"}", `spec.stagedAction "\x1b[31mSet" is not Set or Delete`},
		{"stagedAction not a string", "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: [Set]}", "StagedNetworkPolicy a/x: spec:"},
		{"stagedAction on an enforced kind", "kind: NetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {stagedAction: Set}", `NetworkPolicy a/x: spec.stagedAction "Set": only the staged kinds have one`},
		{"unsupported member in a staged spec", "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {serviceAccountSelector: all()}", `StagedNetworkPolicy a/x: spec: json: unknown field "serviceAccountSelector"`},
		{"Calico member in a StagedKubernetesNetworkPolicy", "kind: StagedKubernetesNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {selector: all()}", `StagedKubernetesNetworkPolicy a/x: spec: json: unknown field "selector"`},
		{"invalid NetworkPolicySpec", "kind: StagedKubernetesNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]}", "StagedKubernetesNetworkPolicy a/x: spec:"},
		{"invalid port", "kind: StagedKubernetesNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {podSelector: {}, ingress: [{ports: [{port: 70000}]}]}", "StagedKubernetesNetworkPolicy a/x: spec:"},
		{"knp prefix on a StagedNetworkPolicy", "kind: StagedNetworkPolicy\nmetadata: {name: knp.default.x, namespace: a}\nspec: {}", `StagedNetworkPolicy a/knp.default.x: the name prefix "knp.default." is Calico's`},
		{"namespace on a staged global", "kind: StagedGlobalNetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {}", "StagedGlobalNetworkPolicy x: a cluster-scoped resource has no metadata.namespace"},
	})
}
