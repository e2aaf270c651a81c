package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flowfence/flowfence/record"
)

// ErrCutShort marks the error of a live window that ended before its end
// after flows came (its source stalled or vanished for good): what was
// received is kept, and the window is partial.
var ErrCutShort = errors.New("window cut short")

// Cursor is how far a live source's flows were counted into a graph, so
// that a resumed run counts each flow once. The source's package owns the
// type, its JSON (an object with a "version"), its merge rule and the
// replay that drops flows already counted; the live loop only advances it
// with each record the learner counted and stores its JSON in the graph
// under the source's name (learner.Cursors).
type Cursor interface {
	// Advance records that r, a record of this source, was counted.
	Advance(r *record.Record)
	// Empty reports whether nothing was counted.
	Empty() bool
	json.Marshaler
}

// LiveReport is what a live window went through, for the run summary.
type LiveReport interface {
	// SourceName is the window's source (its --from URL).
	SourceName() string
	// CutShortReason says why the window ended before its end ("" when
	// it did not).
	CutShortReason() string
	// SummaryLines are the window's lines in the run summary.
	SummaryLines() []string
}

// FoldCursors decodes each of the cursors a graph holds for one live
// source (name, for errors) into a fresh C, refuses one whose version
// (versionOf) is not version, and hands each to fold: a source's
// DecodeCursor folds them into one with its merge rule.
func FoldCursors[C any](name string, blobs []json.RawMessage, version int, versionOf func(*C) int, fold func(*C)) error {
	for _, b := range blobs {
		c := new(C)
		if err := json.Unmarshal(b, c); err != nil {
			return fmt.Errorf("cursor of %s: %w", name, err)
		}
		if v := versionOf(c); v != version {
			return fmt.Errorf("cursor of %s: version %d, this build reads version %d", name, v, version)
		}
		fold(c)
	}
	return nil
}

// Every calls tick every period from one goroutine until ctx is done, tick
// returns false, or the returned stop is called (stop returns once tick no
// longer runs): the periodic work of a live window (checkpoints, progress,
// a shard's relisting, the stall watch).
func Every(ctx context.Context, period time.Duration, tick func() bool) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if !tick() {
					return
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}
