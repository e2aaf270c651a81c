//go:build !unix

package atomicfile

import (
	"io/fs"
	"os"
	"time"
)

// syncDir: directories cannot be synced here; renames are as durable as
// the system makes them.
func syncDir(*os.File) error { return nil }

// writerAlive cannot ask about a process here: an entry younger than an
// hour is taken to be a live writer's.
func writerAlive(_ int, info fs.FileInfo) bool { return time.Since(info.ModTime()) < time.Hour }

// openNonblock: no such flag here; fstat still refuses what is not a
// regular file before it is read.
const openNonblock = 0
