// Package atomicfile writes files and directory trees so that a reader sees
// the old content or the new, never a part: the new content is written
// beside the target under a temporary name, synced, renamed over the
// target, and the directory synced, so that a crash or a kill leaves the
// previous file (or tree) in place.
//
// Modes follow the umask: files are created 0666 and directories 0777, and
// the kernel takes the umask off at creation (open with O_CREAT|O_EXCL,
// mkdir), so the umask never has to be read (reading it means setting it,
// which races with every goroutine creating a file).
//
// Temporary names are ".<name>.tmp-<pid>-<random>" (a tree moved aside:
// the same with ".old"). A run killed between creating one and renaming it
// leaves it behind; the next write of the same target removes the ones its
// own pattern names, whose process is gone and which hold nothing a run
// would not have written (see leftovers.go), and nothing else.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// File and directory modes before the umask.
const (
	FileMode fs.FileMode = 0o666
	DirMode  fs.FileMode = 0o777
)

// WriteFile replaces path with data atomically: a temporary file in the
// same directory, synced, renamed over path, the directory synced. The
// directory is created (DirMode) when missing; leftovers of an earlier
// killed write of path are removed first.
func WriteFile(path string, data []byte) error {
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	if err := RemoveLeftovers(dir, base, ""); err != nil {
		return err
	}
	f, tmp, err := createTemp(dir, base)
	if err != nil {
		return err
	}
	err = writeSync(f, data)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// WriteNew creates path (which must not exist: O_EXCL) with data, mode
// FileMode less the umask, and syncs it: for the files of a tree being
// built in a temporary directory.
func WriteNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return err
	}
	return writeSync(f, data)
}

func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir syncs a directory, so that the names created, renamed or
// removed in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncDir(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// tmpPrefix is the start of every temporary name for base.
func tmpPrefix(base string) string { return "." + base + ".tmp-" }

// tmpName is a fresh temporary name for base: the process id (so that a
// later run can tell a dead writer's leftover from a live one's file) and
// 8 random bytes.
func tmpName(base string) string {
	var r [8]byte
	rand.Read(r[:])
	return tmpPrefix(base) + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(r[:])
}

// createTemp creates a new temporary file for base in dir, mode FileMode
// less the umask (os.CreateTemp would make it 0600).
func createTemp(dir, base string) (*os.File, string, error) {
	for range 10 {
		p := filepath.Join(dir, tmpName(base))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, p, err
	}
	return nil, "", fmt.Errorf("create a temporary file for %s in %s: names keep colliding", base, dir)
}

// mkdirTemp creates a new temporary directory for base in dir, mode
// DirMode less the umask (os.MkdirTemp would make it 0700).
func mkdirTemp(dir, base string) (string, error) {
	for range 10 {
		p := filepath.Join(dir, tmpName(base))
		err := os.Mkdir(p, DirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return p, err
	}
	return "", fmt.Errorf("create a temporary directory for %s in %s: names keep colliding", base, dir)
}
