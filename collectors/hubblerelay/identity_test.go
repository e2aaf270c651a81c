package hubblerelay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// synFlow is a TCP SYN from src to dst on node-a at second sec.
func synFlow(uuid string, sec int, src, dst *flowpb.Endpoint, dstNames ...string) *observerpb.GetFlowsResponse {
	t := timestamppb.New(time.Date(2026, 11, 16, 0, 0, sec, 0, time.UTC))
	f := &flowpb.Flow{Time: t, Uuid: uuid, Verdict: flowpb.Verdict_FORWARDED, NodeName: "node-a", Type: flowpb.FlowType_L3_L4,
		IP: &flowpb.IP{Source: "10.244.1.5", Destination: "10.244.1.6", IpVersion: flowpb.IPVersion_IPv4},
		L4: &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: 40000 + uint32(sec), DestinationPort: 8080,
			Flags: &flowpb.TCPFlags{SYN: true}}}},
		Source: src, Destination: dst, DestinationNames: dstNames, IsReply: wrapperspb.Bool(false)}
	return &observerpb.GetFlowsResponse{ResponseTypes: &observerpb.GetFlowsResponse_Flow{Flow: f}, NodeName: "node-a", Time: t}
}

func podEP(ns, name, app string, labels ...string) *flowpb.Endpoint {
	return &flowpb.Endpoint{Namespace: ns, PodName: name, Identity: 1000,
		Labels:    append([]string{"k8s:app=" + app, "k8s:io.kubernetes.pod.namespace=" + ns}, labels...),
		Workloads: []*flowpb.Workload{{Name: app, Kind: "Deployment"}}}
}

// TestInvalidIdentityFromRelay: a relay serving a flow whose namespace is
// "Shop" (not a valid Kubernetes name) has it skipped and counted, never
// learned; invalid labels and DNS names are dropped from the flows kept
// and counted.
func TestInvalidIdentityFromRelay(t *testing.T) {
	front, cart := podEP("shop", "frontend-1", "frontend"), podEP("shop", "cart-1", "cart")
	bad := podEP("Shop", "frontend-2", "frontend")
	odd := podEP("shop", "frontend-3", "frontend", "k8s:bad key=x", "k8s:tier=web")
	rec, err := relay.NewRecording([]*observerpb.GetFlowsResponse{
		synFlow("u1", 1, front, cart),
		synFlow("u2", 2, bad, cart),
		synFlow("u3", 3, bad, cart), // the same endpoint again: the decoder's cached verdict
		synFlow("u4", 4, odd, cart, "api.example.com", "not a name!"),
		synFlow("u5", 5, odd, cart),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := relaytest.Start(t, rec, relay.Options{}, nil)
	log, logs := newLogger()
	src, err := hubblerelay.New("hubble://"+r.Addr, hubblerelay.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var st collectors.Stats
	var got []record.Record
	if err := src.Run(context.Background(), &st, func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := st.Skipped[record.SkipInvalidIdentity]; n != 2 {
		t.Errorf("%d records skipped as %q, want 2 (the two flows from namespace Shop)", n, record.SkipInvalidIdentity)
	}
	// u4: the label and the name; u5: the label
	if n := st.Skipped[record.SkipInvalidDropped]; n != 3 {
		t.Errorf("%d labels/names dropped, want 3", n)
	}
	if len(got) != 3 || src.Report().Invalid != 2 {
		t.Fatalf("%d records emitted, %d invalid reported; want 3 and 2", len(got), src.Report().Invalid)
	}
	for _, r := range got {
		if r.Src.Namespace != "shop" {
			t.Errorf("record %s from namespace %q emitted", r.UUID, r.Src.Namespace)
		}
		if _, ok := r.Src.Labels["bad key"]; ok {
			t.Errorf("record %s kept the invalid label: %v", r.UUID, r.Src.Labels)
		}
		if r.UUID == "u4" && (r.Src.Labels["tier"] != "web" || strings.Join(r.Dst.Names, ",") != "api.example.com") {
			t.Errorf("record u4: labels %v, names %v; want the valid ones kept", r.Src.Labels, r.Dst.Names)
		}
	}
	if !strings.Contains(logs.String(), "source namespace") || !strings.Contains(logs.String(), "Shop") {
		t.Errorf("log %q does not name the invalid field", logs.String())
	}
}
