package hubble_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
)

// replay is a recorded GetFlows stream.
type replay struct {
	resps []*observerpb.GetFlowsResponse
	end   error // returned after the responses (io.EOF for a clean end)
}

func (r *replay) Recv() (*observerpb.GetFlowsResponse, error) {
	if len(r.resps) == 0 {
		return nil, r.end
	}
	resp := r.resps[0]
	r.resps = r.resps[1:]
	return resp, nil
}

func resp(t *testing.T, js string) *observerpb.GetFlowsResponse {
	t.Helper()
	var r observerpb.GetFlowsResponse
	if err := protojson.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return &r
}

func TestStreamSource(t *testing.T) {
	flow := func(port, extra string) string {
		return `{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},` +
			`"l4":{"TCP":{"source_port":40000,"destination_port":` + port + `,"flags":{"SYN":true}}},"source":{"namespace":"a","pod_name":"p"}` + extra + `},` +
			`"node_name":"relay-node","time":"2026-01-01T00:00:00Z"}`
	}
	boom := errors.New("connection reset")
	stop := errors.New("enough")
	tests := []struct {
		name      string
		lines     []string
		end       error
		emitErr   error // returned by emit for the first record
		wantPorts []uint16
		wantSkip  map[string]uint64
		wantLost  uint64
		wantErr   error
	}{
		{name: "flows and other events", end: io.EOF,
			lines: []string{
				`{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n"]}}`,
				flow("80", ""),
				`{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"7"}}`,
				flow("53", `,"event_type":{"type":7},"Type":"SOCK"`),
				flow("443", ""),
			},
			wantPorts: []uint16{80, 443},
			wantSkip:  map[string]uint64{hubble.SkipNonFlow: 1, hubble.SkipLostEvents: 1, hubble.SkipTranslated: 1},
			wantLost:  7},
		{name: "port out of range is skipped, not wrapped", end: io.EOF,
			lines:     []string{flow("70000", ""), flow("8080", "")},
			wantPorts: []uint16{8080},
			wantSkip:  map[string]uint64{"flows with a port above 65535 or an ICMP type above 255": 1}},
		{name: "stream error after flows", end: boom,
			lines:     []string{flow("80", "")},
			wantPorts: []uint16{80},
			wantErr:   boom},
		{name: "emit error stops the stream", end: io.EOF,
			lines:     []string{flow("80", ""), flow("81", "")},
			emitErr:   stop,
			wantPorts: []uint16{80},
			wantErr:   stop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := &replay{end: tc.end}
			for _, l := range tc.lines {
				rp.resps = append(rp.resps, resp(t, l))
			}
			src := hubble.NewStreamSource("relay:4245", rp)
			if src.Name() != "relay:4245" {
				t.Errorf("Name() = %q", src.Name())
			}
			var st collectors.Stats
			var ports []uint16
			err := src.Run(context.Background(), &st, func(r *record.Record) error {
				ports = append(ports, r.Dst.Port)
				if r.Source != "relay:4245" || r.Node != "relay-node" || r.Time.IsZero() || r.Direction != record.Request {
					t.Errorf("record source %q node %q time %v direction %v", r.Source, r.Node, r.Time, r.Direction)
				}
				return tc.emitErr
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == boom && !strings.Contains(err.Error(), "relay:4245") {
				t.Errorf("stream error %q does not name the relay", err)
			}
			if !reflect.DeepEqual(ports, tc.wantPorts) || st.FlowEvents != uint64(len(tc.wantPorts)) {
				t.Errorf("ports %v (FlowEvents %d), want %v", ports, st.FlowEvents, tc.wantPorts)
			}
			if st.LostEvents != tc.wantLost || (len(tc.wantSkip) > 0 && !reflect.DeepEqual(st.Skipped, tc.wantSkip)) {
				t.Errorf("lost %d skipped %v, want %d %v", st.LostEvents, st.Skipped, tc.wantLost, tc.wantSkip)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rp := &replay{resps: []*observerpb.GetFlowsResponse{resp(t, flow("80", ""))}, end: io.EOF}
		var st collectors.Stats
		err := hubble.NewStreamSource("relay", rp).Run(ctx, &st, func(*record.Record) error { return nil })
		if !errors.Is(err, context.Canceled) || st.FlowEvents != 0 {
			t.Errorf("err %v, %d flows; want context.Canceled and none", err, st.FlowEvents)
		}
	})
}

// TestConvertFlowDirection pins the direction rules of docs/DESIGN.md, in their
// order of precedence, on hand-made flows.
func TestConvertFlowDirection(t *testing.T) {
	tests := []struct {
		name string
		flow string
		want record.Direction
	}{
		{"is_reply true wins over SYN", `{"is_reply":true,"l4":{"TCP":{"flags":{"SYN":true}}}}`, record.Reply},
		{"is_reply false wins over SYN+ACK", `{"is_reply":false,"l4":{"TCP":{"flags":{"SYN":true,"ACK":true}}}}`, record.Request},
		{"deprecated reply", `{"reply":true,"l4":{"TCP":{"flags":{"ACK":true}}}}`, record.Reply},
		{"is_reply false wins over deprecated reply", `{"is_reply":false,"reply":true}`, record.Request},
		{"L7 request", `{"event_type":{"type":129},"l7":{"type":"REQUEST"},"l4":{"TCP":{"source_port":8080,"destination_port":40000}}}`, record.Request},
		{"L7 response", `{"event_type":{"type":129},"l7":{"type":"RESPONSE"},"l4":{"TCP":{"flags":{"SYN":true}}}}`, record.Reply},
		{"policy verdict", `{"event_type":{"type":5},"l4":{"TCP":{"flags":{"ACK":true}}}}`, record.Request},
		{"drop defaults to request", `{"verdict":"DROPPED","l4":{"TCP":{"flags":{"ACK":true}}}}`, record.Request},
		{"SYN", `{"l4":{"TCP":{"flags":{"SYN":true}}}}`, record.Request},
		{"SYN+ACK", `{"l4":{"TCP":{"flags":{"SYN":true,"ACK":true}}}}`, record.Reply},
		{"plain ACK", `{"l4":{"TCP":{"flags":{"ACK":true}}}}`, record.DirUnknown},
		{"ICMPv4 echo request", `{"l4":{"ICMPv4":{"type":8}}}`, record.Request},
		{"ICMPv4 echo reply", `{"l4":{"ICMPv4":{"type":0}}}`, record.Reply},
		{"ICMPv4 unreachable", `{"l4":{"ICMPv4":{"type":3}}}`, record.DirUnknown},
		{"ICMPv6 echo request", `{"l4":{"ICMPv6":{"type":128}}}`, record.Request},
		{"ICMPv6 echo reply", `{"l4":{"ICMPv6":{"type":129}}}`, record.Reply},
		{"UDP from an ephemeral port", `{"l4":{"UDP":{"source_port":40000,"destination_port":53}}}`, record.Request},
		{"UDP to an ephemeral port", `{"l4":{"UDP":{"source_port":53,"destination_port":40000}}}`, record.Reply},
		{"UDP both ephemeral", `{"l4":{"UDP":{"source_port":40000,"destination_port":40001}}}`, record.DirUnknown},
		{"no L4", `{}`, record.DirUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			if err := json.Unmarshal([]byte(tc.flow), &m); err != nil {
				t.Fatal(err)
			}
			m["IP"] = map[string]any{"source": "10.0.0.1", "destination": "10.0.0.2"}
			if m["verdict"] == nil {
				m["verdict"] = "FORWARDED"
			}
			js, _ := json.Marshal(m)
			f := &flowpb.Flow{}
			if err := protojson.Unmarshal(js, f); err != nil {
				t.Fatalf("%s: %v", js, err)
			}
			var r record.Record
			if skip, ok := hubble.ConvertFlow(f, &r); !ok {
				t.Fatalf("skipped: %s", skip)
			}
			if r.Direction != tc.want {
				t.Errorf("direction %v, want %v", r.Direction, tc.want)
			}
		})
	}
}
