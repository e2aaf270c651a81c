package relay_test

import (
	"context"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

func client(t *testing.T, addr string) observerpb.ObserverClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return observerpb.NewObserverClient(conn)
}

// collect reads a GetFlows stream: flows (uuid or time), until EOF, an
// error, max events, or the timeout.
func collect(t *testing.T, c observerpb.ObserverClient, req *observerpb.GetFlowsRequest, max int, timeout time.Duration) ([]*observerpb.GetFlowsResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := c.GetFlows(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []*observerpb.GetFlowsResponse
	for len(out) < max {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if status.Code(err) == codes.DeadlineExceeded {
				return out, nil
			}
			return out, err
		}
		out = append(out, resp)
	}
	return out, nil
}

func TestGetFlows(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	c := client(t, r.Addr)
	first, last := rec.Span()
	ts := timestamppb.New
	mid := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	flows := func(rs []*observerpb.GetFlowsResponse) []*flowpb.Flow {
		var out []*flowpb.Flow
		for _, r := range rs {
			if f := r.GetFlow(); f != nil {
				out = append(out, f)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		req     *observerpb.GetFlowsRequest
		check   func(t *testing.T, rs []*observerpb.GetFlowsResponse)
		wantErr codes.Code
	}{
		{name: "all", req: &observerpb.GetFlowsRequest{Number: ^uint64(0)}, check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
			if len(rs) != rec.Len() {
				t.Errorf("%d events, want %d", len(rs), rec.Len())
			}
			for i := 1; i < len(rs); i++ {
				if rs[i].GetTime().AsTime().Before(rs[i-1].GetTime().AsTime()) {
					t.Fatalf("event %d out of time order", i)
				}
			}
		}},
		{name: "last 20", req: &observerpb.GetFlowsRequest{Number: 20}, check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
			if len(rs) != 20 || !rs[19].GetTime().AsTime().Equal(last) {
				t.Errorf("%d events ending %v, want the last 20 ending %v", len(rs), rs[len(rs)-1].GetTime().AsTime(), last)
			}
		}},
		{name: "first 5", req: &observerpb.GetFlowsRequest{Number: 5, First: true}, check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
			if len(rs) != 5 || !rs[0].GetTime().AsTime().Equal(first) {
				t.Errorf("%d events from %v, want the first 5 from %v", len(rs), rs[0].GetTime().AsTime(), first)
			}
		}},
		{name: "since until", req: &observerpb.GetFlowsRequest{Since: ts(mid), Until: ts(mid.Add(time.Hour))}, check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
			if len(rs) == 0 {
				t.Fatal("no flow in the hour")
			}
			for _, r := range rs {
				if at := r.GetTime().AsTime(); at.Before(mid) || at.After(mid.Add(time.Hour)) {
					t.Fatalf("event at %v outside the window", at)
				}
			}
		}},
		{name: "namespace whitelist", req: &observerpb.GetFlowsRequest{Number: ^uint64(0), Whitelist: []*flowpb.FlowFilter{{SourcePod: []string{"shop/"}}, {DestinationPod: []string{"shop/"}}}},
			check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
				fs := flows(rs)
				if len(fs) == 0 {
					t.Fatal("nothing from or to shop")
				}
				for _, f := range fs {
					if f.GetSource().GetNamespace() != "shop" && f.GetDestination().GetNamespace() != "shop" {
						t.Fatalf("flow %s neither from nor to shop", f.GetUuid())
					}
				}
			}},
		{name: "verdict and blacklist", req: &observerpb.GetFlowsRequest{Number: ^uint64(0),
			Whitelist: []*flowpb.FlowFilter{{Verdict: []flowpb.Verdict{flowpb.Verdict_DROPPED}}},
			Blacklist: []*flowpb.FlowFilter{{NodeName: []string{"node-a"}}}},
			check: func(t *testing.T, rs []*observerpb.GetFlowsResponse) {
				fs := flows(rs)
				if len(fs) == 0 {
					t.Fatal("no dropped flow")
				}
				for _, f := range fs {
					if f.GetVerdict() != flowpb.Verdict_DROPPED || f.GetNodeName() == "node-a" {
						t.Fatalf("flow %v on %s passed the filters", f.GetVerdict(), f.GetNodeName())
					}
				}
			}},
		{name: "unsupported filter", req: &observerpb.GetFlowsRequest{Whitelist: []*flowpb.FlowFilter{{HttpPath: []string{"/"}}}}, wantErr: codes.InvalidArgument},
		{name: "until before since", req: &observerpb.GetFlowsRequest{Since: ts(last), Until: ts(first)}, wantErr: codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := collect(t, c, tc.req, 1<<20, 10*time.Second)
			if tc.wantErr != codes.OK {
				if status.Code(err) != tc.wantErr {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, rs)
		})
	}
}

