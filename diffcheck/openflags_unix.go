//go:build unix

package diffcheck

import "syscall"

// openNoFollow opens a policy file without following a final symbolic
// link and without blocking on a FIFO or device that replaced it after
// the directory was listed (fstat then rejects it).
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
