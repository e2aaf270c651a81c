package relay_test

import (
	"context"
	"slices"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestNodeNameFilter: node_name patterns select flows as Hubble's filter
// does: CLUSTER/NODE globs, a name without a cluster in the "default"
// cluster, a pattern without a cluster in every cluster, patterns
// canonicalized, and a pattern outside the grammar refused.
func TestNodeNameFilter(t *testing.T) {
	r := relaytest.Start(t, relaytest.Sample(t), relay.Options{}, nil)
	c := client(t, r.Addr)
	cases := []struct {
		patterns []string
		want     []string // the nodes whose flows come
		bad      bool
	}{
		{patterns: []string{"node-a"}, want: []string{"node-a"}},
		{patterns: []string{"default/node-a"}, want: []string{"node-a"}},
		{patterns: []string{"/node-b"}, want: []string{"node-b"}},
		{patterns: []string{"other/node-a"}},
		{patterns: []string{"node-a", "default/node-c"}, want: []string{"node-a", "node-c"}},
		{patterns: []string{"node-*"}, want: []string{"node-a", "node-b", "node-c"}},
		{patterns: []string{"*/node-b"}, want: []string{"node-b"}},
		{patterns: []string{" NODE-A. "}, want: []string{"node-a"}},
		{patterns: []string{"node"}},
		{patterns: []string{"a/b/c"}, bad: true},
		{patterns: []string{"node?a"}, bad: true},
		{patterns: []string{""}, bad: true},
	}
	for _, tc := range cases {
		rs, err := collect(t, c, &observerpb.GetFlowsRequest{Number: ^uint64(0), Whitelist: []*flowpb.FlowFilter{{NodeName: tc.patterns}}}, 1<<20, 10*time.Second)
		if tc.bad {
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%q: %v, want InvalidArgument", tc.patterns, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.patterns, err)
		}
		var got []string
		for _, r := range rs {
			if f := r.GetFlow(); f != nil && !slices.Contains(got, f.GetNodeName()) {
				got = append(got, f.GetNodeName())
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: flows of %v, want %v", tc.patterns, got, tc.want)
		}
	}
}

// TestJoin: an absent node is neither listed nor served until it joins;
// then its buffer is there, and a follower gets its events.
func TestJoin(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{Absent: []string{"node-c"}}, nil)
	c := client(t, r.Addr)
	names := func() []string {
		resp, err := c.GetNodes(context.Background(), &observerpb.GetNodesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range resp.GetNodes() {
			out = append(out, n.GetName())
		}
		return out
	}
	count := func() int {
		rs, err := collect(t, c, &observerpb.GetFlowsRequest{Number: ^uint64(0), Whitelist: []*flowpb.FlowFilter{{NodeName: []string{"node-c"}}}}, 1<<20, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rs {
			if r.GetFlow() != nil {
				n++
			}
		}
		return n
	}
	if got := names(); !slices.Equal(got, []string{"node-a", "node-b"}) {
		t.Fatalf("nodes before the join: %v", got)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d flows of node-c before it joined", n)
	}
	r.Server.Join("node-c")
	if got := names(); !slices.Equal(got, []string{"node-a", "node-b", "node-c"}) {
		t.Fatalf("nodes after the join: %v", got)
	}
	if n := count(); n != 910 {
		t.Fatalf("%d flows of node-c after it joined, want its 910", n)
	}
}
