package diffcheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

const sampleGlob = "../testdata/flows/*.json*"

// cut is inside the sample's window: the shop-staging namespace starts
// talking at 19:22, every other edge is seen before 04:00 and after 19:00.
var (
	// zeroTime is no cut: the whole sample.
	zeroTime time.Time
	cutNoon  = time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	cut10    = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
)

// learn learns the sample, up to until when it is not zero.
func learn(t testing.TB, until time.Time) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{sampleGlob}, pipeline.LearnOptions{Until: until}, nil)
	if err != nil {
		t.Fatalf("learn: %v", err)
	}
	return g
}

// render generates the k8s tree for g, as flowfence generate does.
func render(t testing.TB, g *learner.Graph) output.Tree {
	t.Helper()
	_, tree, err := pipeline.Render(g, synth.Options{}, "k8s")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return tree
}

// writeTree writes tree to a fresh directory, after edit (may be nil).
func writeTree(t testing.TB, tree output.Tree, edit func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "policies")
	if err := output.WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	return dir
}

// flowKeys renders flows as "src -> dst PROTO/port" for comparisons.
func flowKeys(fs []diffcheck.Flow) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Source+" -> "+f.Destination+" "+f.PortString())
	}
	return out
}

func join(s []string) string { return strings.Join(s, "\n") }

func replaceIn(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
