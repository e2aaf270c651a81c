package picture

import "github.com/flowfence/flowfence/learner"

// Detail is how the picture describes a graph node (a Node's Detail): the
// structure tests find the drawn node of a graph node by it.
func Detail(n *learner.Node) string { return detail(n) }
