package learner

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/record"
)

// FuzzReadGraph: a saved graph is hostile input (a graph committed next to
// the tree is read by the periodic diff job). Whatever the bytes, ReadGraph
// returns a graph or an error, never panics; a graph it accepts holds only
// names the identity rules accept, and is a fixed point of Write and
// ReadGraph (what it kept is what the next run reads back).
func FuzzReadGraph(f *testing.F) {
	f.Add([]byte(graphDocBytes(f, hostileBase())))
	for _, p := range []string{"../testdata/hostile/graph-newline-names.json", "../testdata/hostile/graph-newline-identity.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	if ms, _ := filepath.Glob("testdata/*.json"); len(ms) > 0 {
		for _, p := range ms {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"version":2,"nodes":[],"edges":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ReadGraphLimit("fuzz.json", bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		for id, n := range g.Nodes {
			if n.Namespace != "" && !record.ValidNamespace(n.Namespace) {
				t.Fatalf("node %q: namespace %q accepted", id, n.Namespace)
			}
			for _, name := range n.Names {
				if !record.ValidDNSName(name) {
					t.Fatalf("node %q: DNS name %q kept", id, name)
				}
			}
		}
		var first bytes.Buffer
		if err := g.Write(&first); err != nil {
			t.Fatalf("an accepted graph does not write: %v", err)
		}
		g2, err := ReadGraph("again.json", bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("a graph written from an accepted one is refused: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := g2.Write(&second); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("read-write is not a fixed point:\n%s\n---\n%s", first.Bytes(), second.Bytes())
		}
	})
}

func graphDocBytes(f *testing.F, g *Graph) string {
	f.Helper()
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		f.Fatal(err)
	}
	return b.String()
}
