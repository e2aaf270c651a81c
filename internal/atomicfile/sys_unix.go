//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

func syncDir(d *os.File) error { return d.Sync() }

// writerAlive asks the system whether process pid still runs (signal 0:
// no such process is ESRCH; EPERM is a process of another user).
func writerAlive(pid int, _ fs.FileInfo) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// openNonblock keeps opening a FIFO from waiting for a writer.
const openNonblock = syscall.O_NONBLOCK
