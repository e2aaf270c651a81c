package output

import "github.com/flowfence/flowfence/policy"

// RolloutNoter is implemented by formatters whose flavor needs its own
// section in ROLLOUT.md (apply order of cluster-scoped objects, staged
// rollout): the pipeline appends it after the shared report.
type RolloutNoter interface {
	RolloutNotes(set *policy.Set) []byte
}
