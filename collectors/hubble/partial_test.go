package hubble_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/flowfence/flowfence/learner"
)

// learnPartial learns a file of testdata/partial through the file source
// (fast path and protojson alike: workers 1 and 3) and learner.Learner.
func learnPartial(t *testing.T, name string, workers int) (*learner.Graph, runOut) {
	t.Helper()
	out := runFile(t, filepath.Join("testdata", "partial", name), true, workers)
	if out.err != nil || out.openErr != nil {
		t.Fatalf("%s: %v %v", name, out.err, out.openErr)
	}
	l := learner.New(learner.Options{})
	for i := range out.recs {
		l.Add(&out.recs[i])
	}
	return l.Graph(), out
}

// edgeList is a graph's learned edges as "src -> dst proto/port ×flows".
func edgeList(g *learner.Graph) []string {
	var out []string
	for k, e := range g.Edges {
		out = append(out, fmt.Sprintf("%s ×%d", k, e.Flows))
	}
	sort.Strings(out)
	return out
}

// TestPartialFlows: flows of older agents and partial records — `reply`
// without `is_reply`, no `uuid`, no `Type`, L7 records, `source_xlated`,
// endpoints without labels, IPv6, bare flows with `reply` — learn the
// edges docs/DESIGN.md's rules give, with requests and replies counted as
// such.
func TestPartialFlows(t *testing.T) {
	const (
		fe   = "pod:shop/frontend"
		cart = "pod:shop/cart"
	)
	cases := []struct {
		file              string
		edges             []string
		requests, replies uint64
		duplicates        uint64
	}{
		// SYN: request; SYN+ACK and ACK with reply=true: replies; a bare
		// ACK with neither is unknown (ignored)
		{"reply-without-is-reply.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1"}, 1, 2, 0},
		{"legacy-reply.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1"}, 1, 1, 0},
		// no uuid: both copies count; one uuid: the resent copy is a duplicate
		{"no-uuid.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×3"}, 3, 0, 1},
		{"no-type.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1"}, 1, 1, 0},
		{"l7.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1", fe + " -> pod:kube-system/coredns UDP/53 ×1"}, 2, 2, 0},
		{"source-xlated.jsonl", []string{fe + " -> ip:203.0.113.10 TCP/443 ×1"}, 1, 0, 0},
		{"no-labels.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1", fe + " -> ip:198.51.100.7 TCP/443 ×1"}, 2, 0, 0},
		{"ipv6.jsonl", []string{fe + " -> " + cart + " TCP/8080 ×1", fe + " -> ip:2001:db8::10 TCP/443 ×1", fe + " -> " + fe + " ICMPv6/0 ×1"}, 3, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			sort.Strings(tc.edges)
			for _, workers := range []int{1, 3} {
				g, out := learnPartial(t, tc.file, workers)
				if got := edgeList(g); !reflect.DeepEqual(got, tc.edges) {
					t.Errorf("workers %d: edges\n got %q\nwant %q", workers, got, tc.edges)
				}
				if g.Stats.Requests != tc.requests || g.Stats.Replies != tc.replies || g.Stats.Duplicates != tc.duplicates {
					t.Errorf("workers %d: requests %d replies %d duplicates %d; want %d %d %d (stats %+v)", workers,
						g.Stats.Requests, g.Stats.Replies, g.Stats.Duplicates, tc.requests, tc.replies, tc.duplicates, g.Stats)
				}
				if out.st.Malformed != 0 || out.st.FlowEvents == 0 {
					t.Errorf("workers %d: %d malformed, %d flows", workers, out.st.Malformed, out.st.FlowEvents)
				}
			}
		})
	}
}
