package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

func learnTheSample(t *testing.T, learnDropped bool) (*learner.Graph, *pipeline.Summary) {
	t.Helper()
	glob, err := filepath.Abs("../testdata/flows/*.json*")
	if err != nil {
		t.Fatal(err)
	}
	g, sum, err := pipeline.Learn(context.Background(), []string{glob}, pipeline.LearnOptions{Learn: learner.Options{LearnDropped: learnDropped}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g, sum
}

func number(t *testing.T, re, s string) uint64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRolloutCountsLikeSummary: the sample has edges between namespaces;
// ROLLOUT.md's flow total is the run summary's "learned" (each flow once,
// on its edge), not the sum of the namespaces' counts, which counts an
// edge between two namespaces at both ends; with --learn-dropped too.
func TestRolloutCountsLikeSummary(t *testing.T) {
	for _, dropped := range []bool{false, true} {
		t.Run(fmt.Sprintf("learn-dropped=%v", dropped), func(t *testing.T) { rolloutCountsLikeSummary(t, dropped) })
	}
}

func rolloutCountsLikeSummary(t *testing.T, learnDropped bool) {
	g, sum := learnTheSample(t, learnDropped)
	cross := 0
	var edgeFlows uint64
	for _, e := range g.Edges {
		edgeFlows += e.Flows
		src, dst := g.Nodes[e.Src], g.Nodes[e.Dst]
		if src.Kind == learner.NodeWorkload && dst.Kind == learner.NodeWorkload && src.Namespace != dst.Namespace {
			cross++
		}
	}
	if cross == 0 {
		t.Fatal("the sample has no edge between two namespaces: the test proves nothing")
	}
	set, tree, err := pipeline.Render(g, synth.Options{}, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	pipeline.PrintSummary(&out, sum, g, set, "policies")
	learned := number(t, `flows: .* ([0-9]+) learned`, out.String())
	rollout := number(t, `from ([0-9]+) request flows learned`, string(tree["ROLLOUT.md"]))
	if rollout != learned || learned != edgeFlows {
		t.Errorf("ROLLOUT.md says %d request flows, the run summary %d learned; the edges hold %d", rollout, learned, edgeFlows)
	}
	if learnDropped {
		return // more namespaces are still learning: their evidence has no count to add
	}
	var perNamespace uint64
	for _, m := range regexp.MustCompile(`\| ([0-9]+) request flows`).FindAllStringSubmatch(string(tree["ROLLOUT.md"]), -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		perNamespace += n
	}
	if perNamespace <= rollout {
		t.Errorf("the namespaces' counts add up to %d, the total is %d: the sample should count its cross-namespace edges in both namespaces", perNamespace, rollout)
	}
}

// TestSummaryHostileNames: names in the run summary (skip reasons, live
// sources and relay nodes, findings) are printed through escape.Terminal:
// no control character reaches the terminal, and no name adds a line.
func TestSummaryHostileNames(t *testing.T) {
	g, _ := learnTheSample(t, false)
	set, _, err := pipeline.Render(g, synth.Options{}, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	print := func(name string) string {
		sum := &pipeline.Summary{Live: []collectors.LiveReport{&hubblerelay.Report{Source: "hubble://" + name, Window: name, Ended: name,
			Buffer: []hubblerelay.NodeBuffer{{Node: name, NumFlows: 10, MaxFlows: 10}}, Truncated: []string{name}}}}
		sum.Input.Skip("drops not caused by policy ("+name+")", 2)
		s := *set
		s.Findings = append([]policy.Finding{{Kind: policy.FindMetadata, Namespace: name, Workload: name, Peer: name, Proto: "TCP", Port: 80, Message: name}}, set.Findings...)
		s.System = []string{name}
		var out bytes.Buffer
		pipeline.PrintSummary(&out, sum, g, &s, name)
		return out.String()
	}
	want := print("plain")
	for _, name := range []string{"a\x1b]0;pwned\x07b", "x\ny", "x\ry", "\x1b[2J\x1b[H", "bidi\u202eevil", "nul\x00"} {
		got := print(name)
		for i, r := range got {
			if r < 0x20 && r != '\n' || r == 0x7f || r == '\u202e' {
				t.Errorf("%q: control character %U at %d: %q", name, r, i, got[max(0, i-30):min(len(got), i+30)])
				break
			}
		}
		if strings.Count(got, "\n") != strings.Count(want, "\n") {
			t.Errorf("%q: %d lines, %d with a plain name", name, strings.Count(got, "\n"), strings.Count(want, "\n"))
		}
	}
}
