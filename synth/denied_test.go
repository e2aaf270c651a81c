package synth

import (
	"strings"
	"testing"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
)

// TestDeniedFindingsNameThePolicies: what a user reads of connections that
// existing policies denied — a denied attempt counted by its drops, and a
// learned edge some of whose connections were denied — with the policies
// the flow sources named, and only for edges that touch an application
// namespace.
func TestDeniedFindingsNameThePolicies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		learned  bool
		flows    uint64
		dropped  uint64
		by       []learner.Denial
		srcNS    string
		kind     string
		wantNS   string
		wantWL   string
		wantText string
	}{
		{name: "denied attempt, one policy", dropped: 50, by: []learner.Denial{{Policy: "shop/default.deny-web", Flows: 50}},
			kind: policy.FindDenied, wantNS: "shop", wantWL: "web", wantText: "dropped by existing policy shop/default.deny-web and never answered"},
		{name: "denied attempt, no name", flows: 3, dropped: 3,
			kind: policy.FindDenied, wantNS: "shop", wantWL: "web", wantText: "dropped by an existing policy (the flow source did not name it)"},
		{name: "learned edge, one policy", learned: true, flows: 30, dropped: 20, by: []learner.Denial{{Policy: "data/default.deny-db", Flows: 20}},
			kind: policy.FindDeniedAdmitted, wantNS: "shop", wantWL: "web",
			wantText: "shop/web -> data/db TCP/5432: existing policy data/default.deny-db denied 20 connections of an edge the tree now admits (30 flowed)"},
		{name: "learned edge, two policies and unnamed drops", learned: true, flows: 5, dropped: 9,
			by:   []learner.Denial{{Policy: "a.deny", Flows: 2}, {Policy: "data/b.deny", Flows: 3}},
			kind: policy.FindDeniedAdmitted, wantNS: "shop", wantWL: "web",
			wantText: "existing policies a.deny (2), data/b.deny (3), policies not named by the flow source (4) denied 9 connections"},
		{name: "learned edge from a system namespace: the callee's namespace", learned: true, srcNS: "kube-system", flows: 1, dropped: 1,
			kind: policy.FindDeniedAdmitted, wantNS: "data", wantWL: "db", wantText: "kube-system/web -> data/db TCP/5432: an existing policy (the flow source did not name it) denied 1 connection of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			ns := tc.srcNS
			if ns == "" {
				ns = "shop"
			}
			web := g.workload(ns, "web", webSel)
			db := g.workload("data", "db", map[string]string{"app": "db"})
			e := &learner.Edge{Src: web, Dst: db, Proto: "TCP", Port: 5432, Flows: tc.flows, Dropped: tc.dropped, DeniedBy: tc.by,
				FirstSeen: t0, LastSeen: t0, Answered: tc.learned}
			if tc.learned {
				g.Edges[e.Key()] = e
			} else {
				g.Denied[e.Key()] = e
			}
			set := synthesize(t, g, Options{})
			fs := findingsOf(set, tc.kind)
			if len(fs) != 1 {
				t.Fatalf("%d %s findings, want 1: %+v", len(fs), tc.kind, set.Findings)
			}
			f := fs[0]
			if f.Namespace != tc.wantNS || f.Workload != tc.wantWL || f.Flows != tc.dropped || !strings.Contains(f.Message, tc.wantText) {
				t.Errorf("finding %+v: want %s/%s, %d flows, saying %q", f, tc.wantNS, tc.wantWL, tc.dropped, tc.wantText)
			}
		})
	}
	// an edge between system namespaces only: no policy of the tree admits it
	g := newGraph()
	a, b := g.workload("kube-system", "a", map[string]string{"app": "a"}), g.workload("kube-system", "b", map[string]string{"app": "b"})
	e := &learner.Edge{Src: a, Dst: b, Proto: "TCP", Port: 80, Flows: 1, Dropped: 1, FirstSeen: t0, LastSeen: t0, Answered: true}
	g.Edges[e.Key()] = e
	if fs := findingsOf(synthesize(t, g, Options{}), policy.FindDeniedAdmitted); len(fs) != 0 {
		t.Errorf("a system-namespace edge was reported as admitted by the tree: %+v", fs)
	}
}
