package learner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/record"
)

// Denial is how many of an edge's requests one existing policy denied,
// named as the flow source named it (record.Record.DeniedBy). An edge's
// Dropped count minus its denials' is what no source attributed.
type Denial struct {
	Policy string `json:"policy"`
	Flows  uint64 `json:"flows"`
}

// maxDenials bounds an edge's denials: the policies with the smallest
// names are kept (with their full counts), which keeps Merge associative.
const maxDenials = 16

// addDenial folds d into ds (sorted by policy, at most maxDenials).
func addDenial(ds []Denial, d Denial) []Denial {
	i, found := slices.BinarySearchFunc(ds, d.Policy, func(x Denial, p string) int { return strings.Compare(x.Policy, p) })
	if found {
		ds[i].Flows = saturatingAdd(ds[i].Flows, d.Flows)
		return ds
	}
	if i >= maxDenials {
		return ds
	}
	ds = slices.Insert(ds, i, d)
	if len(ds) > maxDenials {
		ds = ds[:maxDenials]
	}
	return ds
}

// mergeDenials returns the union of a and b, counts summed (a new slice).
func mergeDenials(a, b []Denial) []Denial {
	out := slices.Clone(a)
	for _, d := range b {
		out = addDenial(out, d)
	}
	return out
}

// Unattributed is how many of the edge's dropped requests no source
// named a policy for (Hubble drops, Calico records without a trace).
func (e *Edge) Unattributed() uint64 {
	var named uint64
	for _, d := range e.DeniedBy {
		named = saturatingAdd(named, d.Flows)
	}
	return e.Dropped - min(named, e.Dropped)
}

// checkDenials validates a read graph's denials: sorted, unique, valid
// policy names (a graph file is input like any other).
func checkDenials(ds []Denial) error {
	if len(ds) > maxDenials {
		return fmt.Errorf("%d deniedBy entries, at most %d", len(ds), maxDenials)
	}
	for i, d := range ds {
		if !record.ValidPolicyName(d.Policy) {
			return fmt.Errorf("deniedBy: %s is not a valid policy name", escape.Snippet(d.Policy, 64))
		}
		if i > 0 && ds[i-1].Policy >= d.Policy {
			return fmt.Errorf("deniedBy: %s out of order or repeated", strconv.Quote(d.Policy))
		}
	}
	return nil
}
