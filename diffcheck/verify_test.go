package diffcheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/synth"
)

// TestVerifyGeneratedTreePasses: the tree generate writes for the sample
// admits every observed request; what it must not admit or cannot express
// is counted apart, not as a failure.
func TestVerifyGeneratedTreePasses(t *testing.T) {
	g := learn(t, zeroTime)
	dir := writeTree(t, render(t, g), nil)
	v := diffchecktest.Checker(t, dir, synth.Options{}).Verify(g)
	if v.Failed() {
		t.Fatalf("generated tree denies observed flows:\n%s", join(flowKeys(v.Denied)))
	}
	for _, c := range []struct {
		what string
		got  []diffcheck.Flow
		want []string
	}{
		{"inexpressible", v.Inexpressible, []string{"shop/frontend -> data/redis ICMPv4"}},
		{"guarded", v.Guarded, []string{"payments/fraud -> 169.254.169.254 TCP/80"}},
		{"host", v.Host, []string{"host 10.244.1.1 -> shop/frontend TCP/8080", "host 10.244.2.1 -> shop/frontend TCP/8080", "host 10.244.3.1 -> shop/frontend TCP/8080"}},
		{"denied attempts", v.DeniedAttempts, []string{"shop-staging/frontend -> shop/cart TCP/8080"}},
		{"uncovered", v.Uncovered, []string{}},
	} {
		if got := flowKeys(c.got); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.what, got, c.want)
		}
	}
	cnt := v.Counts
	if cnt.Edges != len(g.Edges) || cnt.Allowed+cnt.Denied+cnt.Host+cnt.Inexpressible+cnt.Guarded+cnt.Uncovered != cnt.Edges || cnt.Allowed < 30 {
		t.Errorf("counts do not add up to the %d edges: %+v", len(g.Edges), cnt)
	}
}

