package verifier

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
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
}

func newSelectorIndex(policies []*compiledPolicy) *selectorIndex {
	x := &selectorIndex{byPair: map[string]map[string][]int{}}
	for i, cp := range policies {
		ml, ok := cp.podSelector.(matchLabels)
		if !ok {
			x.always = append(x.always, i)
			continue
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
		}
		vals[first.value] = append(vals[first.value], i)
	}
	return x
}

// candidates appends to buf, in order, the indices of the policies whose
// selector may match a pod with these labels.
func (x *selectorIndex) candidates(buf []int, podLabels map[string]string) []int {
	buf = append(buf, x.always...)
	merged := false
	if len(x.byPair) <= len(podLabels) {
		for k, vals := range x.byPair {
			if v, ok := podLabels[k]; ok {
				if l := vals[v]; len(l) > 0 {
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
			for i := w; i < len(policies); i += workers {
				np := policies[i]
				if np == nil {
					errs[i] = fmt.Errorf("verifier: policy %d is nil", i)
					continue
				}
				cp, err := compilePolicy(Normalize(np))
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
