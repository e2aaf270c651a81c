package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/atomicfile"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// AddState adds the tree's state directory to tree: the graph it was
// generated from (output.GraphFile) and the settings it was generated with
// (output.SettingsFile), so that both are written with the tree, in the
// same atomic replace.
func AddState(tree output.Tree, g *learner.Graph, s config.Settings) error {
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		return fmt.Errorf("%s: %w", output.GraphFile, err)
	}
	settings, err := config.MarshalSettings(s)
	if err != nil {
		return err
	}
	tree[output.GraphFile] = buf.Bytes()
	tree[output.SettingsFile] = settings
	return nil
}

// AddPorts adds the named ports the set's rules rely on (set.Ports) to the
// tree's state directory (output.PortsFile); nothing when no rule names a
// port.
func AddPorts(tree output.Tree, set *policy.Set) error {
	if len(set.Ports) == 0 {
		return nil
	}
	b, err := policy.MarshalPortTable(set.Ports)
	if err != nil {
		return err
	}
	tree[output.PortsFile] = b
	return nil
}

// TreeState is what a tree's state directory holds. A tree written before
// the state directory, or by hand, has none (the fields are nil).
type TreeState struct {
	// GraphPath and SettingsPath are the files' paths under the tree.
	GraphPath, SettingsPath string
	Graph                   *learner.Graph
	Settings                *config.Settings
	// Ports are the named ports the tree's rules rely on (nil: the tree
	// names none, or has no state directory); PortsPath is their file.
	PortsPath string
	Ports     policy.PortTable
}

// ReadState reads the state directory of the tree in dir. A missing state
// directory is not an error (an empty TreeState); a state directory with
// one file and not the other, or with a file that does not decode (a pull
// request can edit both), is an error naming the file.
func ReadState(dir string) (*TreeState, error) {
	st := &TreeState{
		GraphPath:    filepath.Join(dir, filepath.FromSlash(output.GraphFile)),
		SettingsPath: filepath.Join(dir, filepath.FromSlash(output.SettingsFile)),
	}
	if fi, err := os.Lstat(filepath.Join(dir, output.StateDir)); err != nil || !fi.IsDir() {
		return st, nil // no state directory (or the marker file of an older tree)
	}
	fh, err := atomicfile.OpenRegular(st.SettingsPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, gerr := os.Lstat(st.GraphPath); gerr == nil {
			return nil, fmt.Errorf("%s: missing beside %s (regenerate the tree with flowfence generate)", escape.Terminal(st.SettingsPath), escape.Terminal(st.GraphPath))
		}
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", escape.Terminal(st.SettingsPath), err)
	}
	st.Settings, err = config.ReadSettings(st.SettingsPath, fh)
	fh.Close()
	if err != nil {
		return nil, err
	}
	g, err := learner.ReadGraphFile(st.GraphPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: missing beside %s (regenerate the tree with flowfence generate)", escape.Terminal(st.GraphPath), escape.Terminal(st.SettingsPath))
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, fmt.Errorf("%s: %w", escape.Terminal(st.GraphPath), err)
	}
	if err != nil {
		return nil, err // ReadGraph's errors name the file
	}
	st.Graph = g
	if st.Ports, st.PortsPath, err = ReadPorts(dir); err != nil {
		return nil, err
	}
	return st, nil
}

// ReadPorts reads the named ports the tree in dir relies on
// (output.PortsFile, validated: a pull request can edit it) and returns
// them with the file's path; nil when the tree has none.
func ReadPorts(dir string) (policy.PortTable, string, error) {
	path := filepath.Join(dir, filepath.FromSlash(output.PortsFile))
	fh, err := atomicfile.OpenRegular(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil, path, nil
	case err != nil:
		return nil, path, fmt.Errorf("%s: %w", escape.Terminal(path), err)
	}
	defer fh.Close()
	t, err := policy.ReadPortTable(path, fh)
	return t, path, err
}