// TestVerifyReportsBrokenTree: a tree with a policy file deleted or a port
// changed fails with exactly the affected flows and the policies involved.
func TestVerifyReportsBrokenTree(t *testing.T) {
	g := learn(t, zeroTime)
	tree := render(t, g)
	type want struct {
		flow              string
		side              string // the direction that denies
		policies, matched []string
	}
	for _, c := range []struct {
		name  string
		edit  func(dir string)
		sopts synth.Options
		want  []want
	}{
		{
			name: "shop/cart-ingress.yaml deleted",
			edit: func(dir string) { remove(t, filepath.Join(dir, "shop", "cart-ingress.yaml")) },
			want: []want{{"shop/frontend -> shop/cart TCP/8080", "ingress", []string{"shop/default-deny"}, nil}},
		},
		{
			name: "data/postgres-ingress port 5432 changed to 5433",
			edit: func(dir string) {
				replaceIn(t, filepath.Join(dir, "data", "postgres-ingress.yaml"), "port: 5432", "port: 5433")
			},
			want: []want{
				{"payments/api -> data/postgres TCP/5432", "ingress", []string{"data/default-deny", "data/postgres-ingress"}, nil},
				{"shop/catalog -> data/postgres TCP/5432", "ingress", []string{"data/default-deny", "data/postgres-ingress"}, nil},
			},
		},
		{
			name: "monitoring/prometheus-egress.yaml deleted: its DNS still works",
			edit: func(dir string) { remove(t, filepath.Join(dir, "monitoring", "prometheus-egress.yaml")) },
			want: []want{
				{"monitoring/prometheus -> shop/frontend TCP/9090", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
				{"monitoring/prometheus -> payments/api TCP/9090", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
				{"monitoring/prometheus -> host 10.0.0.11 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
				{"monitoring/prometheus -> kube-apiserver 10.0.0.1 TCP/6443", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
				{"monitoring/prometheus -> remote-node 10.0.0.12 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
				{"monitoring/prometheus -> remote-node 10.0.0.13 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny"}, nil},
			},
		},
		{
			name:  "the unchanged tree under --cni cilium: ipBlocks match neither nodes nor the API server",
			sopts: synth.Options{CNI: "cilium"},
			want: []want{
				{"kube-apiserver 10.0.0.1 -> payments/api TCP/9443", "ingress", []string{"payments/api-ingress", "payments/default-deny"}, nil},
				{"monitoring/prometheus -> host 10.0.0.11 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny", "monitoring/prometheus-egress"}, nil},
				{"monitoring/prometheus -> kube-apiserver 10.0.0.1 TCP/6443", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny", "monitoring/prometheus-egress"}, nil},
				{"monitoring/prometheus -> remote-node 10.0.0.12 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny", "monitoring/prometheus-egress"}, nil},
				{"monitoring/prometheus -> remote-node 10.0.0.13 TCP/9100", "egress", []string{"monitoring/allow-dns", "monitoring/default-deny", "monitoring/prometheus-egress"}, nil},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, tree, c.edit)
			v := diffchecktest.Checker(t, dir, c.sopts).Verify(g)
			if !v.Failed() || v.Counts.Denied != len(c.want) {
				t.Fatalf("denied %d flows, want %d:\n%s", v.Counts.Denied, len(c.want), join(flowKeys(v.Denied)))
			}
			got := map[string]diffcheck.Flow{}
			for _, f := range v.Denied {
				got[f.Source+" -> "+f.Destination+" "+f.PortString()] = f
			}
			for _, w := range c.want {
				f, ok := got[w.flow]
				if !ok {
					t.Errorf("%s not reported; denied:\n%s", w.flow, join(flowKeys(v.Denied)))
					continue
				}
				side, other := f.Ingress, f.Egress
				if w.side == "egress" {
					side, other = f.Egress, f.Ingress
				}
				if side == nil || side.Allowed || !side.Isolated || !reflect.DeepEqual(side.Policies, w.policies) || len(side.Matched) != 0 {
					t.Errorf("%s: %s side %+v, want isolated by %v and nothing matched", w.flow, w.side, side, w.policies)
				}
				if other == nil || !other.Allowed {
					t.Errorf("%s: the other side should admit it: %+v", w.flow, other)
				}
				if !strings.HasPrefix(f.Reason, "denied:") {
					t.Errorf("%s: reason %q", w.flow, f.Reason)
				}
			}
		})
	}
}

// TestVerifyDeterministic: the replay does not depend on the number of
// workers.
func TestVerifyDeterministic(t *testing.T) {
	g := learn(t, zeroTime)
	dir := writeTree(t, render(t, g), func(dir string) { remove(t, filepath.Join(dir, "shop", "frontend-egress.yaml")) })
	tree, err := diffcheck.ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	var results []*diffcheck.Verification
	for _, w := range []int{1, 3, 16} {
		opts, _ := diffcheck.NewOptions(synth.Options{})
		opts.Workers = w
		c, err := diffcheck.NewChecker(tree, opts)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, c.Verify(g))
	}
	if results[0].Counts.Denied == 0 {
		t.Fatal("fixture should deny something")
	}
	for i := 1; i < len(results); i++ {
		if !reflect.DeepEqual(results[0], results[i]) {
			t.Errorf("replay with different worker counts differs")
		}
	}
}

// TestReadTree: what a policy directory may hold, and the errors a user
// gets for what it must not.
func TestReadTree(t *testing.T) {
	const np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
	pol := func(name, ns string) string { return fmt.Sprintf(np, name, ns) }
	for _, c := range []struct {
		name    string
		files   map[string]string
		want    []string // policy keys
		wantErr []string // substrings of the error
	}{
		{
			name: "recursive, multi-document, kustomization and non-YAML skipped",
			files: map[string]string{
				"shop/a.yaml":              pol("a", "shop"),
				"shop/kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
				"shop/FLOWS.md":            "# not yaml",
				"data/nested/both.yml":     "# header\n" + pol("b", "data") + "---\n# only a comment\n---\n" + pol("c", "data"),
				".flowfence":               "marker",
				".git/config.yaml":         "not: a policy",
				"ROLLOUT.md":               "# rollout",
				"data/Kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
				"monitoring/empty.yaml":    "",
				"monitoring/comments.yaml": "# nothing here\n",
			},
			want: []string{"data/b", "data/c", "shop/a"},
		},
		{
			name:    "malformed YAML names the file and the document",
			files:   map[string]string{"shop/a.yaml": pol("a", "shop") + "---\n" + pol("b", "shop") + "  ingres: []\n"},
			wantErr: []string{filepath.Join("shop", "a.yaml"), "document 2", "ingres"},
		},
		{
			name:    "another kind is an error",
			files:   map[string]string{"shop/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"},
			wantErr: []string{filepath.Join("shop", "svc.yaml"), "document 1", "v1 Service is not a policy flowfence evaluates"},
		},
		{
			name:    "invalid policy (API-server validation)",
			files:   map[string]string{"shop/a.yaml": fmt.Sprintf(np, "Bad_Name", "shop")},
			wantErr: []string{filepath.Join("shop", "a.yaml"), "document 1", "metadata.name"},
		},
		{
			name:    "a policy defined twice names both files",
			files:   map[string]string{"shop/a.yaml": pol("a", "shop"), "shop/z/again.yaml": pol("a", "shop")},
			wantErr: []string{filepath.Join("shop", "z", "again.yaml"), "shop/a is also defined in", filepath.Join("shop", "a.yaml")},
		},
		{
			name:    "no policy at all",
			files:   map[string]string{"shop/kustomization.yaml": "resources: []\n", "README.md": "x"},
			wantErr: []string{"--policies", "no policy found"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, body := range c.files {
				full := filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tree, err := diffcheck.ReadTree(dir)
			if len(c.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one naming %q", c.wantErr)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, np := range tree.Policies {
				got = append(got, diffcheck.PolicyKey(np))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("policies %v, want %v", got, c.want)
			}
			if tree.Files["data/c"] != "data/nested/both.yml" {
				t.Errorf("files: %v", tree.Files)
			}
		})
	}
	if _, err := diffcheck.ReadTree(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "--policies") {
		t.Errorf("missing dir: err = %v, want one naming --policies", err)
	}
}

// TestDeniedAttemptsCountLikeTheSummary: verify counts a denied attempt's
// flows once, as the run summary and ROLLOUT.md do (the sample's
// shop-staging attempts: 12), not its request and its drop twice.
func TestDeniedAttemptsCountLikeTheSummary(t *testing.T) {
	g := learn(t, time.Time{})
	c := diffchecktest.Checker(t, writeTree(t, render(t, g), nil), synth.Options{})
	v := c.Verify(g)
	var flows uint64
	for _, f := range v.DeniedAttempts {
		flows += f.Flows
	}
	if len(v.DeniedAttempts) == 0 || flows != g.Stats.DeniedFlows {
		t.Errorf("verify: %d denied attempts, %d flows; the summary counts %d", len(v.DeniedAttempts), flows, g.Stats.DeniedFlows)
	}
}
