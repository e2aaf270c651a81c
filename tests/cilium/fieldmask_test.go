package cilium

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"github.com/cilium/cilium/pkg/hubble/parser/fieldmask"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// hubbleMasks applies a field mask to flows as a Hubble server does
// (pkg/hubble/observer: one flow, allocated once, that every event is
// copied into).
type hubbleMasks struct {
	mask fieldmask.FieldMask
	flow *flowpb.Flow
}

func newHubbleMasks(t *testing.T, paths []string) *hubbleMasks {
	t.Helper()
	m, err := fieldmask.New(&fieldmaskpb.FieldMask{Paths: paths})
	if err != nil {
		t.Fatal(err)
	}
	h := &hubbleMasks{mask: m, flow: &flowpb.Flow{}}
	m.Alloc(h.flow.ProtoReflect())
	return h
}

func (h *hubbleMasks) apply(f *flowpb.Flow) *flowpb.Flow {
	h.mask.Copy(h.flow.ProtoReflect(), f.ProtoReflect())
	return h.flow
}

// TestHubbleFieldMask: flows masked by Hubble's own code to the fields
// learn asks for (hubble.ConvertedFields) convert as the whole flows do,
// every recorded flow, in order through one reused flow as the server
// masks them; and the replay relay masks a flow as Hubble does.
func TestHubbleFieldMask(t *testing.T) {
	files, _ := filepath.Glob(capturesGlob)
	sample, _ := filepath.Glob(sampleGlob)
	files = append(files, sample...)
	rec, err := relay.Load(context.Background(), files, collectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole := responses(t, rec, nil)
	h := newHubbleMasks(t, hubble.ConvertedFields())
	flows := 0
	for i, resp := range whole {
		f := resp.GetFlow()
		if f == nil {
			continue
		}
		flows++
		var want, got record.Record
		wskip, wok := hubble.ConvertFlow(f, &want)
		gskip, gok := hubble.ConvertFlow(h.apply(f), &got)
		if gskip != wskip || gok != wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d converts differently masked by Hubble:\n got  %q %v %+v\n want %q %v %+v", i, gskip, gok, got, wskip, wok, want)
		}
	}
	if flows < 1000 {
		t.Fatalf("only %d recorded flows", flows)
	}

	for _, paths := range [][]string{hubble.ConvertedFields(), {"uuid"}, {"source", "l4", "time"}, {"destination_names", "node_name", "is_reply"}} {
		h := newHubbleMasks(t, paths)
		masked := responses(t, rec, paths)
		if len(masked) != len(whole) {
			t.Fatalf("%v: %d events masked, %d whole", paths, len(masked), len(whole))
		}
		for i, resp := range whole {
			want := proto.Clone(resp).(*observerpb.GetFlowsResponse)
			if f := resp.GetFlow(); f != nil {
				m := proto.Clone(h.apply(f)).(*flowpb.Flow)
				want.ResponseTypes = &observerpb.GetFlowsResponse_Flow{Flow: m}
				want.Time, want.NodeName = m.GetTime(), m.GetNodeName() // as Hubble sends them
			}
			if !proto.Equal(masked[i], want) {
				t.Fatalf("%v, event %d: the relay sends\n %v\nHubble\n %v", paths, i, masked[i], want)
			}
		}
	}
	t.Logf("%d recorded flows", flows)
}

// responses serves rec from a replay relay and returns every event of a
// GetFlows request for all of them, with a field mask of paths.
func responses(t *testing.T, rec *relay.Recording, paths []string) []*observerpb.GetFlowsResponse {
	t.Helper()
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	conn, err := grpc.NewClient(r.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := &observerpb.GetFlowsRequest{Number: ^uint64(0)}
	if paths != nil {
		req.FieldMask = &fieldmaskpb.FieldMask{Paths: paths}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := observerpb.NewObserverClient(conn).GetFlows(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var out []*observerpb.GetFlowsResponse
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp)
	}
}
