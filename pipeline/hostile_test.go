package pipeline_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
	"github.com/flowfence/flowfence/verifier"
)

const hostileDir = "../testdata/hostile/"

// observedCIDR is the one external address the hostile inputs show
// frontend calling (TCP 443).
const observedCIDR = "93.184.216.34/32"

// TestHostileCorpus runs `generate` (Learn + RenderWith, as the CLI does)
// over each attack input of testdata/hostile in every flavor and checks
// what a reviewer of the PR would: the run refuses the input with an error
// naming the file, or the tree admits nothing beyond what was observed —
// no egress to 0.0.0.0/0 or to any address but the observed one, frontend
// may not reach 8.8.8.8:22 or 169.254.169.254:80, and the observed rule
// keeps its port.
func TestHostileCorpus(t *testing.T) {
	for _, in := range []struct {
		file    string
		refused string // in the error; "" = generated
	}{
		{"dns-newline-hubble.jsonl", ""},
		{"dns-newline-calico.log", ""},
		{"graph-newline-names.json", ""},
		{"graph-newline-identity.json", "graph-newline-identity.json: node 1"},
	} {
		for _, fl := range []string{"k8s", "cilium", "calico"} {
			t.Run(in.file+"/"+fl, func(t *testing.T) {
				g, _, err := pipeline.Learn(context.Background(), []string{hostileDir + in.file}, pipeline.LearnOptions{}, nil)
				if in.refused != "" {
					if err == nil || !strings.Contains(err.Error(), in.refused) || strings.Contains(err.Error(), "\n") {
						t.Fatalf("err = %v, want a one-line refusal naming %q", err, in.refused)
					}
					return
				}
				if err != nil {
					t.Fatalf("learn: %v", err)
				}
				if len(g.Edges) != 1 {
					t.Fatalf("learned %d edges, want frontend -> %s", len(g.Edges), observedCIDR)
				}
				_, tree := renderFormat(t, g, fl, pipeline.FormatterOptions{}, synth.Options{})
				for _, p := range tree.Paths() {
					if strings.HasSuffix(p, ".yaml") && strings.Contains(string(tree[p]), "\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0") {
						t.Errorf("%s: the attack text is in the file as YAML", p)
					}
				}
				cidrs := egressCIDRs(t, fl, tree)
				if !slices.Equal(cidrs, []string{observedCIDR}) {
					t.Errorf("egress CIDRs of the tree: %q, want only %s", cidrs, observedCIDR)
				}
				if fl == "k8s" {
					checkK8sAdmits(t, tree)
				}
			})
		}
	}
}

