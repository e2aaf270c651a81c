// Package clitest runs the real flowfence root command inside a test, as
// the binary would run it: the verbs' tests share this one harness. Only
// tests import it.
package clitest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/cli/root"
)

// Sample is the repository's sample flow files (testdata/flows) as a glob
// relative to a verb's package directory (internal/cli/VERB).
const Sample = "../../../testdata/flows/*.json*"

// Run executes the root command with args, stdin as its standard input,
// and returns what it wrote to stdout and stderr, the process exit code
// its error maps to (flags.Code) and the error.
func Run(t testing.TB, stdin string, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := root.NewCommand(flags.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), flags.Code(err), err
}

// Must runs the root command as Run does, for a step a test builds on
// (generate writing the tree a verb then judges): when the command fails,
// the test stops there, naming the arguments and the command's stderr.
func Must(t testing.TB, args ...string) {
	t.Helper()
	if _, stderr, _, err := Run(t, "", args...); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr)
	}
}
