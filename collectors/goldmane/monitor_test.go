package goldmane_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// events records what a collectors.Monitor hears, in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) { e.mu.Lock(); e.log = append(e.log, s); e.mu.Unlock() }
func (e *events) Connected(_ string, up bool) {
	e.add(fmt.Sprintf("connected %v", up))
}
func (e *events) Reconnected(string)            { e.add("reconnected") }
func (e *events) Lost(_ string, n uint64)       { e.add(fmt.Sprintf("lost %d", n)) }
func (e *events) Skipped(_, r string, n uint64) { e.add(fmt.Sprintf("skipped %s %d", r, n)) }

// TestMonitorHearsTheConnection: a long-running learner's readiness and
// metrics hear a goldmane:// source as they hear hubble://: connected
// once Goldmane answers (List or Stream), not connected when the run
// ends, and every record skipped by reason; a Goldmane that refuses the
// client never counts as connected.
func TestMonitorHearsTheConnection(t *testing.T) {
	p := relaytest.NewCertsFor(t, goldmane.DefaultServerName)
	const t0 = 1_764_970_800
	bad := flow(t0+1, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1)
	bad.Key.SourceNamespace = "Shop"
	srv := &server{
		flows:  []*goldmanepb.Flow{flow(t0, "frontend-6b7d9c4f5-*", "cart-5d8f9b7c4-*", 8080, goldmanepb.Reporter_Src, goldmanepb.Action_Allow, 1), bad},
		stream: []*goldmanepb.Flow{flow(t0+7200, "frontend-6b7d9c4f5-*", "catalog-7f9c8d6b5-*", 8080, goldmanepb.Reporter_Dst, goldmanepb.Action_Allow, 4)},
	}
	url := serve(t, p, srv)
	skipped := "skipped " + record.SkipInvalidIdentity + " 1"
	for _, tc := range []struct {
		name   string
		opts   goldmane.Options
		fails  bool
		want   []string
		absent string
	}{
		{name: "List", opts: goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey},
			want: []string{"connected true", skipped, "connected false"}},
		{name: "Stream", opts: goldmane.Options{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey, Follow: 300 * time.Millisecond},
			want: []string{"connected true", "connected false"}},
		{name: "client certificate missing", opts: goldmane.Options{CA: p.CA}, fails: true,
			want: []string{"connected false"}, absent: "connected true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &events{}
			tc.opts.Monitor = ev
			_, _, err := run(t, url, tc.opts)
			if (err != nil) != tc.fails {
				t.Fatalf("run: %v (want an error: %v)", err, tc.fails)
			}
			if !slices.Equal(ev.log, tc.want) {
				t.Errorf("the monitor heard %q, want %q", ev.log, tc.want)
			}
			if tc.absent != "" && slices.Contains(ev.log, tc.absent) {
				t.Errorf("the monitor heard %q", tc.absent)
			}
		})
	}
}
