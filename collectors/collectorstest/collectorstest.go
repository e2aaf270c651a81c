// Package collectorstest holds what the tests of the file sources
// (calico, goldmane) share: reading a file the way flowfence does, format
// detection first. Only tests import it.
package collectorstest

import (
	"context"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
)

// Run opens path as flowfence does, fails t unless format detection on its
// head names want, and runs the source newSource builds on it with opts,
// emitting into emit. It returns the source's stats and Run's error.
func Run[S collectors.Source](t testing.TB, path string, want collectors.Format, newSource func(*input.File, collectors.Options) S, opts collectors.Options, emit collectors.Emit) (*collectors.Stats, error) {
	t.Helper()
	f, err := input.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := f.Peek(8192)
	if got := collectors.Detect(head); got != want {
		t.Fatalf("%s: Detect = %q, want %q", path, got, want)
	}
	st := &collectors.Stats{}
	return st, newSource(f, opts).Run(context.Background(), st, emit)
}
