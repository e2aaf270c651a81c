package diffcheck

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// Diff is what changed between a new observation and the committed state:
// a policy tree (undocumented flows, stale rules), a baseline graph (new
// and vanished edges), or both.
type Diff struct {
	WindowStart time.Time
	WindowEnd   time.Time
	// Policies is the tree's directory ("" without --policies); Baseline
	// the baseline graph file ("" without --baseline).
	Policies string
	Baseline string
	// Verification is the replay against the tree (nil without a tree).
	Verification *Verification
	// Undocumented are observed request edges the tree does not document:
	// denied by it, or touching an application namespace it has no
	// policy for (Outcome Denied or Uncovered).
	Undocumented []Flow
	Stale        []StaleRule
	// NewEdges are in the observation and not in the baseline; Vanished
	// in the baseline and not observed now (by edge key, both graphs made
	// canonical).
	NewEdges      []Flow
	VanishedEdges []Flow
	// Namespaces count the findings per namespace, sorted by name; "" is
	// for edges between peers that are not pods.
	Namespaces []NamespaceDiff
}

// NamespaceDiff counts one namespace's findings.
type NamespaceDiff struct {
	Namespace     string `json:"namespace"`
	Undocumented  int    `json:"undocumented"`
	Stale         int    `json:"staleRules"`
	NewEdges      int    `json:"newEdges"`
	VanishedEdges int    `json:"vanishedEdges"`
}

// Found reports whether there is something new: undocumented flows or new
// edges (the exit code 3 of diff).
func (d *Diff) Found() bool { return len(d.Undocumented) > 0 || len(d.NewEdges) > 0 }

// Totals sums the per-namespace counts, counting each flow, rule and edge
// once (a flow can belong to two namespaces).
func (d *Diff) Totals() NamespaceDiff {
	return NamespaceDiff{Undocumented: len(d.Undocumented), Stale: len(d.Stale), NewEdges: len(d.NewEdges), VanishedEdges: len(d.VanishedEdges)}
}

// Compare diffs the observation obs against the policy tree of c (when c is
// not nil) and against the baseline graph (when not nil). baselineName
// names the baseline in the report; scope (the generator's namespace
// settings) decides under which namespaces an edge is listed.
func Compare(obs *learner.Graph, c *Checker, baseline *learner.Graph, baselineName string, scope synth.Options) (*Diff, error) {
	obs = canonical(obs)
	d := &Diff{WindowStart: obs.First.UTC(), WindowEnd: obs.Last.UTC()}
	if c != nil {
		d.Policies = c.tree.Dir
		d.Verification = c.replay(obs)
		d.Undocumented = append(slices.Clone(d.Verification.Denied), d.Verification.Uncovered...)
		slices.SortFunc(d.Undocumented, CompareFlows)
		stale, err := c.StaleRules(obs)
		if err != nil {
			return nil, err
		}
		d.Stale = stale
	}
	if baseline != nil {
		d.Baseline = baselineName
		base := canonical(baseline)
		d.NewEdges = edgesNotIn(obs, base, scope)
		d.VanishedEdges = edgesNotIn(base, obs, scope)
	}
	d.Namespaces = d.countNamespaces()
	return d, nil
}

// edgesNotIn returns the learned edges of a whose key is not a learned edge
// of b, sorted, each with the namespaces it is listed under: the
// application namespaces it touches (whose policies it concerns), else the
// system namespaces it touches (kube-system/coredns calling upstream DNS).
func edgesNotIn(a, b *learner.Graph, scope synth.Options) []Flow {
	var out []Flow
	for _, e := range learner.SortedEdges(a.Edges) {
		if _, ok := b.Edges[e.Key()]; ok {
			continue
		}
		f := newFlow(a, e)
		var app, all []string
		for _, ns := range []string{f.SrcNamespace, f.DstNamespace} {
			if ns == "" {
				continue
			}
			all = append(all, ns)
			if synth.IsApplicationNamespace(ns, scope) {
				app = append(app, ns)
			}
		}
		if len(app) == 0 {
			app = all
		}
		f.Namespaces = sortedUnique(app)
		out = append(out, f)
	}
	return out
}

