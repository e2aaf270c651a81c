// Package output writes what synth decided: a Tree of files (one formatter
// per policy flavor renders the YAML, the report package adds FLOWS.md and
// ROLLOUT.md) written atomically, so a failed run leaves the previous tree
// intact.
package output

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/policy"
)

// Tree maps slash-separated relative paths to file contents.
type Tree map[string][]byte

// Paths returns the tree's paths sorted.
func (t Tree) Paths() []string { return slices.Sorted(maps.Keys(t)) }

// Formatter renders a policy set in one flavor.
type Formatter interface {
	// Name is the --format value.
	Name() string
	// Render returns the policy files (per namespace directories).
	Render(set *policy.Set) (Tree, error)
}

// Marker is the file that marks a directory as a flowfence tree, so that a
// later run may replace it (and never replaces anything else).
const Marker = ".flowfence"

// WriteTree writes t to dir atomically: the tree is built in a sibling
// temporary directory and swapped in by rename; dir is replaced only when it
// is empty or was written by flowfence.
func WriteTree(dir string, t Tree) (err error) {
	dir = filepath.Clean(dir)
	if st, statErr := os.Stat(dir); statErr == nil {
		if !st.IsDir() {
			return fmt.Errorf("--out %s: exists and is not a directory", dir)
		}
		entries, rerr := os.ReadDir(dir)
		if rerr != nil {
			return fmt.Errorf("--out %s: %w", dir, rerr)
		}
		if len(entries) > 0 {
			if _, merr := os.Stat(filepath.Join(dir, Marker)); merr != nil {
				return fmt.Errorf("--out %s: directory exists and was not written by flowfence (no %s file); refusing to replace it", dir, Marker)
			}
		}
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("--out %s: %w", dir, statErr)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	files := maps.Clone(t)
	files[Marker] = []byte("This directory is written by flowfence; the next `flowfence generate --out` replaces it whole.\n")
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if strings.Contains(p, "..") || filepath.IsAbs(p) {
			return fmt.Errorf("output path %q escapes the tree", p)
		}
		full := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := writeFileSync(full, files[p]); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	old := ""
	if _, statErr := os.Stat(dir); statErr == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("--out %s: move previous tree aside: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("--out %s: %w (and restoring the previous tree failed: %v; it is at %s)", dir, err, rerr, old)
			}
		}
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// WriteFileAtomic writes one file via a temporary file and rename.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
