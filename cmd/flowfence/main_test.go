package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// mainArgsEnv carries the arguments of a child-process run of main
// (TestMain), separated by \x1f.
const mainArgsEnv = "FLOWFENCE_TEST_MAIN_ARGS"

// TestMain lets a test run the real main in a child process (see
// mainCommand), so that exit codes are checked where scripts see them.
func TestMain(m *testing.M) {
	if args := os.Getenv(mainArgsEnv); args != "" {
		os.Args = append([]string{"flowfence"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainCommand returns the command that runs flowfence with args in a child
// process: this test binary, which TestMain turns into the real main.
func mainCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainArgsEnv+"="+strings.Join(args, "\x1f"))
	return cmd
}

// runMain runs flowfence with args in a child process and returns its exit
// code and stderr.
func runMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, _, stderr := runMainOut(t, args...)
	return code, stderr
}

// runMainOut is runMain with standard output too.
func runMainOut(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := mainCommand(args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return -1, "", ""
}

// TestProcessExitCodes: 0 = nothing found, 3 = verify found a flow the tree
// would deny, 1 = error, as the process exit status.
func TestProcessExitCodes(t *testing.T) {
	const sample = "../../testdata/flows/*.json*"
	dir := filepath.Join(t.TempDir(), "policies")
	if code, stderr := runMain(t, "generate", "--quiet", "--from", sample, "--out", dir); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if code, stderr := runMain(t, "verify", "--policies", dir, "--from", sample); code != 0 || stderr != "" {
		t.Errorf("verify of the generated tree: exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	if err := os.Remove(filepath.Join(dir, "shop", "cart-ingress.yaml")); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runMain(t, "verify", "--policies", dir, "--from", sample); code != 3 || !strings.Contains(stderr, "flowfence: verify: 1 observed request edges would be denied") {
		t.Errorf("verify of a broken tree: exit %d, stderr %q; want 3", code, stderr)
	}
	if code, stderr := runMain(t, "verify", "--from", sample); code != 1 || !strings.Contains(stderr, "--policies") {
		t.Errorf("verify without --policies: exit %d, stderr %q; want 1", code, stderr)
	}
}
