package verifier

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// selectorIndex narrows one namespace's policies of one direction to those
// whose podSelector can match a pod: a matchLabels selector requires all of
// its pairs, so it is filed under one of them (the least frequent key in
// the namespace is not known up front: the smallest key is used) and only
// pods carrying that pair see it. Policies with any other selector (empty,
// expressions) are always candidates. Candidates keep the policies' order.
type selectorIndex struct {
	always []int
	byPair map[string]map[string][]int // key → value → policy indices
	keys   []string                    // byPair's keys (ranged over faster than the map)
}

func newSelectorIndex(policies []*compiledPolicy) *selectorIndex {
	x := &selectorIndex{byPair: map[string]map[string][]int{}}
	for i, cp := range policies {
		x.add(i, cp.podSelector)
	}
	return x
}

// add files entry i, whose selector is sel, under one of its pairs (or
// always, for a selector that is not matchLabels).
func (x *selectorIndex) add(i int, sel labels.Selector) {
	ml, ok := sel.(matchLabels)
	if !ok {
		x.always = append(x.always, i)
		return
	}
	first := ml.pairs[0]
	for _, p := range ml.pairs[1:] {
		if p.key < first.key {
			first = p
		}
	}
	vals := x.byPair[first.key]
	if vals == nil {
		vals = map[string][]int{}
		x.byPair[first.key] = vals
		x.keys = append(x.keys, first.key)
	}
	vals[first.value] = append(vals[first.value], i)
}

// minIndexedPeers is the shortest peer list a rule indexes: scanning a
// few peers is cheaper than the lookups.
const minIndexedPeers = 8

// newPeerIndex indexes a rule's peers as newSelectorIndex indexes
// policies: a pod peer whose podSelector is matchLabels is filed under one
// of its pairs (it matches only pods with that label, whatever its
// namespace selector); ipBlocks and other selectors are always
// candidates. Nil for a short list.
func newPeerIndex(peers []compiledPeer) *selectorIndex {
	if len(peers) < minIndexedPeers {
		return nil
	}
	x := &selectorIndex{byPair: map[string]map[string][]int{}}
	for i := range peers {
		if peers[i].isIPBlock || peers[i].podSelector == nil {
			x.always = append(x.always, i)
			continue
		}
		x.add(i, peers[i].podSelector)
	}
	return x
}

// each calls f with the lists of indexed entries filed under the pairs of
// podLabels (not the always ones), in no particular order, until f
// returns false.
func (x *selectorIndex) each(podLabels map[string]string, f func([]int) bool) {
	if len(x.keys) <= len(podLabels) {
		for _, k := range x.keys {
			if v, ok := podLabels[k]; ok {
				if l := x.byPair[k][v]; len(l) > 0 && !f(l) {
					return
				}
			}
		}
		return
	}
	for k, v := range podLabels {
		if l := x.byPair[k][v]; len(l) > 0 && !f(l) {
			return
		}
	}
}

// candidates appends to buf, in order, the indices of the policies whose
// selector may match a pod with these labels.
func (x *selectorIndex) candidates(buf []int, podLabels map[string]string) []int {
	buf = append(buf, x.always...)
	merged := false
	if len(x.keys) <= len(podLabels) {
		for _, k := range x.keys {
			if v, ok := podLabels[k]; ok {
				if l := x.byPair[k][v]; len(l) > 0 {
					buf, merged = append(buf, l...), true
				}
			}
		}
	} else {
		for k, v := range podLabels {
			if l := x.byPair[k][v]; len(l) > 0 {
				buf, merged = append(buf, l...), true
			}
		}
	}
	if merged {
		slices.Sort(buf)
	}
	return buf
}

// compileAll normalizes and compiles the policies on all cores; errs[i]
// is policy i's error, worded as New words it.
func compileAll(policies []*networkingv1.NetworkPolicy) ([]*compiledPolicy, []error) {
	out := make([]*compiledPolicy, len(policies))
	errs := make([]error, len(policies))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(policies)/64))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sels := selectorCache{}
			for i := w; i < len(policies); i += workers {
				np := policies[i]
				if np == nil {
					errs[i] = fmt.Errorf("verifier: policy %d is nil", i)
					continue
				}
				cp, err := compilePolicy(normalizedView(np), sels)
				if err != nil {
					errs[i] = fmt.Errorf("verifier: policy %d: %w", i, err)
					continue
				}
				out[i] = cp
			}
		}()
	}
	wg.Wait()
	return out, errs
}

// normalizedView is np as compilePolicy needs it normalized: namespace and
// policyTypes defaulted as Normalize defaults them. compilePolicy reads
// nothing else Normalize changes (it defaults a port's protocol to TCP
// itself and takes empty and nil lists and maps alike), so the deep copy
// is not needed; np is not modified.
func normalizedView(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	v := *np
	if v.Namespace == "" {
		v.Namespace = DefaultNamespace
	}
	if len(v.Spec.PolicyTypes) == 0 {
		v.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(v.Spec.Egress) > 0 {
			v.Spec.PolicyTypes = append(v.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	return &v
}
