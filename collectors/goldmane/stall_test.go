package goldmane_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// hanging is a Goldmane that accepts calls and then may send nothing:
// List hangs when hangList is set; Stream sends its flows and then stays
// silent (as a quiet cluster's or a stuck Goldmane's stream does).
type hanging struct {
	server
	hangList atomic.Bool
}

func (h *hanging) List(ctx context.Context, req *goldmanepb.FlowListRequest) (*goldmanepb.FlowListResult, error) {
	if h.hangList.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.server.List(ctx, req)
}

// TestStalledGoldmane: a Goldmane that accepts and then sends nothing
// ends the window within the idle timeout with an error that says it
// stalled and what to check; a quiet Stream from a Goldmane that still
// answers is not a stall.
func TestStalledGoldmane(t *testing.T) {
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	const t0 = 1_764_970_800
	srv := &hanging{server: server{
		flows:  []*goldmanepb.Flow{flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1)},
		stream: []*goldmanepb.Flow{flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1)},
	}}
	url := serve(t, p, srv)
	good := goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey, IdleTimeout: 300 * time.Millisecond, ProbeTimeout: 300 * time.Millisecond}
	for _, tc := range []struct {
		name     string
		hang     bool
		follow   time.Duration
		wantErr  []string
		wantRecs int
	}{
		{name: "List never answers", hang: true, wantErr: []string{"Goldmane List", "Goldmane stalled", "no List page for 300ms (--idle-timeout)", "kubectl logs -n calico-system deploy/goldmane"}},
		{name: "Stream silent, List never answers", hang: true, follow: 10 * time.Second,
			wantErr: []string{"Goldmane Stream", "Goldmane stalled", "no flow for 300ms", "kubectl logs -n calico-system deploy/goldmane"}},
		{name: "Stream quiet, Goldmane answers: not a stall", follow: 1500 * time.Millisecond, wantRecs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.hangList.Store(tc.hang)
			o := good
			o.Follow = tc.follow
			start := time.Now()
			recs, _, err := run(t, url, o)
			if took := time.Since(start); took > 5*time.Second && tc.follow < 5*time.Second || took > 8*time.Second {
				t.Errorf("took %s", took)
			}
			if len(tc.wantErr) == 0 {
				if err != nil || len(recs) != tc.wantRecs {
					t.Fatalf("%d records, error %v; want %d records and no error", len(recs), err, tc.wantRecs)
				}
				return
			}
			if !errors.Is(err, goldmane.ErrStalled) {
				t.Fatalf("error %v: want ErrStalled", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestGoldmaneInvalidIdentity: a flow from namespace "Shop" (not a valid
// Kubernetes name) is skipped and counted; Calico's aggregated pod names
// ("frontend-6b7d9c4f5-*") are valid; an invalid label is dropped and
// counted.
func TestGoldmaneInvalidIdentity(t *testing.T) {
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	const t0 = 1_764_970_800
	bad := flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1)
	bad.Key.SourceNamespace = "Shop"
	odd := flow(t0+1, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1)
	odd.SourceLabels = append(odd.SourceLabels, "bad key=x")
	srv := &server{flows: []*goldmanepb.Flow{
		flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1), bad, odd,
	}}
	url := serve(t, p, srv)
	recs, st, err := run(t, url, goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || st.Skipped[record.SkipInvalidIdentity] != 1 || st.Skipped[record.SkipInvalidDropped] != 1 {
		t.Fatalf("%d records, skipped %v; want 2 records, the Shop flow skipped and one label dropped", len(recs), st.Skipped)
	}
	for _, r := range recs {
		if r.Src.Namespace != "shop" || r.Src.Pod != "frontend-6b7d9c4f5-*" {
			t.Errorf("record from %s/%s", r.Src.Namespace, r.Src.Pod)
		}
		if _, ok := r.Src.Labels["bad key"]; ok {
			t.Errorf("invalid label kept: %v", r.Src.Labels)
		}
	}
}
