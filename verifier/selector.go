package verifier

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// compileSelector is metav1.LabelSelectorAsSelector, with a fast Matches
// for the selectors flowfence writes (matchLabels only): a lookup per
// label instead of apimachinery's generic requirement matching, which
// dominates evaluating many flows against many policies. Everything else
// (expressions, String, Requirements) is apimachinery's.
func compileSelector(ls *metav1.LabelSelector) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || ls == nil || len(ls.MatchExpressions) > 0 || len(ls.MatchLabels) == 0 {
		return sel, err
	}
	m := matchLabels{Selector: sel, pairs: make([]labelPair, 0, len(ls.MatchLabels))}
	for k, v := range ls.MatchLabels {
		m.pairs = append(m.pairs, labelPair{k, v})
	}
	return m, nil
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
