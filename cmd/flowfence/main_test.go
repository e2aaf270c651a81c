package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/flags"
)

// TestExitCode: scripts rely on 0 = nothing found, 3 = findings, 1 = error,
// however deeply the typed error is wrapped.
func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"plain error", errors.New("--from: no source given"), 1},
		{"findings", flags.Findings("2 observed flows would be denied"), 3},
		{"wrapped findings", fmt.Errorf("diff: %w", flags.Findings("new flows")), 3},
		{"exit error without message", &flags.ExitError{Code: 3}, 3},
		{"exit error with code 0 is still an error", &flags.ExitError{Code: 0, Err: errors.New("x")}, 1},
		{"other code", &flags.ExitError{Code: 4, Err: errors.New("x")}, 4},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("%s: exitCode = %d, want %d", c.name, got, c.want)
		}
	}
}
