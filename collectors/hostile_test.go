package collectors_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

// hostile is a file of testdata/hostile at the repository root.
func hostile(name string) string { return filepath.Join("..", "testdata", "hostile", name) }

// TestHostileInput: each hostile file is read as flowfence reads it
// (pipeline.Learn, format detected): the good flows are learned, the
// records with invalid identities are rejected and counted, each with a
// warning naming file:line, invalid DNS names and labels are dropped and
// counted, broken documents are malformed at their line — and with
// --strict the first rejected record stops the run at its line.
func TestHostileInput(t *testing.T) {
	cases := []struct {
		file      string
		flows     uint64 // records emitted
		rejected  []int  // lines of records rejected for their identity
		dropped   uint64 // labels and DNS names dropped
		malformed []int
		edges     int
		forbidden []string // must not reach the graph's names
	}{
		{file: "hubble-identities.jsonl", flows: 4, rejected: []int{2, 3, 4}, dropped: 2, edges: 2,
			forbidden: []string{"Shop", "../", "etc", "evil", "Secret"}},
		{file: "calico-identities.jsonl", flows: 3, rejected: []int{2, 3}, dropped: 1, edges: 2,
			forbidden: []string{"Shop", "../", "etc", "evil", "Secret"}},
		{file: "goldmane-identities.jsonl", flows: 2, rejected: []int{2, 3}, edges: 2,
			forbidden: []string{"Shop", "../", "etc"}},
		{file: "cut-pretty.json", flows: 2, malformed: []int{59}, edges: 1},
		{file: "brackets-in-strings.json", flows: 2, edges: 1},
		{file: "deep-nesting.json", flows: 2, malformed: []int{2}, edges: 1},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := hostile(tc.file)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			g, sum, err := pipeline.Learn(context.Background(), []string{path}, pipeline.LearnOptions{}, log)
			if err != nil {
				t.Fatalf("Learn: %v", err)
			}
			in := sum.Input
			if in.FlowEvents != tc.flows || in.Skipped[record.SkipInvalidIdentity] != uint64(len(tc.rejected)) ||
				in.Skipped[collectors.SkipDroppedNames] != tc.dropped || in.Malformed != uint64(len(tc.malformed)) {
				t.Errorf("flows %d, rejected %d, dropped %d, malformed %d; want %d, %d, %d, %d (skipped %v)", in.FlowEvents,
					in.Skipped[record.SkipInvalidIdentity], in.Skipped[collectors.SkipDroppedNames], in.Malformed,
					tc.flows, len(tc.rejected), tc.dropped, len(tc.malformed), in.Skipped)
			}
			text := logs.String()
			for _, n := range tc.rejected {
				if !strings.Contains(text, fmt.Sprintf("%s:%d: ", path, n)) || !strings.Contains(text, "invalid identity") {
					t.Errorf("no warning names the rejected record at %s:%d:\n%s", path, n, text)
				}
			}
			for _, n := range tc.malformed {
				if !strings.Contains(text, fmt.Sprintf("%s:%d: malformed", path, n)) {
					t.Errorf("no warning names the malformed document at %s:%d:\n%s", path, n, text)
				}
			}
			if len(g.Edges) != tc.edges {
				t.Errorf("%d edges learned, want %d: %v", len(g.Edges), tc.edges, g.Edges)
			}
			var names bytes.Buffer
			for id := range g.Nodes {
				names.WriteString(id + "\n")
			}
			for k, e := range g.Edges {
				fmt.Fprintf(&names, "%s %s %s\n", k, e.Src, e.Dst)
			}
			for ip, ns := range g.DNS {
				fmt.Fprintf(&names, "%s %q\n", ip, ns)
			}
			for _, bad := range tc.forbidden {
				if strings.Contains(names.String(), bad) {
					t.Errorf("the graph holds %q:\n%s", bad, names.String())
				}
			}
			if len(tc.rejected) > 0 {
				_, _, err := pipeline.Learn(context.Background(), []string{path}, pipeline.LearnOptions{Collect: collectors.Options{Strict: true}}, nil)
				var lerr *collectors.LineError
				if !errors.As(err, &lerr) || lerr.Line != tc.rejected[0] || !strings.Contains(err.Error(), "not a valid Kubernetes name") {
					t.Errorf("--strict: %v, want the first rejected record at %s:%d", err, path, tc.rejected[0])
				}
			}
		})
	}
}

// TestHostileGenerate: `generate` over the hostile identity files writes a
// tree in which no path and no content holds any of the bad names.
func TestHostileGenerate(t *testing.T) {
	files := []string{hostile("hubble-identities.jsonl"), hostile("calico-identities.jsonl"), hostile("goldmane-identities.jsonl")}
	g, _, err := pipeline.Learn(context.Background(), files, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"k8s", "cilium", "calico"} {
		_, tree, err := pipeline.Render(g, synth.Options{}, format)
		if err != nil {
			t.Fatalf("%s: Render: %v", format, err)
		}
		if len(tree) == 0 {
			t.Fatalf("%s: empty tree", format)
		}
		for path, content := range tree {
			for _, bad := range []string{"Shop", "../", "etc/", "evil", "Secret", "apiVersion: v1\n  kind: Secret"} {
				if strings.Contains(path, bad) {
					t.Errorf("%s: path %q holds %q", format, path, bad)
				}
				if bytes.Contains(content, []byte(bad)) {
					t.Errorf("%s: %s holds %q", format, path, bad)
				}
			}
		}
	}
}
