package hubblerelay

import (
	"sync"
	"sync/atomic"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc/mem"
)

// A stream is received on one goroutine and decoded and learned on
// another, so that gRPC's receive path (framing, flow control, the copy out
// of its buffers) runs on one core while the flows already received are
// decoded and learned on the other. The receiver
// appends each message's bytes to the batch being filled; the decoder
// takes the whole batch at once when it has finished the previous one. A
// message is there for the decoder as soon as it is received (nothing
// waits for a batch to fill), and either side sleeps only when it must:
// the decoder when nothing is left to decode, the receiver when the batch
// is full (the decoder is behind), each woken by the other.

// Bounds of the batch being filled: the receiver waits beyond them.
//   - Large enough that the batch the decoder takes outlasts the
//     receiver's wake-up. A decoder behind wakes the receiver as it takes a
//     batch, and Go queues the woken goroutine on the waker's own P: the
//     receiver starts only when another P takes it over, which in
//     benchlive (learner and relay sharing two cores) took some 200 µs on
//     average. A batch of 128 flows is about 450 µs of decoding, so the
//     decoder often found the next batch short and waited; at 1024 it
//     rarely does (alternated benchlive runs: 258k flows/s against 229k
//     at 128, with less CPU per flow).
//   - Small beside gRPC's flow-control windows (source.go), so that a
//     learner slower than its relay still holds the relay back through
//     them, not through memory here.
const (
	handoffMessages = 1024
	handoffBytes    = 1 << 20
)

// batch is messages back to back: message i is buf[ends[i-1]:ends[i]].
type batch struct {
	buf  []byte
	ends []int
}

func (b *batch) reset() { b.buf, b.ends = b.buf[:0], b.ends[:0] }

// handoff passes one stream's messages from the receiver to the decoder.
type handoff struct {
	mu      sync.Mutex
	filling batch
	ended   bool
	end     error     // why receiving stopped, after the messages in filling
	endedAt time.Time // when (a reconnect gap starts there, not when decoded)
	// the side that sleeps says so; the other wakes it (one token each)
	decoderWaits, receiverWaits bool
	wakeDecoder, wakeReceiver   chan struct{}
	// the decoder's side: the batch it decodes and the next message in it
	taken batch
	next  int
}

func newHandoff() *handoff {
	return &handoff{wakeDecoder: make(chan struct{}, 1), wakeReceiver: make(chan struct{}, 1)}
}

// put appends a received message (from rawCodec, on the receiver).
func (h *handoff) put(data mem.BufferSlice) {
	h.mu.Lock()
	for _, b := range data {
		h.filling.buf = append(h.filling.buf, b.ReadOnlyData()...)
	}
	h.filling.ends = append(h.filling.ends, len(h.filling.buf))
	wake := h.decoderWaits
	h.decoderWaits = false
	h.mu.Unlock()
	if wake {
		h.wakeDecoder <- struct{}{}
	}
}

// finish says receiving stopped with err (io.EOF at the stream's end) at
// time at.
func (h *handoff) finish(err error, at time.Time) {
	h.mu.Lock()
	h.ended, h.end, h.endedAt = true, err, at
	wake := h.decoderWaits
	h.decoderWaits = false
	h.mu.Unlock()
	if wake {
		h.wakeDecoder <- struct{}{}
	}
}

// room waits until the batch being filled has room for a message; false
// when done is closed first (the decoder is gone).
func (h *handoff) room(done <-chan struct{}) bool {
	h.mu.Lock()
	for len(h.filling.ends) >= handoffMessages || len(h.filling.buf) >= handoffBytes {
		h.receiverWaits = true
		h.mu.Unlock()
		select {
		case <-h.wakeReceiver:
		case <-done:
			return false
		}
		h.mu.Lock()
	}
	h.mu.Unlock()
	return true
}

// recv returns the next message (valid until the next call), waiting for
// one; after the last, the error that ended receiving and when.
func (h *handoff) recv() ([]byte, time.Time, error) {
	if h.next == len(h.taken.ends) {
		if err := h.take(); err != nil {
			return nil, h.endedAt, err
		}
	}
	start := 0
	if h.next > 0 {
		start = h.taken.ends[h.next-1]
	}
	h.next++
	return h.taken.buf[start:h.taken.ends[h.next-1]], time.Time{}, nil
}

// take swaps the decoded batch for the one being filled, waiting for a
// message when none is there.
func (h *handoff) take() error {
	h.mu.Lock()
	for len(h.filling.ends) == 0 {
		if h.ended {
			h.mu.Unlock()
			return h.end
		}
		h.decoderWaits = true
		h.mu.Unlock()
		<-h.wakeDecoder
		h.mu.Lock()
	}
	h.taken.reset()
	h.taken, h.filling = h.filling, h.taken
	h.next = 0
	wake := h.receiverWaits
	h.receiverWaits = false
	h.mu.Unlock()
	if wake {
		h.wakeReceiver <- struct{}{}
	}
	return nil
}

// receive receives the stream's messages into h until the stream ends or
// done is closed, then finishes h. recvd is odd while it waits for a
// message (see Source.stream); now is the clock.
func receive(stream observerpb.Observer_GetFlowsClient, h *handoff, recvd *atomic.Uint64, done <-chan struct{}, now func() time.Time) {
	var err error
	for err == nil && h.room(done) {
		recvd.Add(1)
		err = stream.RecvMsg(h)
		recvd.Add(1)
	}
	h.finish(err, now())
}
