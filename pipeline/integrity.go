package pipeline

import (
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// CheckIntegrity checks a rendered tree against the policy model it came
// from, for every flavor, before anything is written: every YAML document
// is decoded strictly and compared structurally with the object the
// formatter built from the model, and the tree must hold exactly the files
// the formatter meant to write (output.CheckTree). A difference means
// something in the input reached the YAML as structure (a name that left
// its comment, an extra document): `generate` and `diff --update` fail
// instead of writing it.
func CheckIntegrity(f output.Formatter, set *policy.Set, tree output.Tree) error {
	return output.CheckTree(f, set, tree)
}
