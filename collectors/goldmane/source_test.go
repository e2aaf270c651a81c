package goldmane_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// server is an in-process Goldmane Flows service over the stored flows.
type server struct {
	goldmanepb.UnimplementedFlowsServer
	flows  []*goldmanepb.Flow
	stream []*goldmanepb.Flow
	lists  []*goldmanepb.FlowListRequest
	// pace is the time between two streamed flows (0: at once).
	pace time.Duration
}

func (s *server) List(_ context.Context, req *goldmanepb.FlowListRequest) (*goldmanepb.FlowListResult, error) {
	s.lists = append(s.lists, req)
	var sel []*goldmanepb.FlowResult
	for i, f := range s.flows {
		if f.GetStartTime() >= req.GetStartTimeGte() && (req.GetStartTimeLt() == 0 || f.GetStartTime() < req.GetStartTimeLt()) {
			sel = append(sel, &goldmanepb.FlowResult{Id: int64(i), Flow: f})
		}
	}
	size := req.GetPageSize()
	if size <= 0 {
		size = int64(len(sel)) + 1
	}
	pages := (int64(len(sel)) + size - 1) / size
	lo := min(req.GetPage()*size, int64(len(sel)))
	hi := min(lo+size, int64(len(sel)))
	return &goldmanepb.FlowListResult{Meta: &goldmanepb.ListMetadata{TotalPages: pages, TotalResults: int64(len(sel))}, Flows: sel[lo:hi]}, nil
}

func (s *server) Stream(req *goldmanepb.FlowStreamRequest, st grpc.ServerStreamingServer[goldmanepb.FlowResult]) error {
	for i, f := range s.stream {
		if f.GetStartTime() < req.GetStartTimeGte() {
			continue
		}
		if s.pace > 0 {
			time.Sleep(s.pace)
		}
		if err := st.Send(&goldmanepb.FlowResult{Id: int64(i), Flow: f}); err != nil {
			return err
		}
	}
	<-st.Context().Done() // a live stream never ends by itself
	return nil
}

// serve starts srv with Goldmane's mutual TLS on loopback.
func serve(t *testing.T, p *relaytest.Certs, srv goldmanepb.FlowsServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(p.ServerTLS(true))))
	goldmanepb.RegisterFlowsServer(gs, srv)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return "goldmane://" + lis.Addr().String()
}

func flow(start int64, src, dst string, port int64, reporter goldmanepb.Reporter, action goldmanepb.Action, n int64) *goldmanepb.Flow {
	dstType := goldmanepb.EndpointType_WorkloadEndpoint
	dstNS := "shop"
	if dst == "pub" {
		dstType, dstNS = goldmanepb.EndpointType_Network, "-"
	}
	return &goldmanepb.Flow{
		Key: &goldmanepb.FlowKey{SourceName: src, SourceNamespace: "shop", SourceType: goldmanepb.EndpointType_WorkloadEndpoint,
			DestName: dst, DestNamespace: dstNS, DestType: dstType, DestPort: port, Proto: "tcp", Reporter: reporter, Action: action},
		StartTime: start, EndTime: start + 15, SourceLabels: []string{"app=" + strings.Split(src, "-")[0]},
		NumConnectionsStarted: n,
	}
}

