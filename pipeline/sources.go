package pipeline

import (
	"encoding/hex"
	"net/url"
	"path/filepath"
	"slices"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/learner"
)

// sourceNames maps the name a collector gives its records' Source (a
// file's path as given on the command line, a Goldmane URL) to the name
// the graph records in its edges' sources. A graph is committed next to
// the policies: it must not carry the paths of the machine that learned it
// (/home/alice/…, /tmp/…) nor credentials in a URL. Names of this run's
// records only are rewritten (applyTo the learner's graph, before saved
// graphs are merged in); a saved graph's sources stay as they are.
type sourceNames map[string]string

// digestHex is how much of a file's SHA-256 its source name keeps: enough
// to tell two captures apart, short enough to read.
const digestHex = 12

// addFile notes the graph's name for the file f opened for path, once its
// source has read it: "<base name>@sha256:<first 12 hex digits>" of the
// file's bytes as stored (compressed, for a .gz: the digest sha256sum
// prints), computed as the decoders streamed it (input.File.Digest). Two
// copies of one capture get one name wherever they lie. Standard input's
// base name is "-". A file not read to its end (a run stopped early) keeps
// its base name alone: a digest of part of it would name no file.
func (n sourceNames) addFile(path string, f *input.File) {
	base := filepath.Base(path)
	if path == input.Stdin {
		base = input.Stdin
	}
	name := base
	if sum, whole := f.Digest(); whole {
		name += "@sha256:" + hex.EncodeToString(sum[:])[:digestHex]
	}
	n[f.Name] = name
}

// addURL notes the graph's name for a live source's URL: as given, without
// the user information (user:password@) it may carry.
func (n sourceNames) addURL(u string) {
	if r := redactURL(u); r != u {
		n[u] = r
	}
}

// redactURL returns u without its user information; u unchanged when it
// has none or is not a URL.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}

// applyTo renames the sources of g's edges (learned and denied), keeping
// each list sorted and without duplicates (two paths of one capture become
// one name).
func (n sourceNames) applyTo(g *learner.Graph) {
	if len(n) == 0 {
		return
	}
	for _, edges := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
		for _, e := range edges {
			changed := false
			for i, s := range e.Sources {
				if r, ok := n[s]; ok {
					e.Sources[i] = r
					changed = true
				}
			}
			if changed {
				slices.Sort(e.Sources)
				e.Sources = slices.Compact(e.Sources)
			}
		}
	}
}
