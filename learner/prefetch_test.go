package learner_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// TestPrefetchChangesNothing: a learner asked to prefetch each group of
// records before adding them (as the file sources do) learns the graph a
// learner that is not asked learns, byte for byte: Prefetch only reads.
// Groups of any size, records in any order, uuids seen twice (the dedupe
// window), replies, records without memos and records whose memos another
// learner owns.
func TestPrefetchChangesNothing(t *testing.T) {
	s := benchgen.Spec{Namespaces: 6, Workloads: 60, Replicas: 3, Nodes: 7, Peers: 10, Flows: 6_000, Seed: 3}
	for _, format := range []string{"calico", "hubble"} {
		recs := decoded(t, format, s)
		rng := rand.New(rand.NewPCG(3, 4))
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		// every 50th record again ten records later: its uuid (Hubble's)
		// is in the window
		var dup []record.Record
		for i := range recs {
			dup = append(dup, recs[i])
			if i%50 == 10 {
				dup = append(dup, recs[i-10])
			}
		}
		recs = dup
		for i := 0; i < len(recs); i += 97 {
			recs[i].Src.Memo, recs[i].Dst.Memo = nil, nil
		}
		replies := 0
		for i := range recs {
			if recs[i].Direction == record.Reply {
				replies++
			}
		}
		if format == "hubble" && replies == 0 {
			t.Fatal("no replies: the test would not test them")
		}
		for _, group := range []int{1, 7, 32, 100} {
			t.Run(fmt.Sprintf("%s/%d", format, group), func(t *testing.T) {
				opts := learner.Options{DedupeWindow: 1000}
				plain, asked, other := learner.New(opts), learner.New(opts), learner.New(opts)
				for i := 0; i < len(recs); i += group {
					g := recs[i:min(i+group, len(recs))]
					ptrs := make([]*record.Record, len(g))
					for j := range g {
						ptrs[j] = &g[j]
					}
					// a learner whose memo caches the other one replaces
					other.Prefetch(ptrs)
					for j := range g {
						if (i+j)%5 == 0 {
							other.Add(&g[j])
						}
					}
					asked.Prefetch(ptrs)
					for j := range g {
						asked.Add(&g[j])
					}
				}
				for i := range recs {
					plain.Add(&recs[i])
				}
				var a, b bytes.Buffer
				if err := plain.Graph().Write(&a); err != nil {
					t.Fatal(err)
				}
				if err := asked.Graph().Write(&b); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("groups of %d: the graph learned with Prefetch differs (%d vs %d bytes)", group, b.Len(), a.Len())
				}
				if st := asked.Graph().Stats; format == "hubble" && st.Duplicates == 0 {
					t.Fatalf("no duplicates counted: the dedupe window was not tested")
				}
			})
		}
	}
}