// egressCIDRs decodes the tree's namespace policies and returns every
// address an egress allow rule names (sorted, deduplicated).
func egressCIDRs(t testing.TB, flavor string, tree output.Tree) []string {
	t.Helper()
	var objs []any
	for _, p := range tree.Paths() {
		if !strings.HasSuffix(p, ".yaml") || strings.HasPrefix(p, output.ClusterDir+"/") || strings.HasSuffix(p, "/kustomization.yaml") {
			continue
		}
		var err error
		switch flavor {
		case "k8s":
			var nps []*networkingv1.NetworkPolicy
			nps, err = k8s.Decode(p, tree[p])
			for _, np := range nps {
				objs = append(objs, np)
			}
		case "cilium":
			var cs []*cilium.Object
			cs, err = cilium.Decode(p, tree[p])
			for _, o := range cs {
				objs = append(objs, o)
			}
		case "calico":
			var cs []*caliout.Object
			cs, err = caliout.Decode(p, tree[p])
			for _, o := range cs {
				objs = append(objs, o)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return allowedEgress(objs)
}

// allowedEgress returns every address an egress allow rule of the objects
// names (sorted, deduplicated); a rule that admits any destination is
// "any destination", the world entity "entity world".
func allowedEgress(objs []any) []string {
	var out []string
	for _, obj := range objs {
		switch o := obj.(type) {
		case *networkingv1.NetworkPolicy:
			for _, r := range o.Spec.Egress {
				if len(r.To) == 0 {
					out = append(out, "any destination")
				}
				for _, pe := range r.To {
					if pe.IPBlock != nil {
						out = append(out, pe.IPBlock.CIDR)
					}
				}
			}
		case *cilium.Object:
			rules := o.Specs
			if o.Spec != nil {
				rules = append(rules, *o.Spec)
			}
			for _, r := range rules {
				for _, e := range r.Egress {
					out = append(out, e.ToCIDR...)
					for _, c := range e.ToCIDRSet {
						out = append(out, c.CIDR)
					}
					for _, ent := range e.ToEntities {
						if ent == cilium.EntityWorld || ent == "all" {
							out = append(out, "entity "+ent)
						}
					}
				}
			}
		case *caliout.Object:
			spec, ok := o.Spec.(*caliout.PolicySpec)
			if !ok {
				continue
			}
			for _, r := range spec.Egress {
				if r.Action != caliout.ActionAllow {
					continue
				}
				if r.Destination == nil || (len(r.Destination.Nets) == 0 && r.Destination.Selector == "") {
					out = append(out, "any destination")
					continue
				}
				out = append(out, r.Destination.Nets...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkK8sAdmits replays frontend's calls against the k8s tree with the
// verifier.
func checkK8sAdmits(t *testing.T, tree output.Tree) {
	t.Helper()
	eng := engineOf(t, withoutCluster(tree), verifier.Options{CNI: verifier.CNIKubernetes})
	frontend := verifier.Peer{IsPod: true, Namespace: "shop", Labels: map[string]string{"app": "frontend"},
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}, IP: netip.MustParseAddr("10.244.1.24")}
	for _, c := range []struct {
		ip   string
		port int32
		want bool
	}{
		{"93.184.216.34", 443, true},
		{"93.184.216.34", 22, false},
		{"8.8.8.8", 22, false},
		{"169.254.169.254", 80, false},
		{"1.1.1.1", 443, false},
	} {
		tr := verifier.Traffic{Src: frontend, Dst: verifier.Peer{IP: netip.MustParseAddr(c.ip)}, Protocol: corev1.ProtocolTCP, Port: c.port}
		if got := eng.Verdict(tr) == verifier.Allowed; got != c.want {
			t.Errorf("frontend -> %s:%d admitted = %v, want %v", c.ip, c.port, got, c.want)
		}
	}
}

func withoutCluster(t output.Tree) output.Tree {
	out := output.Tree{}
	for p, b := range t {
		if !strings.HasPrefix(p, output.ClusterDir+"/") {
			out[p] = b
		}
	}
	return out
}

// TestLookAlikeWorkloadsGenerate: workloads named a.b and a-b (and a
// Cyrillic look-alike of a third) in one namespace render in every flavor
// — each with its own policy files, which the self-check and the
// integrity check accept — where before they shared one file.
func TestLookAlikeWorkloadsGenerate(t *testing.T) {
	g := learner.NewGraph()
	ext := &learner.Node{ID: "ip:93.184.216.34", Kind: learner.NodeExternal, Entity: "world", IP: "93.184.216.34"}
	g.Nodes[ext.ID] = ext
	for i, name := range []string{"a.b", "a-b", "front-nd", "frontеnd"} {
		n := &learner.Node{ID: "pod:shop/" + name, Kind: learner.NodeWorkload, Namespace: "shop", Name: name, WorkloadKind: learner.KindDeployment,
			Labels: map[string]string{"app": "w" + string(rune('a'+i))}, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}}
		n.LabelSets = []map[string]string{n.Labels}
		g.Nodes[n.ID] = n
		e := &learner.Edge{Src: n.ID, Dst: ext.ID, Proto: "TCP", Port: uint16(440 + i), Flows: 1}
		g.Edges[e.Key()] = e
	}
	for _, fl := range []string{"k8s", "cilium", "calico"} {
		set, tree := renderFormat(t, g, fl, pipeline.FormatterOptions{}, synth.Options{})
		if err := pipeline.SelfCheck(g, set, withoutCluster(tree)); fl == "k8s" && err != nil {
			t.Errorf("self-check: %v", err)
		}
		var egress []string
		for _, p := range tree.Paths() {
			if strings.HasPrefix(p, "shop/") && strings.HasSuffix(p, "-egress.yaml") {
				egress = append(egress, p)
			}
		}
		if len(egress) != 4 {
			t.Errorf("%s: egress files %q, want one per workload", fl, egress)
		}
		if !strings.Contains(string(tree["shop/FLOWS.md"]), "share the policy name") {
			t.Errorf("%s: FLOWS.md does not say the names were disambiguated", fl)
		}
		if n := len(findingsOfKind(set.Findings, synth.FindPolicyName)); n != 4 {
			t.Errorf("%s: %d policy-name findings, want 4", fl, n)
		}
	}
}

func findingsOfKind(fs []policy.Finding, kind string) []policy.Finding {
	var out []policy.Finding
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}