func run(t *testing.T, url string, opts goldmane.Options) ([]record.Record, *collectors.Stats, error) {
	t.Helper()
	src, err := goldmane.NewSource(url, opts)
	if err != nil {
		return nil, nil, err
	}
	var recs []record.Record
	st := &collectors.Stats{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = src.Run(ctx, st, func(r *record.Record) error { recs = append(recs, *r); return nil })
	return recs, st, err
}

func TestSourceMutualTLS(t *testing.T) {
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	const t0 = 1_764_970_800 // 2025-12-05T21:40:00Z
	srv := &server{
		flows: []*goldmanepb.Flow{
			flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 3),
			flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Dst, goldmanepb.Action_Allow, 3),
			flow(t0+60, "frontend-6b7d9c4f5-*", "pub", 443, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 2),
			flow(t0+120, "cart-5d8f9b7c4-*", "redis-0", 6379, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1),
			flow(t0+3600, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 9090, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1),
		},
		stream: []*goldmanepb.Flow{
			flow(t0+7200, "frontend-6b7d9c4f5-*", "catalog-7f9c8d6b5-*", 8080, goldmanepb.Reporter_Dst, goldmanepb.Action_Allow, 4),
		},
	}
	url := serve(t, p, srv)
	good := goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey, PageSize: 2}

	t.Run("List with a time window, paged", func(t *testing.T) {
		o := good
		o.Since, o.Until = time.Unix(t0, 0), time.Unix(t0+3600, 0) // excludes the 9090 flow
		recs, st, err := run(t, url, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 || st.FlowEvents != 4 {
			t.Fatalf("got %d records (%d flow events), want the 4 flows of the window", len(recs), st.FlowEvents)
		}
		last := srv.lists[len(srv.lists)-1]
		if last.GetStartTimeGte() != t0 || last.GetStartTimeLt() != t0+3600 || len(srv.lists) < 2 {
			t.Errorf("requests %v: want start_time_gte=%d start_time_lt=%d over at least 2 pages", srv.lists, t0, t0+3600)
		}
		l := learner.New(learner.Options{})
		for i := range recs {
			l.Add(&recs[i])
		}
		g := l.Graph()
		k := learner.EdgeKey{Src: "pod:shop/frontend", Dst: "pod:shop/cart", Proto: record.TCP, Port: 8080}
		if e := g.Edges[k]; e == nil || e.Flows != 3 {
			t.Errorf("frontend -> cart:8080 = %+v: want one edge counting the connection once (3), both reporters merged", e)
		}
		if e := g.Edges[learner.EdgeKey{Src: "pod:shop/cart", Dst: "pod:shop/redis", Proto: record.TCP, Port: 6379}]; e == nil {
			t.Errorf("cart -> redis-0 (a StatefulSet pod name) not learned as workload redis")
		}
		var pub *learner.Unaddressed
		for _, u := range g.Unaddressed {
			pub = u
		}
		if len(g.Unaddressed) != 1 || pub.Peer != "pub" || pub.Port != 443 || pub.Workload != "pod:shop/frontend" {
			t.Errorf("unaddressed = %v: want frontend -> pub:443 reported, not learned", g.Unaddressed)
		}
		for _, n := range g.Nodes {
			if n.Kind == learner.NodeExternal {
				t.Errorf("an external IP node %s was invented from a flow without addresses", n.ID)
			}
		}
	})

	t.Run("Stream follows new flows until --goldmane-follow ends", func(t *testing.T) {
		o := good
		o.Follow = 700 * time.Millisecond
		recs, _, err := run(t, url, o)
		if err != nil {
			t.Fatalf("a follow that runs out is not an error: %v", err)
		}
		if len(recs) != 1 || recs[0].Dst.Pod != "catalog-7f9c8d6b5-*" || recs[0].Count != 4 || recs[0].Reporter != record.ReporterDst {
			t.Errorf("streamed %+v: want the one catalog flow, 4 connections, reporter dst", recs)
		}
	})

	for _, tc := range []struct {
		name string
		opts goldmane.Options
		want []string
	}{
		{"wrong CA: clear error", goldmane.Options{CA: p.OtherCA, Cert: p.ClientCert, Key: p.ClientKey}, []string{"Goldmane List", "--goldmane-ca"}},
		{"server name mismatch", goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey, ServerName: "goldmane.example"}, []string{"--goldmane-server-name"}},
		{"missing client certificate: handshake rejected", goldmane.Options{CA: p.CA}, []string{"Goldmane List", "--goldmane-cert"}},
		{"client certificate from another CA: rejected", goldmane.Options{CA: p.CA, Cert: p.OtherClientCert, Key: p.OtherClientKey}, []string{"--goldmane-cert"}},
		{"no CA given", goldmane.Options{Cert: p.ClientCert, Key: p.ClientKey}, []string{"--goldmane-ca: required"}},
		{"certificate without key", goldmane.Options{CA: p.CA, Cert: p.ClientCert}, []string{"--goldmane-cert and --goldmane-key"}},
		{"unreadable CA", goldmane.Options{CA: filepath.Join(p.Dir, "missing.pem")}, []string{"--goldmane-ca", "missing.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, url, tc.opts)
			if err == nil {
				t.Fatal("connected")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestNewSourceURL(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{"goldmane://", "want goldmane://HOST[:PORT]"},
		{"goldmane://host/path", "want goldmane://HOST[:PORT]"},
	} {
		if _, err := goldmane.NewSource(tc.url, goldmane.Options{CA: "x"}); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
		}
	}
}
