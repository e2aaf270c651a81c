package learner

import (
	"bytes"
	"fmt"

	"github.com/flowfence/flowfence/internal/atomicfile"
)

// ReadGraphFile reads the graph saved at path: a regular file (a FIFO or
// device named by mistake is refused at once, not waited on), decoded by
// ReadGraph. An error opening it is returned as the *os.PathError it is
// (errors.Is(err, os.ErrNotExist) tells a missing file).
func ReadGraphFile(path string) (*Graph, error) {
	fh, err := atomicfile.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ReadGraph(path, fh)
}

// WriteGraphFile writes g to path atomically (atomicfile.WriteFile): a
// reader sees the old graph or the new one, never part of one.
func WriteGraphFile(path string, g *Graph) error {
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
