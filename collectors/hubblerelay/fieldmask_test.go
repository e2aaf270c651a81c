package hubblerelay_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// requests serves the sample from a relay that notes every GetFlows
// request and, with ignoreMask, drops its field_mask before serving it
// (a Hubble older than the field sends whole flows).
type requests struct {
	mu         sync.Mutex
	seen       []*observerpb.GetFlowsRequest
	ignoreMask bool
}

type noting struct {
	grpc.ServerStream
	r *requests
}

func (s noting) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if req, ok := m.(*observerpb.GetFlowsRequest); ok && err == nil {
		s.r.mu.Lock()
		s.r.seen = append(s.r.seen, proto.Clone(req).(*observerpb.GetFlowsRequest))
		s.r.mu.Unlock()
		if s.r.ignoreMask {
			req.FieldMask = nil
		}
	}
	return err
}

func (r *requests) serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := relay.NewGRPCServer(relay.New(relaytest.Sample(t), relay.Options{}), nil,
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, noting{ss, r})
		}))
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// TestAsksForTheConvertedFields: a live window asks the relay only for
// the fields the conversion reads, and learns what the files give, from a
// relay that masks the flows as from one that ignores the mask.
func TestAsksForTheConvertedFields(t *testing.T) {
	want := fromFiles(t, time.Time{}, time.Time{})
	for _, ignore := range []bool{false, true} {
		r := &requests{ignoreMask: ignore}
		g, _, err := run(t, context.Background(), "hubble://"+r.serve(t), hubblerelay.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameGraph(t, g, want)
		r.mu.Lock()
		if len(r.seen) == 0 {
			t.Fatal("no GetFlows request")
		}
		for _, req := range r.seen {
			if !slices.Equal(req.GetFieldMask().GetPaths(), hubble.ConvertedFields()) {
				t.Errorf("request field_mask %v, want %v", req.GetFieldMask().GetPaths(), hubble.ConvertedFields())
			}
		}
		r.mu.Unlock()
	}
}
