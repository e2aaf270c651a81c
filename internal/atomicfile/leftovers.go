package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RemoveLeftovers removes, in dir, what a killed WriteFile (marker "") or
// ReplaceDir (marker: the tree's marker file) of base left behind, and
// nothing else. An entry is a leftover when
//   - its name is exactly ".<base>.tmp-<pid>-<16 hex digits>", with ".old"
//     after it for a tree moved aside;
//   - no running process has that pid (a live writer's file is its own:
//     two runs writing one target at once leave each other alone; where
//     processes cannot be asked, the entry must be an hour old);
//   - it is what the writer creates: for WriteFile a regular file; for
//     ReplaceDir a directory holding only directories and regular files,
//     empty or with the regular file marker at its root.
//
// A name of another pattern, a link, or a directory holding anything else
// is the user's and stays. What cannot be removed is left for next time.
func RemoveLeftovers(dir, base, marker string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	prefix := tmpPrefix(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(rest, ".old")
		pid, ok := parseTmpSuffix(rest)
		if !ok || pid == os.Getpid() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		info, err := os.Lstat(p)
		if err != nil || writerAlive(pid, info) {
			continue
		}
		switch {
		case marker == "" && info.Mode().IsRegular():
			os.Remove(p)
		case marker != "" && info.IsDir() && ownTree(p, marker):
			os.RemoveAll(p)
		}
	}
	return nil
}

// parseTmpSuffix parses "<pid>-<16 hex digits>".
func parseTmpSuffix(s string) (pid int, ok bool) {
	ps, r, ok := strings.Cut(s, "-")
	if !ok || len(r) != 16 {
		return 0, false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(ps)
	if err != nil || pid <= 0 || ps != strconv.Itoa(pid) {
		return 0, false
	}
	return pid, true
}

// ownTree says whether the directory p holds only what ReplaceDir's build
// writes: directories and regular files, and the marker at the root when
// anything at all.
func ownTree(p, marker string) bool {
	entries, err := os.ReadDir(p)
	if err != nil {
		return false
	}
	if len(entries) == 0 {
		return true
	}
	if st, err := os.Lstat(filepath.Join(p, marker)); err != nil || !st.Mode().IsRegular() {
		return false
	}
	ok := true
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() && !d.Type().IsRegular() {
			ok = false
			return filepath.SkipAll
		}
		return nil
	})
	return ok
}
