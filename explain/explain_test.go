package explain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/explain"
	"github.com/flowfence/flowfence/internal/golden"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

const sampleGlob = "../testdata/flows/*.json*"

func learnSample(t testing.TB) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{sampleGlob}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatalf("learn: %v", err)
	}
	return g
}

// explainer generates the sample's tree of one flavor into a temporary
// directory, as flowfence generate does, reads it back and explains it
// with the sample's graph.
func explainer(t testing.TB, g *learner.Graph, flavor string) *explain.Explainer {
	t.Helper()
	return explainerEdited(t, g, flavor, nil)
}

// explainerEdited is explainer with the tree edited before it is written.
func explainerEdited(t testing.TB, g *learner.Graph, flavor string, edit func(output.Tree)) *explain.Explainer {
	t.Helper()
	_, tree, err := pipeline.Render(g, synth.Options{}, flavor)
	if err != nil {
		t.Fatalf("render %s: %v", flavor, err)
	}
	if edit != nil {
		edit(tree)
	}
	dir := filepath.Join(t.TempDir(), "policies")
	if err := output.WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	read, err := diffcheck.ReadTree(dir)
	if err != nil {
		t.Fatalf("read tree: %v", err)
	}
	opts, err := diffcheck.NewOptions(synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := explain.New(read, opts, g, "graph.json")
	if err != nil {
		t.Fatalf("explain.New: %v", err)
	}
	return x
}

// what a flow case checks besides its golden files
type flowWant struct {
	verdict string
	// admitted: a rule of this policy admits the flow, per direction
	egressBy, ingressBy string
	// denied: the nearest rule's policy and what differs, per direction
	egressNearest, ingressNearest string
	egressDiffers, ingressDiffers []string
}

// TestGoldenExplain explains admitted and denied flows and rules of the
// sample's tree in every flavor, in text and JSON, against the goldens
// (make golden rewrites them), and checks what a reviewer reads: the
// verdict, the rule that admits, the nearest rule and what differs, the
// observed flows behind a rule.
func TestGoldenExplain(t *testing.T) {
	g := learnSample(t)
	flows := []struct {
		name string
		arg  string
		want flowWant
	}{
		{"admitted", "shop/frontend -> shop/cart:8080/TCP", flowWant{verdict: "Allowed", egressBy: "shop/frontend-egress", ingressBy: "shop/cart-ingress"}},
		{"admitted-ip", "payments/worker -> 198.51.100.10:443/TCP", flowWant{verdict: "Allowed", egressBy: "payments/worker-egress"}},
		{"denied-port", "shop/cart -> data/redis:6380/TCP", flowWant{verdict: "Denied",
			egressNearest: "shop/cart-egress", egressDiffers: []string{"port"}, ingressNearest: "data/redis-ingress", ingressDiffers: []string{"port"}}},
		{"denied-namespace", "shop-staging/cart -> data/redis:6379/TCP", flowWant{verdict: "Denied",
			ingressNearest: "data/redis-ingress", ingressDiffers: []string{"namespace"}}},
		{"denied-pod-labels", "shop/frontend -> data/postgres:5432/TCP", flowWant{verdict: "Denied",
			ingressNearest: "data/postgres-ingress", ingressDiffers: []string{"pod labels"}}},
	}
	rules := []struct {
		name string
		arg  string
		// an edge each element must show, in element order
		edges []string
	}{
		{"rule-postgres-ingress", "data/postgres-ingress", []string{"payments/api -> data/postgres", "shop/catalog -> data/postgres"}},
		{"rule-worker-egress-ipblock", "payments/worker-egress#egress", nil},
	}
	for _, flavor := range []string{"k8s", "cilium", "calico"} {
		x := explainer(t, g, flavor)
		for _, c := range flows {
			t.Run(flavor+"/"+c.name, func(t *testing.T) {
				r := explained(t, c.arg, explain.ParseFlow, x.Flow)
				checkFlow(t, r, c.want)
				compare(t, flavor+"-"+c.name, r, func(b *bytes.Buffer) error { return explain.FlowText(b, r) })
			})
		}
		for _, c := range rules {
			t.Run(flavor+"/"+c.name, func(t *testing.T) {
				r := explained(t, c.arg, explain.ParseRule, x.Rule)
				if len(r.Elements) == 0 {
					t.Fatal("no element")
				}
				var all []string
				for _, el := range r.Elements {
					if el.Stale || el.Flows == 0 || len(el.Nodes) == 0 || el.FirstSeen == nil {
						t.Errorf("element %s %s: %d flows, stale %v, nodes %v: the sample's tree has no stale rule here", el.Peer, el.Port, el.Flows, el.Stale, el.Nodes)
					}
					for _, e := range el.Edges {
						all = append(all, e.Source+" -> "+e.Destination)
					}
				}
				for _, want := range c.edges {
					if !slices.Contains(all, want) {
						t.Errorf("no element shows %s; edges %v", want, all)
					}
				}
				if c.name == "rule-worker-egress-ipblock" {
					found := false
					for _, el := range r.Elements {
						for _, e := range el.Edges {
							found = found || e.Destination == "198.51.100.10 (api.stripe.com)" && slices.Equal(e.DNSNames, []string{"api.stripe.com"})
						}
					}
					if !found {
						t.Errorf("the stripe ipBlock's flows do not carry its DNS name: %+v", r.Elements)
					}
				}
				compare(t, flavor+"-"+c.name, r, func(b *bytes.Buffer) error { return explain.RuleText(b, r) })
			})
		}
	}
}

// explained parses arg with parse, as the explain verb does, and explains
// the query with answer (an Explainer's Flow or Rule).
func explained[Q, R any](t *testing.T, arg string, parse func(string) (Q, error), answer func(Q) (R, error)) R {
	t.Helper()
	q, err := parse(arg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := answer(q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkFlow(t *testing.T, r *explain.FlowReport, w flowWant) {
	t.Helper()
	if r.Verdict != w.verdict {
		t.Fatalf("verdict %s, want %s (%s)", r.Verdict, w.verdict, r.Reason)
	}
	dir := func(name string, d *explain.Direction, by, nearest string, differs []string) {
		if by != "" {
			ok := false
			for _, a := range d.Admitted {
				ok = ok || a.Policy == by && a.File != ""
			}
			if !ok {
				t.Errorf("%s: not admitted by a rule of %s with its file: %+v", name, by, d.Admitted)
			}
		}
		if nearest == "" {
			return
		}
		if d.Allowed || d.Nearest == nil {
			t.Fatalf("%s: allowed %v, nearest %+v; want a denial near %s", name, d.Allowed, d.Nearest, nearest)
		}
		var what []string
		for _, df := range d.Nearest.Differs {
			what = append(what, df.What)
		}
		if d.Nearest.Policy != nearest || !slices.Equal(what, differs) || d.Nearest.File == "" {
			t.Errorf("%s: nearest %s (%s) differing in %v, want %s differing in %v", name, d.Nearest.Policy, d.Nearest.File, what, nearest, differs)
		}
		if len(d.Policies) == 0 {
			t.Errorf("%s: no selecting policy listed", name)
		}
	}
	dir("egress", &r.Egress, w.egressBy, w.egressNearest, w.egressDiffers)
	dir("ingress", &r.Ingress, w.ingressBy, w.ingressNearest, w.ingressDiffers)
	if w.verdict == "Allowed" && (r.Observed == nil || r.Observed.Flows == 0) {
		t.Errorf("an observed flow without its evidence: %+v", r.Observed)
	}
}

// compare checks the text and JSON renderings against the case's goldens.
func compare(t *testing.T, name string, report any, text func(*bytes.Buffer) error) {
	t.Helper()
	var b bytes.Buffer
	if err := text(&b); err != nil {
		t.Fatal(err)
	}
	js, err := explain.JSON(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil || doc["flowfenceExplain"] != float64(explain.Version) {
		t.Fatalf("JSON document: version %v, %v", doc["flowfenceExplain"], err)
	}
	golden.Compare(t, golden.Dir(t, name), map[string][]byte{"explain.txt": b.Bytes(), "explain.json": js})
}

// TestExplainErrors: a malformed argument, or one naming what the tree or
// the graph does not hold, is an error naming the argument and saying why.
func TestExplainErrors(t *testing.T) {
	g := learnSample(t)
	x := explainer(t, g, "k8s")
	cases := []struct {
		arg  string
		want []string
	}{
		{"shop/frontend -> shop/cart", []string{`FLOW "shop/frontend -> shop/cart"`, "no :PORT"}},
		{"shop/frontend -> shop/cart:99999/TCP", []string{"FLOW", "port \"99999\""}},
		{"shop/frontend -> shop/cart:8080/ICMP", []string{"FLOW", "protocol \"ICMP\""}},
		{"shop/Front_end -> shop/cart:8080/TCP", []string{"FLOW", "source", "workload \"Front_end\""}},
		{"frontend -> shop/cart:8080", []string{"FLOW", "source", "neither ns/workload nor an IP"}},
		{"shop/frontend -> shop/cart:8080 -> x", []string{"FLOW", "more than one '->'"}},
		{"shop/frontend -> shop/nothing:8080/TCP", []string{"FLOW: destination shop/nothing is not a workload of the graph graph.json", "observed there: cart, catalog, frontend, report"}},
		{"shop/frontend#sideways", []string{`RULE "shop/frontend#sideways"`, "ingress or egress"}},
		{"shop/frontend-ingress#ingress x", []string{"RULE", "rule index \"x\""}},
		{"Shop/frontend-ingress", []string{"RULE", "namespace \"Shop\""}},
		{"shop/nothing", []string{"RULE: no policy shop/nothing in", "policies there: shop/allow-dns"}},
		{"shop/frontend-ingress#ingress 7", []string{"RULE: shop/frontend-ingress has no ingress rule 7", "it has 2 ingress allow rules"}},
		{"shop/frontend-ingress#egress", []string{"RULE: shop/frontend-ingress has no egress allow rule"}},
		{"shop/default-deny", []string{"RULE: shop/default-deny", "has no allow rule"}},
		{"shop/frontend-\x1b[31mingress", []string{`RULE "shop/frontend-\x1b[31mingress"`, "not a valid policy name"}},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			var err error
			if explain.IsFlow(c.arg) {
				var q explain.FlowQuery
				if q, err = explain.ParseFlow(c.arg); err == nil {
					_, err = x.Flow(q)
				}
			} else {
				var q explain.RuleQuery
				if q, err = explain.ParseRule(c.arg); err == nil {
					_, err = x.Rule(q)
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\x1b") {
				t.Errorf("error carries a raw escape: %q", err)
			}
		})
	}
}

// TestParse: the accepted spellings of FLOW and RULE.
func TestParse(t *testing.T) {
	flows := []struct {
		arg  string
		want explain.FlowQuery
	}{
		{"shop/frontend -> shop/cart:8080/TCP", explain.FlowQuery{Src: explain.End{Namespace: "shop", Workload: "frontend"}, Dst: explain.End{Namespace: "shop", Workload: "cart"}, Protocol: "TCP", Port: 8080}},
		{"shop/frontend->10.0.0.5:53/udp", explain.FlowQuery{Src: explain.End{Namespace: "shop", Workload: "frontend"}, Dst: explain.End{IP: mustAddr("10.0.0.5")}, Protocol: "UDP", Port: 53}},
		{"203.0.113.50 -> shop/frontend:8080", explain.FlowQuery{Src: explain.End{IP: mustAddr("203.0.113.50")}, Dst: explain.End{Namespace: "shop", Workload: "frontend"}, Protocol: "TCP", Port: 8080}},
		{"shop/frontend -> [2001:db8::1]:443/TCP", explain.FlowQuery{Src: explain.End{Namespace: "shop", Workload: "frontend"}, Dst: explain.End{IP: mustAddr("2001:db8::1")}, Protocol: "TCP", Port: 443}},
	}
	for _, c := range flows {
		got, err := explain.ParseFlow(c.arg)
		if err != nil || got != c.want {
			t.Errorf("ParseFlow(%q) = %+v, %v; want %+v", c.arg, got, err, c.want)
		}
	}
	rules := []struct {
		arg  string
		want explain.RuleQuery
	}{
		{"data/postgres-ingress", explain.RuleQuery{Policy: "data/postgres-ingress", Rule: -1}},
		{"data/postgres-ingress#ingress", explain.RuleQuery{Policy: "data/postgres-ingress", Direction: "ingress", Rule: -1}},
		{"payments/worker-egress#egress 1", explain.RuleQuery{Policy: "payments/worker-egress", Direction: "egress", Rule: 1}},
		{"payments/worker-egress#egress:2", explain.RuleQuery{Policy: "payments/worker-egress", Direction: "egress", Rule: 2}},
		{"payments/worker-egress#egress[0]", explain.RuleQuery{Policy: "payments/worker-egress", Direction: "egress", Rule: 0}},
		{"flowfence-metadata-guard", explain.RuleQuery{Policy: "flowfence-metadata-guard", Rule: -1}},
	}
	for _, c := range rules {
		got, err := explain.ParseRule(c.arg)
		if err != nil || got != c.want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", c.arg, got, err, c.want)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestHostileTreeNamesAreEscaped: a hand-edited Calico tree whose selector
// carries terminal control characters (Calico selectors are free text)
// reaches the terminal escaped, in rule and flow reports.
func TestHostileTreeNamesAreEscaped(t *testing.T) {
	g := learnSample(t)
	x := explainerEdited(t, g, "calico", func(tree output.Tree) {
		const file = "data/postgres-ingress.yaml"
		b := string(tree[file])
		if !strings.Contains(b, "app == 'catalog'") {
			t.Fatalf("%s lacks the catalog selector:\n%s", file, b)
		}
		tree[file] = []byte(strings.Replace(b, "app == 'catalog'", "\"app == 'cat\\e]0;owned\\aalog\\e[2J'\"", 1))
	})
	r := explained(t, "data/postgres-ingress", explain.ParseRule, x.Rule)
	f := explained(t, "shop/frontend -> data/postgres:5432/TCP", explain.ParseFlow, x.Flow)
	var b bytes.Buffer
	if err := explain.RuleText(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := explain.FlowText(&b, f); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("a control character reached the terminal:\n%q", out)
	}
	if !strings.Contains(out, `cat\x1b]0;owned\aalog`) {
		t.Errorf("the hostile selector is not shown escaped:\n%s", out)
	}
}
