package relay_test

import (
	"strings"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// keep copies into dst the fields of src that paths name (a path through
// a message src lacks keeps nothing); the reference the relay's masking
// of encoded events is checked against.
func keep(dst, src protoreflect.Message, paths []string) {
	for _, p := range paths {
		name, rest, nested := strings.Cut(p, ".")
		fd := src.Descriptor().Fields().ByName(protoreflect.Name(name))
		if !src.Has(fd) {
			continue
		}
		if !nested {
			dst.Set(fd, src.Get(fd))
			continue
		}
		keep(dst.Mutable(fd).Message(), src.Get(fd).Message(), []string{rest})
	}
}

// names says whether paths name field (or part of it).
func names(paths []string, field string) bool {
	for _, p := range paths {
		if p == field || strings.HasPrefix(p, field+".") {
			return true
		}
	}
	return false
}

// TestFieldMask: with a field_mask, every flow keeps the fields it names
// and nothing else, the response keeps node_name and time when the mask
// names the flow's, other events are as they were, and a path that is not
// a field of flow.Flow is refused.
func TestFieldMask(t *testing.T) {
	rec := relaytest.Sample(t)
	r := relaytest.Start(t, rec, relay.Options{LoseEvery: 50}, nil)
	c := client(t, r.Addr)
	all := &observerpb.GetFlowsRequest{Number: ^uint64(0)}
	whole, err := collect(t, c, all, 1<<20, 10*time.Second)
	if err != nil || len(whole) < 100 {
		t.Fatalf("%d events, %v", len(whole), err)
	}
	// twice: the relay keeps the events it masked for the mask last asked
	tests := []struct {
		name  string
		paths []string
		// the paths the flows keep, when the mask holds redundant ones
		kept []string
	}{
		{name: "one field", paths: []string{"uuid"}},
		{name: "what the conversion reads", paths: hubble.ConvertedFields()},
		{name: "nested", paths: []string{"time", "source.namespace", "source.labels", "l4.TCP.destination_port", "l4.UDP", "destination.workloads"}},
		{name: "a field and part of it", paths: []string{"source.pod_name", "source", "node_name"}, kept: []string{"source", "node_name"}},
	}
	for _, tc := range append(append(tests, tests...), tests[1], tests[1]) {
		t.Run(tc.name, func(t *testing.T) {
			req := proto.Clone(all).(*observerpb.GetFlowsRequest)
			req.FieldMask = &fieldmaskpb.FieldMask{Paths: tc.paths}
			got, err := collect(t, c, req, 1<<20, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(whole) {
				t.Fatalf("%d events masked, %d whole", len(got), len(whole))
			}
			kept := tc.kept
			if kept == nil {
				kept = tc.paths
			}
			flows := 0
			for i, w := range whole {
				want := proto.Clone(w).(*observerpb.GetFlowsResponse)
				if f := w.GetFlow(); f != nil {
					flows++
					masked := &flowpb.Flow{}
					keep(masked.ProtoReflect(), f.ProtoReflect(), kept)
					want.ResponseTypes = &observerpb.GetFlowsResponse_Flow{Flow: masked}
					if !names(kept, "node_name") {
						want.NodeName = ""
					}
					if !names(kept, "time") {
						want.Time = nil
					}
				}
				if got[i].GetLostEvents() != nil {
					want.Time, got[i].Time = nil, nil // when it was sent
				}
				if !proto.Equal(got[i], want) {
					t.Fatalf("event %d:\n got  %v\n want %v", i, got[i], want)
				}
			}
			if flows == 0 || flows == len(whole) {
				t.Fatalf("%d flows among %d events: want both flows and lost events", flows, len(whole))
			}
		})
	}
	for _, paths := range [][]string{{"nope"}, {"uuid", "source.labels.x"}, {"l4.TCP.flags.SYN.x"}, {""}} {
		req := &observerpb.GetFlowsRequest{Number: ^uint64(0), FieldMask: &fieldmaskpb.FieldMask{Paths: paths}}
		_, err := collect(t, c, req, 1, 10*time.Second)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "field_mask") {
			t.Errorf("field_mask %q: %v, want InvalidArgument naming the field_mask", paths, err)
		}
	}
}
