package relay

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/proto"

	"github.com/flowfence/flowfence/collectors"
)

// TestRepeat: Repeat gives the recording NewRecording builds from the
// copies' events (each event shifted as a loop's, then sorted and indexed
// anew): the same events in the same order, nodes, positions and span.
func TestRepeat(t *testing.T) {
	rec, err := Load(context.Background(), []string{filepath.Join("..", "testdata", "flows", "*.json*")}, collectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3} {
		got, err := rec.Repeat(n)
		if err != nil {
			t.Fatal(err)
		}
		// the reference: every copy's events decoded and recorded afresh
		period := rec.last.Sub(rec.first) + time.Second
		var resps []*observerpb.GetFlowsResponse
		for k := range n {
			for i := range rec.entries {
				data := rec.entries[i].data
				if k > 0 {
					if data, err = rec.entries[i].shifted(k, time.Duration(k)*period); err != nil {
						t.Fatal(err)
					}
				}
				var resp observerpb.GetFlowsResponse
				if err := proto.Unmarshal(data, &resp); err != nil {
					t.Fatal(err)
				}
				resps = append(resps, &resp)
			}
		}
		want, err := NewRecording(resps)
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != want.Len() || got.Len() != n*rec.Len() {
			t.Fatalf("×%d: %d events, want %d", n, got.Len(), want.Len())
		}
		for i := range want.entries {
			g, w := got.entries[i], want.entries[i]
			var gm, wm observerpb.GetFlowsResponse
			if err := proto.Unmarshal(g.data, &gm); err != nil {
				t.Fatal(err)
			}
			if err := proto.Unmarshal(w.data, &wm); err != nil {
				t.Fatal(err)
			}
			g.data, w.data = nil, nil
			if !reflect.DeepEqual(g, w) || !proto.Equal(&gm, &wm) {
				t.Fatalf("×%d event %d:\n got  %+v %v\n want %+v %v", n, i, g, &gm, w, &wm)
			}
		}
		gf, gl := got.Span()
		wf, wl := want.Span()
		if !gf.Equal(wf) || !gl.Equal(wl) || len(got.nodes) != len(want.nodes) {
			t.Fatalf("×%d: span %s..%s nodes %v, want %s..%s %v", n, gf, gl, got.nodes, wf, wl, want.nodes)
		}
		for node, c := range want.perNode {
			if got.perNode[node] != c {
				t.Fatalf("×%d: node %q has %d events, want %d", n, node, got.perNode[node], c)
			}
		}
	}
}
