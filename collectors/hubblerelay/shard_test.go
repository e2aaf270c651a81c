package hubblerelay_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestShardOfIsStable pins the rule that gives a node to a shard: shards
// of one relay may run different builds on different platforms, and a
// graph's shards only add up to the cluster if they all split alike.
func TestShardOfIsStable(t *testing.T) {
	cases := []struct {
		node string
		n    int
		want int
	}{
		{"node-a", 2, 1}, {"node-b", 2, 0}, {"node-c", 2, 1},
		{"node-a", 3, 0}, {"node-b", 3, 1}, {"node-c", 3, 2},
		{"kind-kind/kind-worker", 3, 1},
		{"kind-control-plane", 1000003, 638977},
		{"node-a", 1, 0}, {"", 2, 1},
	}
	for _, c := range cases {
		if got := hubblerelay.ShardOf(c.node, c.n); got != c.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", c.node, c.n, got, c.want)
		}
		// the documented rule: FNV-1a 64 of the name, modulo n
		h := fnv.New64a()
		h.Write([]byte(c.node))
		if want := int(h.Sum64() % uint64(c.n)); hubblerelay.ShardOf(c.node, c.n) != want {
			t.Errorf("ShardOf(%q, %d) is not FNV-1a 64 modulo n (%d)", c.node, c.n, want)
		}
	}
}

// TestNodePattern: the node_name pattern of a node names that node only,
// or the node is refused.
func TestNodePattern(t *testing.T) {
	cases := []struct{ node, want, err string }{
		{node: "node-a", want: "default/node-a"},
		{node: "kind-kind/kind-worker", want: "kind-kind/kind-worker"},
		{node: "ip-192-168-85-176.ap-northeast-2.compute.internal", want: "default/ip-192-168-85-176.ap-northeast-2.compute.internal"},
		{node: "10.10.21.166", want: "default/10.10.21.166"},
		{node: "node_1", want: "default/node_1"},
		{node: "node-*", err: "only lower-case letters"},
		{node: "Node-A", err: "only lower-case letters"},
		{node: "a/b/c", err: "more than one '/'"},
		{node: "/node-a", err: "an empty name"},
		{node: "node-a.", err: "a trailing '.'"},
		{node: "node a", err: "only lower-case letters"},
		{node: "node\x1b[2Ja", err: "only lower-case letters"},
	}
	for _, c := range cases {
		got, err := hubblerelay.NodePattern(c.node)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("NodePattern(%q) = %q, %v; want %q", c.node, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--shard") || strings.Contains(err.Error(), "\x1b")):
			t.Errorf("NodePattern(%q): error %v, want one naming --shard and saying %q", c.node, err, c.err)
		}
	}
}

// recordings are the recordings the shard tests replay: the sample and,
// when ../shared is there, the real Hubble captures.
func recordings(t *testing.T) map[string]*relay.Recording {
	t.Helper()
	out := map[string]*relay.Recording{"sample": relaytest.Sample(t)}
	dir, ok := testsupport.FindCaptures("hubble")
	if !ok {
		t.Log("../shared/captures/hubble is absent: the shards of the real captures are not tested")
		return out
	}
	rec, err := relay.Load(context.Background(), []string{filepath.Join(dir, "*")}, collectors.Options{})
	if err != nil {
		t.Fatalf("load the captures: %v", err)
	}
	out["captures"] = rec
	return out
}

