package flags

import (
	"errors"
	"fmt"
)

// Process exit codes. The verbs that check something (verify, diff) exit
// with CodeFindings when the check ran and found something.
const (
	CodeOK = 0
	// CodeFailure is a failure to run: a bad flag, an unreadable file, ….
	CodeFailure = 1
	// CodeFindings means the check ran and found something: an observed
	// request the policies would deny, new undocumented flows, new edges.
	CodeFindings = 3
	// CodeIncomplete means learn or generate wrote its graph or tree from a
	// live window that was cut short (the relay stalled or vanished for
	// good): the output holds only what was received before.
	CodeIncomplete = 4
)

// ExitError is an error that carries the process exit code: cmd/flowfence
// exits with Code (see Code). Err may be nil when the command already
// printed everything the user needs; the message is then empty.
type ExitError struct {
	Code int
	Err  error
}

// Error returns Err's message, or "" when Err is nil.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// Findings returns the error of a check that found something (exit 3),
// with a one-line message for stderr.
func Findings(format string, a ...any) error {
	return &ExitError{Code: CodeFindings, Err: fmt.Errorf(format, a...)}
}

// Code returns the process exit code for err: 0 for nil, the code of an
// ExitError anywhere in err's chain, else CodeFailure (1).
func Code(err error) int {
	if err == nil {
		return CodeOK
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Code != CodeOK {
		return ee.Code
	}
	return CodeFailure
}
