package collectors

import (
	"context"
	"sync/atomic"
	"time"
)

// WatchStall watches a live stream for silence. recvd is odd while the
// stream waits for a message and changes with each one, so only time
// spent waiting counts (a slow consumer is never a stalled server). After
// idle of waiting, probe decides: nil when the server answers (the stream
// is only quiet and the watch goes on), else the error that ends the
// stream, which stalled receives once. probe runs with a context that stop
// cancels; stop ends the watch and waits for it. An idle of 0 or less
// watches nothing.
func WatchStall(ctx context.Context, idle time.Duration, recvd *atomic.Uint64, probe func(context.Context) error, stalled func(error)) (stop func()) {
	if idle <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	last, lastAt := recvd.Load(), time.Now()
	stopTicks := Every(ctx, max(idle/8, 5*time.Millisecond), func() bool {
		if n := recvd.Load(); n != last || n%2 == 0 {
			last, lastAt = n, time.Now()
			return true
		}
		if time.Since(lastAt) < idle {
			return true
		}
		err := probe(ctx)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			lastAt = time.Now() // quiet, not stalled
			return true
		}
		stalled(err)
		return false
	})
	return func() { cancel(); stopTicks() }
}
