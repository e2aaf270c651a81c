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

	"github.com/flowfence/flowfence/internal/atomicfile"
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

// StateDir is the directory of a tree that holds what the tree was made
// from, beside the marker: the graph (GraphFile) and the generator settings
// (SettingsFile). It holds no policy: every reader of policies skips it.
const StateDir = ".flowfence"

// Marker is the file that marks a directory as a flowfence tree, so that a
// later run may replace it (and never replaces anything else).
const Marker = StateDir + "/README"

// legacyMarker is the marker of trees written before StateDir: a regular
// file of that name at the root. Such a tree is still replaced.
const legacyMarker = StateDir

// GraphFile is the graph a tree was generated from (learner's versioned
// JSON), relative to the tree: `diff --update` merges a new observation
// into it and `explain` reads the flows behind each rule from it.
const GraphFile = StateDir + "/graph.json"

// SettingsFile is the generator settings a tree was written with
// (config.Settings), relative to the tree: `diff --update` regenerates with
// them.
const SettingsFile = StateDir + "/settings.json"

// PortsFile is the named container ports a tree's rules rely on
// (policy.PortTable, written when a rule names a port), relative to the
// tree: verify and diff resolve the tree's named ports with it when no
// inventory is given.
const PortsFile = StateDir + "/ports.json"

// InStateDir says whether a tree path (slash-separated) lies in StateDir.
func InStateDir(p string) bool { return p == StateDir || strings.HasPrefix(p, StateDir+"/") }

// WriteTree writes t to dir atomically: the tree is built in a sibling
// temporary directory, every file and directory synced, and swapped in
// (internal/atomicfile.ReplaceDir); dir is replaced only when it is empty
// or was written by flowfence (it holds Marker). Files and directories get
// 0666 and 0777 less the umask. Temporary trees a killed run left beside
// dir are removed; nothing else there is touched.
func WriteTree(dir string, t Tree) error {
	dir = filepath.Clean(dir)
	if st, statErr := os.Lstat(dir); statErr == nil {
		if st.Mode()&fs.ModeSymlink != 0 {
			// replacing it would replace the link, not the tree it names
			return fmt.Errorf("--out %s: is a symbolic link; name the directory itself", dir)
		}
		if !st.IsDir() {
			return fmt.Errorf("--out %s: exists and is not a directory", dir)
		}
		entries, rerr := os.ReadDir(dir)
		if rerr != nil {
			return fmt.Errorf("--out %s: %w", dir, rerr)
		}
		if len(entries) > 0 && !hasMarker(dir) {
			return fmt.Errorf("--out %s: directory exists and was not written by flowfence (no %s file); refusing to replace it", dir, Marker)
		}
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("--out %s: %w", dir, statErr)
	}
	paths := t.Paths()
	for _, p := range paths {
		if strings.Contains(p, "..") || filepath.IsAbs(p) {
			return fmt.Errorf("output path %q escapes the tree", p)
		}
		if p == Marker || p == StateDir {
			return fmt.Errorf("output path %q is the tree's marker", p)
		}
	}
	err := atomicfile.ReplaceDir(dir, Marker, func(tmp string) error {
		// the marker first: it is how a later run knows a temporary tree
		// a killed run left as its own
		if err := os.MkdirAll(filepath.Join(tmp, StateDir), atomicfile.DirMode); err != nil {
			return fmt.Errorf("write %s: %w", Marker, err)
		}
		if err := atomicfile.WriteNew(filepath.Join(tmp, filepath.FromSlash(Marker)), markerText); err != nil {
			return fmt.Errorf("write %s: %w", Marker, err)
		}
		for _, p := range paths {
			full := filepath.Join(tmp, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), atomicfile.DirMode); err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
			if err := atomicfile.WriteNew(full, t[p]); err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return nil
}

var markerText = []byte("The directory above is written by flowfence; the next `flowfence generate --out` or `flowfence diff --update`\n" +
	"replaces it whole. graph.json here is the graph it was generated from, settings.json the settings it used.\n")

// hasMarker says whether dir holds a flowfence marker: Marker, or the
// regular file of trees written before StateDir.
func hasMarker(dir string) bool {
	for _, m := range []string{Marker, legacyMarker} {
		if st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(m))); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// WriteFileAtomic replaces path with data atomically, with mode 0666 less
// the umask (internal/atomicfile.WriteFile): for graphs, checkpoints and
// reports.
func WriteFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
