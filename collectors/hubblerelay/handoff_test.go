package hubblerelay

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
)

// TestHandoff: whatever the pace of either side, the decoder gets every
// message whole and in order (a message split over gRPC buffers too), then
// the error that ended receiving and when; the receiver never runs more
// than the bound ahead.
func TestHandoff(t *testing.T) {
	const n = 5 * handoffMessages
	ended := errors.New("stream broke")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                      string
		slowReceiver, slowDecoder bool
	}{
		{"both fast", false, false},
		{"receiver slow", true, false},
		{"decoder slow", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandoff()
			done := make(chan struct{})
			defer close(done)
			ahead := make(chan int, 1) // the most messages seen waiting in the batch
			go func() {
				most := 0
				for i := range n {
					if !h.room(done) {
						return
					}
					h.mu.Lock()
					most = max(most, len(h.filling.ends))
					h.mu.Unlock()
					msg := []byte(fmt.Sprintf("message %d", i))
					h.put(mem.BufferSlice{mem.SliceBuffer(msg[:3]), mem.SliceBuffer(msg[3:])})
					if tc.slowReceiver && i%7 == 0 {
						time.Sleep(50 * time.Microsecond)
					}
				}
				ahead <- most
				h.finish(ended, at)
			}()
			for i := range n {
				msg, _, err := h.recv()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if want := fmt.Sprintf("message %d", i); string(msg) != want {
					t.Fatalf("got %q, want %q", msg, want)
				}
				if tc.slowDecoder && i%7 == 0 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			if _, when, err := h.recv(); err != ended || !when.Equal(at) {
				t.Fatalf("after the messages: %v at %s, want %v at %s", err, when, ended, at)
			}
			if most := <-ahead; most >= handoffMessages {
				t.Errorf("the receiver put a message with %d waiting (bound %d)", most, handoffMessages)
			}
		})
	}
}