// learnRelay learns one window of the relay (a shard of it when shard is
// set), as `learn --from hubble://ADDR [--shard I/N]` does.
func learnRelay(t *testing.T, addr string, ro hubblerelay.Options) (*learner.Graph, *pipeline.Summary) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ro.Logger, _ = newLogger()
	g, sum, err := pipeline.Learn(ctx, []string{"hubble://" + addr}, pipeline.LearnOptions{Live: pipeline.LiveOptions{Relay: ro}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g, sum
}

// TestShardsAddUpToTheRelay: learning every shard I/N of a relay and
// merging the shards' graphs writes, cursors and source names aside, the
// very graph file one learner of the whole relay writes, edge by edge and
// count by count — with and without other server-side filters, which the
// node filter joins — and each shard's graph holds flows of its nodes only.
func TestShardsAddUpToTheRelay(t *testing.T) {
	dir := t.TempDir()
	for name, rec := range recordings(t) {
		r := relaytest.Start(t, rec, relay.Options{}, nil)
		filters := map[string]hubblerelay.Options{"all": {}, "verdicts": {Verdicts: []string{"FORWARDED", "DROPPED"}}}
		if name == "sample" {
			filters["namespaces"] = hubblerelay.Options{Namespaces: []string{"shop", "payments"}, NotNamespaces: []string{"kube-system"}}
		}
		for fname, base := range filters {
			whole, wsum := learnRelay(t, r.Addr, base)
			if wsum.Input.FlowEvents == 0 {
				t.Fatalf("%s %s: the whole relay gave no flow", name, fname)
			}
			want := graphBytes(t, filepath.Join(dir, "whole.json"), whole)
			for _, n := range []int{2, 3} {
				t.Run(fmt.Sprintf("%s/%s/%d", name, fname, n), func(t *testing.T) {
					merged := learner.NewGraph()
					var flows uint64
					for i := range n {
						ro := base
						ro.Shard = hubblerelay.Shard{Index: i, Count: n}
						g, sum := learnRelay(t, r.Addr, ro)
						flows += sum.Input.FlowEvents
						rep := sum.Live[0].(*hubblerelay.Report)
						for _, node := range rep.ShardNodes {
							if hubblerelay.ShardOf(node, n) != i {
								t.Errorf("shard %d/%d took node %s of shard %d", i, n, node, hubblerelay.ShardOf(node, n))
							}
						}
						for _, edges := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
							for k, e := range edges {
								for _, node := range e.NodesSeen {
									if !slices.Contains(rep.ShardNodes, node) {
										t.Errorf("shard %d/%d: edge %s seen on node %s, not the shard's (%v)", i, n, k, node, rep.ShardNodes)
									}
								}
							}
						}
						if !slices.ContainsFunc(rep.SummaryLines(), func(l string) bool {
							return strings.Contains(l, fmt.Sprintf("shard %d/%d: %d of the relay's", i, n, len(rep.ShardNodes)))
						}) {
							t.Errorf("shard %d/%d: the summary does not say the graph is a shard: %q", i, n, rep.SummaryLines())
						}
						merged = pipeline.MergeGraphs(merged, g)
					}
					if flows != wsum.Input.FlowEvents {
						t.Errorf("the shards received %d flows, the whole relay %d", flows, wsum.Input.FlowEvents)
					}
					sameBytes(t, "shards", graphBytes(t, filepath.Join(t.TempDir(), "shards.json"), merged), "whole", want)
				})
			}
		}
	}
}

// TestShardWithoutNodes: a window whose shard has none of the relay's
// nodes ends empty, saying so, rather than failing.
func TestShardWithoutNodes(t *testing.T) {
	r := relaytest.Start(t, relaytest.Sample(t), relay.Options{}, nil)
	// the sample's nodes are in shards 1, 2 and 3 of 5
	g, rep, err := run(t, context.Background(), "hubble://"+r.Addr, hubblerelay.Options{Shard: hubblerelay.Shard{Index: 0, Count: 5}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Edges) != 0 || rep.Flows != 0 {
		t.Errorf("%d edges, %d flows from an empty shard", len(g.Edges), rep.Flows)
	}
	if !strings.Contains(rep.Ended, "shard 0/5 has none of the relay's 3 nodes") {
		t.Errorf("ended %q", rep.Ended)
	}
}

// noNodes is a Hubble server that does not list nodes (one node's Hubble
// server, not a relay): GetNodes is unimplemented.
type noNodes struct{ *relay.Server }

func (noNodes) GetNodes(context.Context, *observerpb.GetNodesRequest) (*observerpb.GetNodesResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GetNodes not implemented")
}

// TestShardRefusals: a shard out of range, a server that does not list
// its nodes, and a node that no node_name pattern names exactly are clear
// errors naming --shard, before any flow is counted.
func TestShardRefusals(t *testing.T) {
	if _, err := hubblerelay.New("hubble://localhost:1", hubblerelay.Options{Shard: hubblerelay.Shard{Index: 2, Count: 2}}); err == nil || !strings.Contains(err.Error(), "--shard 2/2: want I/N with 0 <= I < N") {
		t.Errorf("shard 2/2: %v", err)
	}
	// one node's Hubble server
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(relay.ServerOptions(nil)...)
	observerpb.RegisterObserverServer(g, noNodes{relay.New(relaytest.Sample(t), relay.Options{})})
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	_, _, err = run(t, context.Background(), "hubble://"+lis.Addr().String(), hubblerelay.Options{Shard: hubblerelay.Shard{Index: 0, Count: 2}}, nil)
	if err == nil || !strings.Contains(err.Error(), "--shard 0/2: hubble://"+lis.Addr().String()+" does not list its nodes") {
		t.Errorf("a server without GetNodes: %v", err)
	}
	// a node named with a glob character
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(relaytest.SampleGlob()), "node-a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(bad, bytes.ReplaceAll(raw, []byte(`"node_name":"node-a"`), []byte(`"node_name":"node-*"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := relay.Load(context.Background(), []string{bad}, collectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.Nodes(), []string{"node-*"}) {
		t.Fatalf("the recording's nodes: %v", rec.Nodes())
	}
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	for i := range 2 {
		g, _, err := run(t, context.Background(), "hubble://"+r.Addr, hubblerelay.Options{Shard: hubblerelay.Shard{Index: i, Count: 2}}, nil)
		owner := hubblerelay.ShardOf("node-*", 2) == i
		switch {
		case owner && (err == nil || !strings.Contains(err.Error(), `--shard: the relay lists node "node-*", which a Hubble node_name filter cannot name exactly`)):
			t.Errorf("shard %d/2 of node-*: %v", i, err)
		case !owner && (err != nil || len(g.Edges) != 0):
			t.Errorf("shard %d/2 (without node-*): %v, %d edges", i, err, len(g.Edges))
		}
	}
}

