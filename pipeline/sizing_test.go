package pipeline_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
)

// TestWorkloadLimitWarns: a window with more distinct workloads than
// limits.workloads says so in the run summary, with the count and the
// memory it costs; at or under the limit, or with the limit off, it is
// silent.
func TestWorkloadLimitWarns(t *testing.T) {
	files, err := filepath.Glob("../testdata/flows/*.json*")
	if err != nil || len(files) == 0 {
		t.Fatalf("sample flows: %v", err)
	}
	g, _, err := pipeline.Learn(context.Background(), files, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	workloads := 0
	for _, n := range g.Nodes {
		if n.Kind == learner.NodeWorkload {
			workloads++
		}
	}
	tests := []struct {
		limit int
		warns bool
	}{{0, false}, {workloads, false}, {workloads - 1, true}}
	for _, tt := range tests {
		_, sum, err := pipeline.Learn(context.Background(), files, pipeline.LearnOptions{MaxWorkloads: tt.limit}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		pipeline.PrintSummary(&out, sum, g, nil, "")
		warned := strings.Contains(out.String(), "warning:")
		if warned != tt.warns {
			t.Errorf("limit %d with %d workloads: warned %v, want %v:\n%s", tt.limit, workloads, warned, tt.warns, out.String())
		}
		if tt.warns && !strings.Contains(sum.SizeWarning, "limits.workloads") {
			t.Errorf("limit %d: warning %q does not name limits.workloads", tt.limit, sum.SizeWarning)
		}
	}
}