// TestStatusAndBuffers: with a per-node ring buffer, GetFlows, ServerStatus
// and GetNodes say what a Hubble node says: the newest flows only, full.
func TestStatusAndBuffers(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{BufferSize: 100}, nil)
	c := client(t, r.Addr)
	st, err := c.ServerStatus(context.Background(), &observerpb.ServerStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetNumFlows() != 300 || st.GetMaxFlows() != 300 || st.GetSeenFlows() != uint64(rec.Len()) || st.GetNumConnectedNodes().GetValue() != 3 {
		t.Errorf("status %v; want 300/300 flows held, %d seen, 3 nodes", st, rec.Len())
	}
	nodes, err := c.GetNodes(context.Background(), &observerpb.GetNodesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.GetNodes()) != 3 || nodes.GetNodes()[0].GetName() != "node-a" || nodes.GetNodes()[0].GetNumFlows() != 100 || nodes.GetNodes()[0].GetMaxFlows() != 100 {
		t.Errorf("nodes %v", nodes.GetNodes())
	}
	rs, err := collect(t, c, &observerpb.GetFlowsRequest{Number: ^uint64(0)}, 1<<20, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range rs {
		per[r.GetNodeName()]++
	}
	for n, k := range per {
		if n != "" && k > 100 {
			t.Errorf("node %s: %d events from a 100-flow buffer", n, k)
		}
	}
}

// TestFollowLoop: a follower of a looping replay gets the next loops, times
// moved on and uuids unique.
func TestFollowLoop(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{Loop: true}, nil)
	c := client(t, r.Addr)
	first, _ := rec.Span()
	n := rec.Len()*2 + 10
	rs, err := collect(t, c, &observerpb.GetFlowsRequest{Follow: true, Since: timestamppb.New(first)}, n, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Fatalf("%d events, want %d (two loops and more)", len(rs), n)
	}
	// a uuid belongs to one loop (the recording may repeat one within a
	// loop), shaped as Hubble's (8-4-4-4-12 lowercase hex)
	canonical := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]int{}
	for i, r := range rs {
		id := r.GetFlow().GetUuid()
		if id == "" {
			continue
		}
		if j, ok := seen[id]; ok && j/rec.Len() != i/rec.Len() {
			t.Fatalf("events %d and %d: the same uuid %s in two loops", j, i, id)
		}
		seen[id] = i
		if i >= rec.Len() && canonical.MatchString(rs[i%rec.Len()].GetFlow().GetUuid()) && !canonical.MatchString(id) {
			t.Fatalf("event %d: uuid %q of a later loop is not shaped as the recorded one's", i, id)
		}
	}
	for i := range rec.Len() {
		a, b := rs[i], rs[i+rec.Len()]
		if !b.GetTime().AsTime().After(a.GetTime().AsTime()) {
			t.Fatalf("event %d: the next loop's copy is not later (%v, %v)", i, a.GetTime().AsTime(), b.GetTime().AsTime())
		}
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].GetTime().AsTime().Before(rs[i-1].GetTime().AsTime()) {
			t.Fatalf("event %d goes back in time", i)
		}
	}
}

// TestRealtime: a realtime replay releases flows as time passes.
func TestRealtime(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{Pace: relay.Realtime, Speed: 86400 / 2}, nil)
	c := client(t, r.Addr)
	first, _ := rec.Span()
	early, err := collect(t, c, &observerpb.GetFlowsRequest{Since: timestamppb.New(first)}, 1<<20, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	late, err := collect(t, c, &observerpb.GetFlowsRequest{Since: timestamppb.New(first)}, 1<<20, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(early) >= len(late) || len(late) != rec.Len() {
		t.Errorf("%d events at the start, %d after the replay's 2 s; want fewer, then all %d", len(early), len(late), rec.Len())
	}
}
