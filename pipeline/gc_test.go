package pipeline_test

import (
	"context"
	"os"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// gogc reads the garbage collector's target percentage now in effect.
func gogc(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("/gc/gogc:percent: kind %v", s[0].Value.Kind())
	}
	return s[0].Value.Uint64()
}

// TestLiveGCPercent: LiveOptions.GCPercent is the collector's target while
// a live window is read, and the previous one is back afterwards.
func TestLiveGCPercent(t *testing.T) {
	r := relaytest.Start(t, relaytest.Sample(t), relay.Options{}, nil)
	before := gogc(t)
	want := before*2 + 7 // not the runtime's default, nor any earlier setting
	var mu sync.Mutex
	var during []uint64
	opts := pipeline.LearnOptions{Live: pipeline.LiveOptions{
		GCPercent:     int(want),
		ProgressEvery: time.Millisecond,
		Progress: func(pipeline.Progress) {
			mu.Lock()
			defer mu.Unlock()
			during = append(during, gogc(t))
		},
	}}
	g, _, err := pipeline.Learn(context.Background(), []string{"hubble://" + r.Addr}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Edges) == 0 {
		t.Fatal("the window learned no edge")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(during) == 0 {
		t.Fatal("no progress during the window")
	}
	for i, p := range during {
		if p != want {
			t.Errorf("progress %d: GC percent %d during the window, want %d", i, p, want)
		}
	}
	if got := gogc(t); got != before {
		t.Errorf("GC percent %d after the window, want %d as before it", got, before)
	}
}

// TestLiveGC: the commands' target is 200 unless GOGC is set, which stands.
func TestLiveGC(t *testing.T) {
	for _, tc := range []struct {
		gogc string // "" = unset
		want int
	}{
		{"", 200},
		{"50", 0},
		{"off", 0},
		{"100", 0},
	} {
		t.Setenv("GOGC", tc.gogc) // restored after the test
		if tc.gogc == "" {
			if err := os.Unsetenv("GOGC"); err != nil {
				t.Fatal(err)
			}
		}
		if got := pipeline.LiveGC(); got != tc.want {
			t.Errorf("GOGC=%q: LiveGC() = %d, want %d", tc.gogc, got, tc.want)
		}
	}
}