// flowNamespaces returns where a flow is listed: its namespaces, or "" when
// it touches no pod.
func flowNamespaces(f *Flow) []string {
	if len(f.Namespaces) == 0 {
		return []string{""}
	}
	return f.Namespaces
}

func (d *Diff) countNamespaces() []NamespaceDiff {
	m := map[string]*NamespaceDiff{}
	get := func(ns string) *NamespaceDiff {
		if m[ns] == nil {
			m[ns] = &NamespaceDiff{Namespace: ns}
		}
		return m[ns]
	}
	for i := range d.Undocumented {
		for _, ns := range flowNamespaces(&d.Undocumented[i]) {
			get(ns).Undocumented++
		}
	}
	for _, s := range d.Stale {
		get(s.Namespace).Stale++
	}
	for i := range d.NewEdges {
		for _, ns := range flowNamespaces(&d.NewEdges[i]) {
			get(ns).NewEdges++
		}
	}
	for i := range d.VanishedEdges {
		for _, ns := range flowNamespaces(&d.VanishedEdges[i]) {
			get(ns).VanishedEdges++
		}
	}
	out := make([]NamespaceDiff, 0, len(m))
	for _, ns := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[ns])
	}
	return out
}

// InNamespace returns the flows listed under namespace ns.
func InNamespace(flows []Flow, ns string) []Flow {
	var out []Flow
	for i := range flows {
		if slices.Contains(flowNamespaces(&flows[i]), ns) {
			out = append(out, flows[i])
		}
	}
	return out
}

// StaleInNamespace returns the stale rules of namespace ns.
func StaleInNamespace(rules []StaleRule, ns string) []StaleRule {
	var out []StaleRule
	for _, r := range rules {
		if r.Namespace == ns {
			out = append(out, r)
		}
	}
	return out
}

// Renderer synthesises and renders the whole tree for a graph in the
// tree's flavor with its generator settings, checked as generate checks it
// (pipeline.RenderWith), the tree's state directory included
// (output.GraphFile, output.SettingsFile).
type Renderer func(g *learner.Graph) (*policy.Set, output.Tree, error)

// UpdateResult is what Update wrote.
type UpdateResult struct {
	Graph *learner.Graph
	Set   *policy.Set
	Tree  output.Tree
}

// Update merges the observation obs into the committed graph (the graph the
// tree in dir was generated from: its output.GraphFile, or a graph file
// kept beside it), regenerates the tree from the merged graph (render,
// which holds the tree's flavor and settings), writes it to dir
// (atomically, replacing only a tree flowfence wrote) and then, when
// graphPath is not empty, the merged graph to graphPath (atomically). The
// new tree admits everything observed in either, so a second diff of the
// same observation finds nothing new (bar flows flowfence never admits:
// cloud metadata calls, unselectable workloads). learnDropped re-judges
// denied attempts as learn does.
func Update(render Renderer, committed, obs *learner.Graph, learnDropped bool, dir, graphPath string) (*UpdateResult, error) {
	merged := learner.NewGraph()
	merged.Merge(committed)
	merged.Merge(obs)
	merged.Judge(learnDropped)
	set, tree, err := render(merged)
	if err != nil {
		return nil, fmt.Errorf("--update: regenerate %s: %w", dir, err)
	}
	if err := output.WriteTree(dir, tree); err != nil {
		return nil, fmt.Errorf("--update: rewrite --policies %s: %w", dir, err)
	}
	if graphPath == "" {
		return &UpdateResult{Graph: merged, Set: set, Tree: tree}, nil
	}
	if err := learner.WriteGraphFile(graphPath, merged); err != nil {
		return nil, fmt.Errorf("--update: --graph %s (the tree in %s is already updated; rerun to write the graph): %w", graphPath, dir, err)
	}
	return &UpdateResult{Graph: merged, Set: set, Tree: tree}, nil
}
