// Package diffchecktest holds what the tests of diffcheck and of the
// packages that judge a written tree with it (pipeline, output/diffreport)
// share: the checker of a tree on disk, built as verify and diff build it.
// Only tests import it.
package diffchecktest

import (
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/synth"
)

// Checker reads the policy tree under dir as verify does and returns its
// checker with the synthesis options sopts, or fails the test.
func Checker(t testing.TB, dir string, sopts synth.Options) *diffcheck.Checker {
	t.Helper()
	tree, err := diffcheck.ReadTree(dir)
	if err != nil {
		t.Fatalf("read tree: %v", err)
	}
	opts, err := diffcheck.NewOptions(sopts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := diffcheck.NewChecker(tree, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
