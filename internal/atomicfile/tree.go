package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReplaceDir replaces the directory dir with the tree build writes into a
// fresh temporary directory beside it (mode DirMode less the umask).
// build creates directories with DirMode and files with WriteNew, and
// writes the regular file marker at the root first: that is how a later
// run recognises a killed run's temporary tree as its own. The new tree's
// directories are synced, then swapped in: in one step where the system
// can exchange two names (Linux renameat2 RENAME_EXCHANGE), otherwise by
// moving dir aside (".old") and the new tree in, moving it back if that
// fails. The previous tree is removed after the parent directory is
// synced. Leftovers of an earlier killed ReplaceDir of dir are removed
// first; when build fails, its temporary tree is removed and dir is left as
// it was.
func ReplaceDir(dir, marker string, build func(tmp string) error) error {
	return replaceDir(dir, marker, build, exchange)
}

// replaceDir is ReplaceDir with the exchange of two names given (tests
// take the two-rename path with one that fails).
func replaceDir(dir, marker string, build func(tmp string) error, exchange func(a, b string) error) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, DirMode); err != nil {
		return err
	}
	if err := RemoveLeftovers(parent, base, marker); err != nil {
		return err
	}
	tmp, err := mkdirTemp(parent, base)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := build(tmp); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	_, statErr := os.Lstat(dir)
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		return SyncDir(parent)
	case statErr != nil:
		return statErr
	}
	if exchange(tmp, dir) == nil {
		// tmp now holds the previous tree
		if err := SyncDir(parent); err != nil {
			return err
		}
		os.RemoveAll(tmp)
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("move the previous tree aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("%w (and restoring the previous tree failed: %v; it is at %s)", err, rerr, old)
		}
		return err
	}
	if err := SyncDir(parent); err != nil {
		return err
	}
	os.RemoveAll(old)
	return nil
}

// syncTree syncs every directory under root (root included), deepest
// first, so that the names in them are on disk before the tree is
// renamed into place.
func syncTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}
