package synth

import (
	"maps"
	"testing"

	"github.com/flowfence/flowfence/learner"
)

// wl is a workload node of namespace ns whose pods carry the label sets
// (common labels: their intersection).
func wl(ns, name string, sets ...map[string]string) *learner.Node {
	n := &learner.Node{ID: "pod:" + ns + "/" + name, Kind: learner.NodeWorkload, Namespace: ns, Name: name, WorkloadKind: learner.KindDeployment}
	for i, s := range sets {
		if i == 0 {
			n.Labels = maps.Clone(s)
		} else {
			for k, v := range n.Labels {
				if s[k] != v {
					delete(n.Labels, k)
				}
			}
		}
		n.LabelSets = append(n.LabelSets, maps.Clone(s))
	}
	return n
}

func TestSelectorFor(t *testing.T) {
	type L = map[string]string
	pg := func(instance string) L {
		return L{"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "primary"}
	}
	reviews := func(v string) L { return L{"app": "reviews", "version": v} }
	tests := []struct {
		name   string
		w      *learner.Node
		others []*learner.Node
		want   L
		wantOK bool
	}{
		{
			name:   "prefers app.kubernetes.io/name",
			w:      wl("shop", "web", L{"app.kubernetes.io/name": "web", "app": "frontend", "tier": "web", "k8s-app": "web"}),
			others: []*learner.Node{wl("shop", "api", L{"app.kubernetes.io/name": "api", "app": "backend", "tier": "api"})},
			want:   L{"app.kubernetes.io/name": "web"}, wantOK: true,
		},
		{
			name:   "then app before the other keys",
			w:      wl("shop", "web", L{"tier": "web", "app": "web", "component": "ui", "name": "web"}),
			others: []*learner.Node{wl("shop", "api", L{"tier": "api", "app": "api"})},
			want:   L{"app": "web"}, wantOK: true,
		},
		{
			name: "a workload alone in its namespace",
			w:    wl("shop", "web", L{"app": "web", "team": "a"}),
			want: L{"app": "web"}, wantOK: true,
		},
		{
			name:   "adds app.kubernetes.io/instance when the name is shared",
			w:      wl("data", "orders-db", pg("orders")),
			others: []*learner.Node{wl("data", "billing-db", pg("billing"))},
			want:   L{"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "orders"}, wantOK: true,
		},
		{
			name: "instance alone never selects when the name is there",
			w:    wl("data", "orders-db", pg("orders")),
			others: []*learner.Node{
				wl("data", "billing-db", pg("billing")),
				wl("data", "orders-api", L{"app.kubernetes.io/name": "orders-api", "app.kubernetes.io/instance": "orders"}),
			},
			want: L{"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "orders"}, wantOK: true,
		},
		{
			name: "version only when nothing else separates, and with the app",
			w:    wl("bookinfo", "reviews-v1", reviews("v1")),
			others: []*learner.Node{
				wl("bookinfo", "reviews-v2", reviews("v2")),
				wl("bookinfo", "reviews-v3", reviews("v3")),
			},
			want: L{"app": "reviews", "version": "v1"}, wantOK: true,
		},
		{
			name: "version-like keys are not used when another key separates",
			w:    wl("bookinfo", "reviews", L{"app": "reviews", "version": "v1", "helm.sh/chart": "reviews-1.0"}),
			others: []*learner.Node{
				wl("bookinfo", "ratings", L{"app": "ratings", "version": "v1", "helm.sh/chart": "ratings-1.0"}),
			},
			want: L{"app": "reviews"}, wantOK: true,
		},
		{
			// the name says siblings exist (redis-cart-v2…) that share app:
			// app alone would select them once they run
			name:   "the label the workload's name says tells it from its siblings",
			w:      wl("shop", "redis-cart-v1", L{"app": "redis-cart", "version": "v1"}),
			others: []*learner.Node{wl("shop", "frontend", L{"app": "frontend", "version": "v1"})},
			want:   L{"app": "redis-cart", "version": "v1"}, wantOK: true,
		},
		{
			name: "the identifying label plus a qualifier, never the qualifier alone",
			w:    wl("default", "kapinger", L{"app": "kapinger", "server": "good"}),
			others: []*learner.Node{
				wl("default", "kapinger-bad", L{"app": "kapinger", "server": "bad"}),
			},
			want: L{"app": "kapinger", "server": "good"}, wantOK: true,
		},
		{
			name: "two workloads share app and differ by instance",
			w:    wl("shop", "web-blue", L{"app": "web", "app.kubernetes.io/instance": "blue", "tier": "frontend"}),
			others: []*learner.Node{
				wl("shop", "web-green", L{"app": "web", "app.kubernetes.io/instance": "green", "tier": "frontend"}),
			},
			want: L{"app": "web", "app.kubernetes.io/instance": "blue"}, wantOK: true,
		},
		{
			name: "separates from every pod of the other workload, not just its common labels",
			w:    wl("shop", "web", L{"app": "shop", "role": "web"}),
			others: []*learner.Node{
				// api's common labels lack role, but one of its pods has role=web
				wl("shop", "api", L{"app": "shop", "role": "web", "tier": "api"}, L{"app": "shop", "tier": "api"}),
			},
			want: L{"app": "shop", "role": "web"}, wantOK: false,
		},
		{
			name: "never a pod-specific key, even from a graph that stored one",
			w:    wl("shop", "web", L{"app": "shop", "pod-template-hash": "5b8c7d9f4", "controller-revision-hash": "1", "statefulset.kubernetes.io/pod-name": "web-0"}),
			others: []*learner.Node{
				wl("shop", "api", L{"app": "shop", "pod-template-hash": "7d9f8c6b5", "controller-revision-hash": "2", "statefulset.kubernetes.io/pod-name": "api-0"}),
			},
			want: L{"app": "shop"}, wantOK: false,
		},
		{
			name: "never Cilium's synthetic keys",
			w: wl("shop", "web", L{"app": "shop", "io.cilium.k8s.policy.serviceaccount": "web",
				"io.kubernetes.pod.namespace": "shop", "io.cilium.k8s.policy.cluster": "default"}),
			others: []*learner.Node{wl("shop", "api", L{"app": "shop", "io.cilium.k8s.policy.serviceaccount": "api"})},
			want:   L{"app": "shop"}, wantOK: false,
		},
		{
			name: "only synthetic keys: cannot be selected (an empty selector would pick every pod)",
			w:    wl("shop", "web", L{"io.cilium.k8s.policy.serviceaccount": "web", "pod-template-hash": "5b8c7d9f4"}),
			want: nil, wantOK: false,
		},
		{
			name:   "no labels",
			w:      wl("shop", "web"),
			others: []*learner.Node{wl("shop", "api", L{"app": "api"})},
			want:   nil, wantOK: false,
		},
		{
			name:   "identical labels for two workloads",
			w:      wl("shop", "web", L{"app": "shop", "tier": "x"}),
			others: []*learner.Node{wl("shop", "api", L{"app": "shop", "tier": "x"})},
			want:   L{"app": "shop", "tier": "x"}, wantOK: false,
		},
		{
			name:   "another workload without labels does not block",
			w:      wl("shop", "web", L{"app": "web"}),
			others: []*learner.Node{wl("shop", "masked")},
			want:   L{"app": "web"}, wantOK: true,
		},
		{
			name: "needs two plain keys",
			w:    wl("shop", "web", L{"app": "shop", "tier": "web"}),
			others: []*learner.Node{
				wl("shop", "api", L{"app": "shop", "tier": "api"}),
				wl("other", "web", L{"app": "other", "tier": "web"}),
			},
			want: L{"app": "shop", "tier": "web"}, wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			others := append([]*learner.Node{tt.w}, tt.others...)
			got, ok := selectorFor(tt.w, others)
			if ok != tt.wantOK || !maps.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Fatalf("selectorFor = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
			for k := range got {
				if learner.IsPodSpecificLabel(k) {
					t.Errorf("selects on pod-specific key %q", k)
				}
			}
			if !ok {
				return
			}
			// what a user checks: it selects every pod of the workload and
			// no pod of another workload
			for _, s := range tt.w.LabelSets {
				if !selects(got, s) {
					t.Errorf("selector %v misses a pod with labels %v", got, s)
				}
			}
			for _, o := range tt.others {
				for _, s := range o.LabelSets {
					if selects(got, s) {
						t.Errorf("selector %v also selects %s's pod %v", got, o.Name, s)
					}
				}
			}
		})
	}
}

// selects reports whether matchLabels sel selects a pod with labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestSelectorsArePerNamespace(t *testing.T) {
	// a look-alike workload (same labels) in another namespace must not
	// make the selector ambiguous or longer
	g := newGraph()
	web := g.workload("shop", "web", map[string]string{"app": "web", "tier": "frontend"})
	other := g.workload("staging", "web", map[string]string{"app": "web", "tier": "frontend"})
	api := g.workload("shop", "api", map[string]string{"app": "api"})
	g.edge(web, api, tcp(8080), 50, 0, 1)
	g.edge(other, api, tcp(8080), 50, 0, 1)
	set := synthesize(t, g, Options{})
	p := policyOf(t, set, "shop", "web-egress")
	if want := map[string]string{"app": "web"}; !maps.Equal(p.Subject, want) {
		t.Errorf("subject %v, want %v", p.Subject, want)
	}
	for _, f := range set.Findings {
		if f.Kind == "selector" {
			t.Errorf("unexpected selector finding %+v", f)
		}
	}
}
