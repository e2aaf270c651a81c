package input_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors/input"
)

// numbered builds n lines "i:<padding>" of varying length (so batches
// reallocate their buffers) with a blank line after every 10th.
func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d:%s\n", i, strings.Repeat("p", (i*7919)%700))
		if i%10 == 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

type item struct {
	value, no int
}

// decodeNumbered parses "i:padding", checks the padding survived the
// batch copy, and emits nothing for multiples of 7 and two values for
// multiples of 5.
func decodeNumbered(l input.Line, out []item) []item {
	head, pad, _ := strings.Cut(string(l.Data), ":")
	v, err := strconv.Atoi(head)
	if err != nil || len(pad) != (v*7919)%700 || strings.Trim(pad, "p") != "" {
		return append(out, item{-1, l.No}) // corrupted line data
	}
	switch {
	case v%7 == 0:
		return out
	case v%5 == 0:
		return append(out, item{v, l.No}, item{-v, l.No})
	}
	return append(out, item{v, l.No})
}

// expected is what decodeNumbered yields over numbered(n), in order.
func expected(n int) []item {
	var want []item
	no := 0
	for i := 1; i <= n; i++ {
		no++
		want = decodeNumbered(input.Line{Data: []byte(fmt.Sprintf("%d:%s", i, strings.Repeat("p", (i*7919)%700))), No: no}, want)
		if i%10 == 0 {
			no++ // the blank line
		}
	}
	return want
}

func TestDecodeParallelOrder(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 5000} {
		for _, workers := range []int{1, 2, 4, 0} {
			t.Run(fmt.Sprintf("lines=%d/workers=%d", n, workers), func(t *testing.T) {
				lines := input.NewLinesFrom("test", strings.NewReader(numbered(n)))
				var got []item
				calls := 0
				err := input.DecodeParallel(context.Background(), lines, workers, decodeNumbered, func(vs []item) error {
					calls++
					got = append(got, vs...)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				want := expected(n)
				if len(got) != len(want) {
					t.Fatalf("%d values, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("value %d = %+v, want %+v (order or line numbers broken)", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// waitGoroutines waits until the goroutine count is back to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left running, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDecodeParallelStopsOnSinkError(t *testing.T) {
	errStop := errors.New("emit failed")
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			before := runtime.NumGoroutine()
			lines := input.NewLinesFrom("test", strings.NewReader(numbered(20000)))
			var got []item
			failed := false
			err := input.DecodeParallel(context.Background(), lines, workers, decodeNumbered, func(vs []item) error {
				if failed {
					t.Fatal("sink called again after it failed")
				}
				got = append(got, vs...)
				if len(got) >= 1000 {
					failed = true
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Fatalf("err = %v, want the sink's error", err)
			}
			want := expected(20000)
			if len(got) < 1000 || len(got) >= len(want) {
				t.Fatalf("delivered %d values before stopping", len(got))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("value %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			waitGoroutines(t, before)
		})
	}
}

func TestDecodeParallelStopsOnCancel(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := input.NewLinesFrom("test", strings.NewReader(numbered(20000)))
			calls, afterCancel := 0, 0
			err := input.DecodeParallel(ctx, lines, workers, decodeNumbered, func(vs []item) error {
				calls++
				if ctx.Err() != nil {
					afterCancel++
				}
				if calls == 3 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if afterCancel != 0 {
				t.Errorf("sink called %d times after the context was cancelled", afterCancel)
			}
			waitGoroutines(t, before)
		})
	}
	t.Run("cancelled before the start", func(t *testing.T) {
		for _, workers := range []int{1, 4} {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			calls := 0
			err := input.DecodeParallel(ctx, input.NewLinesFrom("test", strings.NewReader(numbered(100))), workers, decodeNumbered, func([]item) error {
				calls++
				return nil
			})
			if !errors.Is(err, context.Canceled) || calls != 0 {
				t.Errorf("workers=%d: err %v after %d sink calls, want context.Canceled and none", workers, err, calls)
			}
		}
	})
}

func TestDecodeParallelReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			lines := input.NewLinesFrom("flows.jsonl", &failingReader{data: []byte(numbered(2000)), err: boom})
			var got []item
			err := input.DecodeParallel(context.Background(), lines, workers, decodeNumbered, func(vs []item) error {
				got = append(got, vs...)
				return nil
			})
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), "flows.jsonl") {
				t.Fatalf("err = %v, want the read error naming the file", err)
			}
			if want := expected(2000); len(got) != len(want) {
				t.Errorf("%d values delivered before the error, want all %d", len(got), len(want))
			}
		})
	}
}
