package collectors_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/record"
)

// TestEmitter: records are emitted in the order they were added, each
// once; with a Prefetch, a group of at most 32 is given to it before any
// of the group is emitted, and a Flush emits what is queued; an emit error
// stops the group there and is returned; without a Prefetch each record is
// emitted as it is added.
func TestEmitter(t *testing.T) {
	for _, c := range []struct {
		name     string
		prefetch bool
		adds     []int // records added before each Flush
		failAt   int   // the emit of this record (1-based) fails; 0: none
		emitted  int   // records emitted in all
	}{
		{"no prefetch", false, []int{5, 40}, 0, 45},
		{"one small batch", true, []int{5}, 0, 5},
		{"a batch of whole groups", true, []int{64}, 0, 64},
		{"groups across a flush", true, []int{33, 70, 1, 0}, 0, 104},
		{"an emit fails", true, []int{50}, 40, 40},
		{"an emit fails without prefetch", false, []int{50}, 7, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			var recs []record.Record
			for _, n := range c.adds {
				for range n {
					recs = append(recs, record.Record{Count: uint64(len(recs) + 1)})
				}
			}
			var emitted, prefetched []uint64
			var groups []int
			errEmit := errors.New("sink full")
			emit := func(r *record.Record) error {
				emitted = append(emitted, r.Count)
				if int(r.Count) == c.failAt {
					return errEmit
				}
				return nil
			}
			var opts collectors.Options
			if c.prefetch {
				opts.Prefetch = func(g []*record.Record) {
					groups = append(groups, len(g))
					for _, r := range g {
						if slices.Contains(emitted, r.Count) {
							t.Errorf("record %d prefetched after it was emitted", r.Count)
						}
						prefetched = append(prefetched, r.Count)
					}
				}
			}
			em := collectors.NewEmitter(opts, emit)
			next := 0
			var err error
		adding:
			for _, n := range c.adds {
				for range n {
					if err = em.Add(&recs[next]); err != nil {
						break adding
					}
					next++
				}
				if err = em.Flush(); err != nil {
					break
				}
			}
			if c.failAt != 0 && !errors.Is(err, errEmit) {
				t.Fatalf("error %v, want the emit's", err)
			}
			if c.failAt == 0 && err != nil {
				t.Fatal(err)
			}
			want := make([]uint64, c.emitted)
			for i := range want {
				want[i] = uint64(i + 1)
			}
			if !slices.Equal(emitted, want) {
				t.Fatalf("emitted %v, want 1..%d in order", emitted, c.emitted)
			}
			if c.prefetch {
				if len(prefetched) < len(emitted) || !slices.Equal(prefetched[:len(emitted)], emitted) {
					t.Fatalf("prefetched %v, emitted %v", prefetched, emitted)
				}
				for _, g := range groups {
					if g < 1 || g > 32 {
						t.Fatalf("a group of %d records", g)
					}
				}
			} else if len(groups) != 0 {
				t.Fatal("prefetched without a Prefetch")
			}
			if err := em.Flush(); err != nil || len(emitted) != c.emitted {
				t.Fatalf("a last flush emitted %d more records (%v)", len(emitted)-c.emitted, err)
			}
		})
	}
}
