package verifier

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flowfence/flowfence/internal/k8svalid"
)

// compileSelector is metav1.LabelSelectorAsSelector, with a fast Matches
// for the selectors flowfence writes (matchLabels only): a lookup per
// label instead of apimachinery's generic requirement matching, which
// dominates evaluating many flows against many policies. Everything else
// (expressions, String, Requirements) is apimachinery's.
//
// A matchLabels selector whose keys and values all pass apimachinery's
// validation (k8svalid gives its verdicts) is built as
// LabelSelectorAsSelector builds it — one Equals requirement per pair,
// sorted by key — without validating each requirement again.
func compileSelector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil || len(ls.MatchExpressions) > 0 || len(ls.MatchLabels) == 0 || !validPairs(ls.MatchLabels) {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || ls == nil || len(ls.MatchExpressions) > 0 || len(ls.MatchLabels) == 0 {
			return sel, err
		}
		return newMatchLabels(sel, ls.MatchLabels), nil
	}
	return newMatchLabels(labels.SelectorFromValidatedSet(ls.MatchLabels), ls.MatchLabels), nil
}

// validPairs reports label keys and values labels.NewRequirement accepts.
func validPairs(m map[string]string) bool {
	for k, v := range m {
		if !k8svalid.LabelKey(k) || !k8svalid.LabelValue(v) {
			return false
		}
	}
	return true
}

func newMatchLabels(sel labels.Selector, ml map[string]string) matchLabels {
	m := matchLabels{Selector: sel, pairs: make([]labelPair, 0, len(ml))}
	for k, v := range ml {
		m.pairs = append(m.pairs, labelPair{k, v})
	}
	return m
}

type labelPair struct{ key, value string }

// matchLabels is a selector of key=value requirements only.
type matchLabels struct {
	labels.Selector
	pairs []labelPair
}

// Matches reports whether every pair is in l, as the Equals requirements
// of the selector would.
func (m matchLabels) Matches(l labels.Labels) bool {
	for _, p := range m.pairs {
		if v, ok := l.Lookup(p.key); !ok || v != p.value {
			return false
		}
	}
	return true
}

// selectorCache holds the selectors one compile worker made of a single
// matchLabels pair: flowfence's policies repeat a few of them (a
// namespace's name, a workload's label) thousands of times, and a compiled
// selector is immutable, so equal ones are shared. A nil cache compiles
// every selector.
type selectorCache map[labelPair]labels.Selector

// compile is compileSelector(ls), from the cache when it has it.
func (c selectorCache) compile(ls *metav1.LabelSelector) (labels.Selector, error) {
	if c == nil || ls == nil || len(ls.MatchLabels) != 1 || len(ls.MatchExpressions) > 0 {
		return compileSelector(ls)
	}
	var p labelPair
	for k, v := range ls.MatchLabels {
		p = labelPair{k, v}
	}
	if sel, ok := c[p]; ok {
		return sel, nil
	}
	sel, err := compileSelector(ls)
	if err == nil {
		c[p] = sel
	}
	return sel, err
}