// TestShardFollowTakesNodesThatJoin: followed shards take the node that
// joins the relay after they started: the shard it hashes to (one that
// already had nodes with 2 shards, one that had none and waited with 3)
// opens its stream again with the new filter, reads the new node's flows
// from the window's start and counts no other flow twice; the shards'
// graphs add up to the whole relay's.
func TestShardFollowTakesNodesThatJoin(t *testing.T) {
	rec := relaytest.Sample(t)
	first, _ := rec.Span()
	since := first.Add(-time.Second)
	const late = "node-c"
	// what the late node brings, from a relay where it is there
	whole := relaytest.Start(t, rec, relay.Options{}, nil)
	wg, wsum := learnRelay(t, whole.Addr, hubblerelay.Options{})
	want := graphBytes(t, filepath.Join(t.TempDir(), "whole.json"), wg)
	lateFlows := 0
	{
		src, err := hubblerelay.New("hubble://"+whole.Addr, hubblerelay.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var st collectors.Stats
		if err := src.Run(context.Background(), &st, func(r *record.Record) error {
			if r.Node == late {
				lateFlows++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if lateFlows == 0 {
		t.Fatalf("no flow of %s in the sample", late)
	}
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := relaytest.Start(t, rec, relay.Options{Absent: []string{late}}, nil)
			owner := hubblerelay.ShardOf(late, n)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var total atomic.Int64
			lateSeen := make([]atomic.Int64, n)
			graphs := make([]*learner.Graph, n)
			reports := make([]*hubblerelay.Report, n)
			errs := make([]error, n)
			var wgr sync.WaitGroup
			for i := range n {
				wgr.Go(func() {
					log, _ := newLogger()
					src, err := hubblerelay.New("hubble://"+r.Addr, hubblerelay.Options{
						Follow: true, Since: since, Shard: hubblerelay.Shard{Index: i, Count: n},
						ShardRelist: 50 * time.Millisecond, Logger: log,
					})
					if err != nil {
						errs[i] = err
						return
					}
					l := learner.New(learner.Options{})
					var st collectors.Stats
					errs[i] = src.Run(ctx, &st, func(rc *record.Record) error {
						l.Add(rc)
						if rc.Node == late {
							lateSeen[i].Add(1)
						}
						total.Add(1)
						return nil
					})
					graphs[i], reports[i] = l.Graph(), src.Report()
				})
			}
			waitFor := func(what string, want int64) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for total.Load() < want && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if got := total.Load(); got != want {
					cancel()
					wgr.Wait()
					t.Fatalf("%s: %d flows, want %d (errors %v)", what, got, want, errs)
				}
			}
			before := int64(wsum.Input.FlowEvents) - int64(lateFlows)
			waitFor("before "+late+" joined", before)
			time.Sleep(200 * time.Millisecond) // several relists: nothing changes
			if got := total.Load(); got != before {
				t.Fatalf("%d flows before the join settled, want %d", got, before)
			}
			r.Server.Join(late)
			waitFor("after "+late+" joined", int64(wsum.Input.FlowEvents))
			time.Sleep(200 * time.Millisecond) // nothing more comes (no flow twice)
			cancel()
			wgr.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("shard %d/%d: %v", i, n, err)
				}
			}
			if got := total.Load(); got != int64(wsum.Input.FlowEvents) {
				t.Fatalf("%d flows in all, want %d", got, wsum.Input.FlowEvents)
			}
			for i := range n {
				want := int64(0)
				if i == owner {
					want = int64(lateFlows)
				}
				if got := lateSeen[i].Load(); got != want {
					t.Errorf("shard %d/%d: %d flows of %s, want %d", i, n, got, late, want)
				}
			}
			if !slices.Contains(reports[owner].ShardNodes, late) {
				t.Errorf("shard %d/%d's nodes %v lack %s", owner, n, reports[owner].ShardNodes, late)
			}
			for i, rep := range reports {
				for _, b := range rep.Buffer {
					if !slices.Contains(rep.ShardNodes, b.Node) {
						t.Errorf("shard %d/%d reports the buffer of node %s, not its own", i, n, b.Node)
					}
				}
				if len(rep.Buffer) != len(rep.ShardNodes) {
					t.Errorf("shard %d/%d reports %d buffers for its %d nodes", i, n, len(rep.Buffer), len(rep.ShardNodes))
				}
			}
			merged := learner.NewGraph()
			for _, g := range graphs {
				merged = pipeline.MergeGraphs(merged, g)
			}
			merged.Judge(false)
			sameBytes(t, "shards", graphBytes(t, filepath.Join(t.TempDir(), "shards.json"), merged), "whole", want)
		})
	}
}
