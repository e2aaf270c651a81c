package input

import (
	"context"
	"runtime"
	"sync"
)

// A batch is one block of lines (Lines.ReadBatch: about 128 KiB, read
// straight into the batch's buffer); the pool of batches bounds what is in
// flight, and so the memory.

type batch[T any] struct {
	seq   int
	lines []Line
	buf   []byte
	out   []T
}

// DecodeParallel reads lines and decodes them on `workers` goroutines
// (GOMAXPROCS when <= 0), delivering the decoded values to sink in input
// order, batch by batch, from a single goroutine. decode appends the values
// for one line to out. It stops at the first error from sink, from reading,
// or when ctx is done.
func DecodeParallel[T any](ctx context.Context, lines *Lines, workers int, decode func(l Line, out []T) []T, sink func([]T) error) error {
	return DecodeParallelPer(ctx, lines, workers, func() func(Line, []T) []T { return decode }, sink)
}

// DecodeParallelPer is DecodeParallel with worker-local decoders: every
// decode goroutine calls newDecode once and decodes all its lines with the
// function it returns, so that decoder state (buffers, caches) needs no
// locking.
func DecodeParallelPer[T any](ctx context.Context, lines *Lines, workers int, newDecode func() func(l Line, out []T) []T, sink func([]T) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 {
		decode := newDecode()
		var out []T
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			l, ok := lines.Next()
			if !ok {
				break
			}
			out = decode(l, out[:0])
			if err := sink(out); err != nil {
				return err
			}
		}
		return lines.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *batch[T], workers*2)
	done := make(chan *batch[T], workers*2)
	// a fixed pool of batches, recycled: reading allocates nothing once
	// warm, and never runs further ahead than the pool
	maxBatches := workers*4 + 2
	free := make(chan *batch[T], maxBatches)
	var readErr error
	var wg sync.WaitGroup
	// reader
	go func() {
		defer close(todo)
		seq, allocated := 0, 0
		for {
			var b *batch[T]
			select {
			case b = <-free:
			default:
				if allocated < maxBatches {
					b = &batch[T]{}
					allocated++
					break
				}
				select {
				case b = <-free:
				case <-ctx.Done():
					return
				}
			}
			// a block of lines read straight into the batch's buffer
			b.seq, b.out = seq, b.out[:0]
			b.buf, b.lines = lines.ReadBatch(b.buf, b.lines[:0])
			if len(b.lines) == 0 {
				readErr = lines.Err()
				return
			}
			select {
			case todo <- b:
			case <-ctx.Done():
				return
			}
			seq++
		}
	}()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decode := newDecode()
			for b := range todo {
				for _, l := range b.lines {
					b.out = decode(l, b.out)
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	pending := map[int]*batch[T]{}
	next := 0
	var sinkErr error
	for b := range done {
		if sinkErr != nil {
			continue
		}
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if err := ctx.Err(); err != nil {
				// cancelled: deliver nothing more, drain the workers
				sinkErr = err
				break
			}
			if err := sink(nb.out); err != nil {
				sinkErr = err
				cancel()
				break
			}
			select {
			case free <- nb:
			default:
			}
		}
	}
	if sinkErr != nil {
		return sinkErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return readErr
}
