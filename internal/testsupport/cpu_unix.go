//go:build unix

package testsupport

import (
	"syscall"
	"time"
)

// ProcessCPU returns the user+system CPU time the process has used: a
// benchmark figure that, unlike wall time, holds on a shared machine.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
