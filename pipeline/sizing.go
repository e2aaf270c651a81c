package pipeline

import (
	"fmt"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/learner"
)

// BytesPerWorkload is the learner's measured memory per distinct workload
// (learner.BenchmarkWorkloadMemory), quoted by the size warning.
const BytesPerWorkload = 7 << 10

// sizeWarning returns the run summary's warning when g holds more distinct
// workloads than limit (0: no limit), or "".
func sizeWarning(g *learner.Graph, limit int) string {
	if limit <= 0 {
		return ""
	}
	n := 0
	for _, node := range g.Nodes {
		if node.Kind == learner.NodeWorkload {
			n++
		}
	}
	if n <= limit {
		return ""
	}
	return fmt.Sprintf("%d distinct workloads, more than %s (%d): about %d MB of learner memory at %d KB each, and more to synthesise; a flood of identities is usually a corrupt or hostile export",
		n, config.KeyMaxWorkloads, limit, n*BytesPerWorkload>>20, BytesPerWorkload>>10)
}
