package synth

import (
	"maps"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/learner"
)

// preferredKeys are tried first, in this order (docs/DESIGN.md "Selectors").
func preferredKeys() []string {
	return []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app", "k8s-app", "name", "component",
		"app.kubernetes.io/component", "app.kubernetes.io/part-of"}
}

// isVersionLike reports keys used only when nothing else separates workloads.
func isVersionLike(k string) bool {
	switch k {
	case "app.kubernetes.io/version", "version", "helm.sh/chart", "chart", "release", "heritage", "app.kubernetes.io/managed-by":
		return true
	}
	return false
}

// maxSubset bounds the selector search (subsets of up to this many keys).
const maxSubset = 3

// identifyingKeys name what a workload is, in order: a selector always
// includes the first one a workload has, so that it can never pick a pod of
// another application that happens to share a qualifier (server: good,
// tier: web).
func identifyingKeys() []string {
	return []string{keyName, "app", "k8s-app", "name"}
}

// selectorFor returns the smallest set of w's common labels that selects all
// of its pods and no pod of any other workload known in the namespace
// (others: every workload of the window), built from the workload's
// identifying label (app.kubernetes.io/name, app, k8s-app, name: the first
// it has) plus the fewest qualifiers that separate it, preferring
// app.kubernetes.io/instance and component. A version-like key only
// qualifies, and only when nothing else separates — or when the
// workload's name says it is one of several siblings that label tells
// apart (redis-cart-v1 with app=redis-cart, version=v1: siblings the
// window did not see share app). ok is false when no subset of its labels
// separates it (all its usable labels are returned then, and the caller
// reports it). A workload with no usable label gets nil: an empty
// selector would select every pod of the namespace.
func selectorFor(w *learner.Node, others []*learner.Node) (map[string]string, bool) {
	keys := orderedKeys(w.Labels)
	if len(keys) == 0 {
		return nil, false
	}
	separates := func(sel []string) bool {
		for _, o := range others {
			if o.ID == w.ID {
				continue
			}
			sets := o.LabelSets
			if len(sets) == 0 {
				// no labels known for it: only its common labels (if any) speak
				if len(o.Labels) == 0 {
					continue
				}
				sets = []map[string]string{o.Labels}
			}
			for _, s := range sets {
				if matches(sel, w.Labels, s) {
					return false
				}
			}
		}
		return true
	}
	var anchor []string // the identifying key, and the label the name says tells siblings apart
	for _, k := range identifyingKeys() {
		if _, ok := w.Labels[k]; ok && !isSyntheticKey(k) {
			anchor = append(anchor, k)
			if sib := siblingKey(w, k, keys); sib != "" {
				anchor = append(anchor, sib)
			}
			break
		}
	}
	// qualifier pools: first without version-like keys, then with them
	var plain, all []string
	for _, k := range keys {
		if slices.Contains(anchor, k) {
			continue
		}
		all = append(all, k)
		if !isVersionLike(k) {
			plain = append(plain, k)
		}
	}
	for _, pool := range [][]string{plain, all} {
		if len(pool) > 12 {
			pool = pool[:12]
		}
		acceptable := func(q []string) bool {
			// without an identifying key, a version-like key only
			// qualifies another
			if len(anchor) == 0 && len(plain) > 0 && !slices.ContainsFunc(q, func(k string) bool { return !isVersionLike(k) }) {
				return false
			}
			return separates(append(slices.Clone(anchor), q...))
		}
		start := 0
		if len(anchor) == 0 {
			start = 1
		}
		for size := start; size <= min(maxSubset-min(len(anchor), maxSubset-1), len(pool)); size++ {
			if size == 0 {
				if acceptable(nil) {
					return pick(w.Labels, anchor), true
				}
				continue
			}
			if q := firstSubset(pool, size, acceptable); q != nil {
				return pick(w.Labels, append(slices.Clone(anchor), q...)), true
			}
		}
	}
	return pick(w.Labels, keys), separates(keys)
}

// siblingKey is the label that tells a workload from the siblings its name
// says it has: a workload named <value of its identifying key>-<suffix>
// (redis-cart-v1 for app=redis-cart) whose label of value <suffix>
// (version=v1) separates it from them, seen in the window or not. "" when
// the name says nothing of siblings, or no label carries the suffix.
func siblingKey(w *learner.Node, id string, keys []string) string {
	v := w.Labels[id]
	suffix, ok := strings.CutPrefix(w.Name, v+"-")
	if !ok || v == "" || suffix == "" {
		return ""
	}
	for _, k := range keys {
		if k != id && w.Labels[k] == suffix {
			return k
		}
	}
	return ""
}

// Recommended labels (app.kubernetes.io/*) that select together.
const (
	keyName     = "app.kubernetes.io/name"
	keyInstance = "app.kubernetes.io/instance"
)

// isSyntheticKey reports keys that are not the pod's own selectable labels:
// Cilium's synthetic identity keys and, for graphs written by other tools
// or versions, the pod-specific keys the learner never stores.
func isSyntheticKey(k string) bool {
	return strings.HasPrefix(k, "io.cilium") || strings.HasPrefix(k, "io.kubernetes.pod.") || learner.IsPodSpecificLabel(k)
}

func pick(labels map[string]string, keys []string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = labels[k]
	}
	return out
}

// matches reports whether a pod with labels set would be selected by the
// keys sel (values from w).
func matches(sel []string, w, set map[string]string) bool {
	for _, k := range sel {
		if v, ok := set[k]; !ok || v != w[k] {
			return false
		}
	}
	return true
}

// firstSubset enumerates subsets of pool of the given size in
// lexicographic order of positions and returns the first that ok accepts.
func firstSubset(pool []string, size int, ok func([]string) bool) []string {
	idx := make([]int, size)
	for i := range idx {
		idx[i] = i
	}
	cur := make([]string, size)
	for {
		for i, j := range idx {
			cur[i] = pool[j]
		}
		if ok(cur) {
			return slices.Clone(cur)
		}
		i := size - 1
		for i >= 0 && idx[i] == len(pool)-size+i {
			i--
		}
		if i < 0 {
			return nil
		}
		idx[i]++
		for j := i + 1; j < size; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

// orderedKeys returns label keys in preference order: well-known keys, then
// the rest alphabetically, version-like keys last.
func orderedKeys(labels map[string]string) []string {
	var out []string
	for _, k := range preferredKeys() {
		if _, ok := labels[k]; ok && !isSyntheticKey(k) {
			out = append(out, k)
		}
	}
	var rest, version []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if slices.Contains(out, k) {
			continue
		}
		if isVersionLike(k) {
			version = append(version, k)
		} else if !isSyntheticKey(k) {
			rest = append(rest, k)
		}
	}
	return append(append(out, rest...), version...)
}
