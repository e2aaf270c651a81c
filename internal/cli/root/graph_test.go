package root_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraph runs `flowfence graph` as the binary does: each format on
// stdout or into --out, -n, --baseline from a graph `learn` wrote, and the
// errors a user gets for a bad flag.
func TestGraph(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "node-a.graph.json")
	must(t, "learn", "--quiet", "--from", "../../../testdata/flows/node-a.jsonl", "--graph", base)
	tests := []struct {
		name    string
		args    []string
		out     string   // --out file name, else stdout
		want    []string // in the picture
		absent  []string
		wantErr string
	}{
		{name: "mermaid on stdout (the default)", want: []string{"flowchart LR\n", `subgraph g5["shop"]`, `-.->|"TCP/8080 (denied)"|`, "(1 denied, 0 new)"}},
		{name: "dot into a file", args: []string{"-o", "dot"}, out: "graph.dot", want: []string{"digraph flowfence {", "subgraph cluster_g5 {", `label="shop";`, `label="TCP/8080 (denied)", style=dashed`}},
		{name: "html into a file", args: []string{"-o", "html"}, out: "graph.html", want: []string{"<!DOCTYPE html>", `<script type="application/json" id="flowfence-graph">`, `"name":"shop"`, "Content-Security-Policy"}, absent: []string{"<script src", "<link", "<iframe", "<img"}},
		{name: "-n shop", args: []string{"-n", "shop"}, want: []string{`["frontend"]`, `["coredns"]`, `["prometheus"]`}, absent: []string{`["backup"]`, `["fraud"]`, `["worker"]`}},
		{name: "--namespace twice", args: []string{"--namespace", "data", "--namespace", "payments"}, want: []string{`["postgres"]`, `["fraud"]`, `["catalog"]`}, absent: []string{`["shop-staging"]`, `(["203.0.113.50"])`}},
		{name: "--baseline", args: []string{"--baseline", base}, want: []string{"==>", "(new)", "linkStyle"}},
		{name: "a saved graph as the source", args: []string{"--from", base, "-o", "dot"}, want: []string{"digraph flowfence {"}},
		{name: "unknown format", args: []string{"-o", "svg"}, wantErr: "-o \"svg\": one of mermaid|dot|html"},
		{name: "unknown namespace", args: []string{"-n", "nosuch"}, wantErr: "-n: no workload of the graph is in namespace nosuch"},
		{name: "missing baseline", args: []string{"--baseline", filepath.Join(dir, "none.json")}, wantErr: "--baseline: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"graph", "--from", sample}
			if tt.out != "" {
				args = append(args, "--out", filepath.Join(t.TempDir(), tt.out))
			}
			args = append(args, tt.args...)
			stdout, stderr, err := run(t, "", args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("graph: %v\n%s", err, stderr)
			}
			got := stdout
			if tt.out != "" {
				if stdout != "" {
					t.Errorf("stdout holds %d bytes with --out", len(stdout))
				}
				b, err := os.ReadFile(args[len(args)-len(tt.args)-1])
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
				if !strings.Contains(stderr, "written: ") {
					t.Errorf("stderr %q does not say what was written", stderr)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("the picture lacks %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("the picture holds %q", a)
				}
			}
		})
	}
}
