package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
)

// graphSources learns from and returns the distinct edge sources of the
// graph written to a fresh graph.json, and that file's bytes.
func graphSources(t *testing.T, opts pipeline.LearnOptions, from ...string) ([]string, []byte) {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), from, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "graph.json")
	if _, err := pipeline.WriteGraph(path, g, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, edges := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
		for _, e := range edges {
			out = append(out, e.Sources...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), data
}

func copyFile(t *testing.T, from, to string) []byte {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func digest12(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:12]
}

// TestGraphKeepsNoLocalPaths: graph.json names a capture by its base name
// and content digest, never by the path it was learned from, so a graph
// committed from a laptop or a CI runner leaks no directory, and two copies
// of one capture get one name.
func TestGraphKeepsNoLocalPaths(t *testing.T) {
	tmp := t.TempDir()
	a := filepath.Join(tmp, "abs", "dir", "flows.json")
	b := filepath.Join(tmp, "elsewhere", "flows.json")
	data := copyFile(t, "../testdata/flows/node-a.jsonl", a)
	copyFile(t, "../testdata/flows/node-a.jsonl", b)
	want := []string{"flows.json@sha256:" + digest12(data)}

	gotA, graphA := graphSources(t, pipeline.LearnOptions{}, a)
	if !slices.Equal(gotA, want) {
		t.Errorf("sources %q, want %q", gotA, want)
	}
	for _, leak := range []string{tmp, "/tmp", "abs/dir", filepath.Dir(tmp)} {
		if bytes.Contains(graphA, []byte(leak)) {
			t.Errorf("graph.json holds %q", leak)
		}
	}
	gotB, graphB := graphSources(t, pipeline.LearnOptions{}, b)
	if !slices.Equal(gotB, gotA) {
		t.Errorf("the same capture at another path: sources %q, want %q", gotB, gotA)
	}
	if !bytes.Equal(graphA, graphB) {
		t.Error("the same capture at two paths gives two different graph.json")
	}
	// both copies in one run: one name
	if got, _ := graphSources(t, pipeline.LearnOptions{}, a, b); !slices.Equal(got, want) {
		t.Errorf("both copies: sources %q, want %q", got, want)
	}
}

// TestSourceNames: what each kind of --from is called in the graph.
func TestSourceNames(t *testing.T) {
	tmp := t.TempDir()
	gz := copyFile(t, "../testdata/flows/node-b.json.gz", filepath.Join(tmp, "in", "node-b.json.gz"))
	legacy := copyFile(t, "../testdata/flows/node-c-legacy.json", filepath.Join(tmp, "in", "legacy.json"))
	stdin := copyFile(t, "../testdata/flows/node-a.jsonl", filepath.Join(tmp, "stdin.jsonl"))
	for _, c := range []struct {
		name string
		from []string
		opts pipeline.LearnOptions
		want []string
	}{
		{
			name: "gzip: the digest of the file as stored (what sha256sum prints)",
			from: []string{filepath.Join(tmp, "in", "node-b.json.gz")},
			want: []string{"node-b.json.gz@sha256:" + digest12(gz)},
		},
		{
			name: "a glob: each file by its own name",
			from: []string{filepath.Join(tmp, "in", "*")},
			want: []string{"legacy.json@sha256:" + digest12(legacy), "node-b.json.gz@sha256:" + digest12(gz)},
		},
		{
			name: "standard input is -",
			from: []string{"-"},
			opts: pipeline.LearnOptions{},
			want: []string{"-@sha256:" + digest12(stdin)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if slices.Contains(c.from, "-") {
				c.opts.Collect.Stdin = bytes.NewReader(stdin)
			}
			got, graph := graphSources(t, c.opts, c.from...)
			if !slices.Equal(got, c.want) {
				t.Errorf("sources %q, want %q", got, c.want)
			}
			if bytes.Contains(graph, []byte(tmp)) {
				t.Errorf("graph.json holds the directory %s", tmp)
			}
		})
	}
}

// TestRelearnMergesSources: learning a graph with its capture again keeps
// one name for the capture (the saved graph's names are what this run
// writes).
func TestRelearnMergesSources(t *testing.T) {
	tmp := t.TempDir()
	a := filepath.Join(tmp, "a", "flows.json")
	data := copyFile(t, "../testdata/flows/node-a.jsonl", a)
	g, _, err := pipeline.Learn(context.Background(), []string{a}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(tmp, "graph.json")
	if _, err := pipeline.WriteGraph(saved, g, false); err != nil {
		t.Fatal(err)
	}
	got, _ := graphSources(t, pipeline.LearnOptions{}, saved, testsupport.WriteFile(t, filepath.Join(tmp, "b", "flows.json"), data))
	if want := []string{"flows.json@sha256:" + digest12(data)}; !slices.Equal(got, want) {
		t.Errorf("sources %q, want %q", got, want)
	}
}
