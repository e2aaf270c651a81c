package collectors_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
)

// TestWatchStall: only time spent waiting counts; a server that answers
// the probe is quiet, one that does not ends the stream once.
func TestWatchStall(t *testing.T) {
	errDown := errors.New("no answer")
	tests := []struct {
		name      string
		waiting   bool  // recvd odd: the stream waits for a message
		probe     error // what the server answers
		wantStall bool
	}{
		{"consumer busy (not waiting)", false, errDown, false},
		{"waiting, server answers", true, nil, false},
		{"waiting, server silent", true, errDown, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var recvd atomic.Uint64
			if tc.waiting {
				recvd.Store(1)
			}
			var probes, stalls atomic.Int32
			var got error
			done := make(chan struct{}, 1)
			stop := collectors.WatchStall(context.Background(), 20*time.Millisecond, &recvd,
				func(context.Context) error { probes.Add(1); return tc.probe },
				func(err error) { stalls.Add(1); got = err; done <- struct{}{} })
			select {
			case <-done:
			case <-time.After(300 * time.Millisecond):
			}
			stop()
			if stalled := stalls.Load() > 0; stalled != tc.wantStall || stalls.Load() > 1 {
				t.Fatalf("stalled %d times (probed %d), want stalled=%v", stalls.Load(), probes.Load(), tc.wantStall)
			}
			if tc.wantStall && !errors.Is(got, errDown) {
				t.Errorf("stalled with %v, want the probe's error", got)
			}
			if !tc.waiting && probes.Load() != 0 {
				t.Errorf("probed %d times a stream that was not waiting", probes.Load())
			}
		})
	}
	// an idle timeout of 0 watches nothing
	var recvd atomic.Uint64
	recvd.Store(1)
	collectors.WatchStall(context.Background(), 0, &recvd, func(context.Context) error { t.Error("probed"); return nil }, func(error) { t.Error("stalled") })()
}
