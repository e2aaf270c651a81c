package fleet_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// TestMergerAgreesOnDeltas: the aggregator's way of merging (a
// learner.Merger, judging only what a delta touches) gives the graph the
// plain Graph.Merge gives, byte for byte as written, after every delta:
// three clusters learn real flows (the sample, the captures) cut at random
// checkpoints, their deltas (split into random small parts) interleaved
// at random as the stream delivers them.
func TestMergerAgreesOnDeltas(t *testing.T) {
	sets := map[string]string{"sample": "../testdata/flows/*"}
	if dir, ok := testsupport.FindCaptures("hubble"); ok {
		sets["captures"] = filepath.Join(dir, "*.json")
	} else {
		t.Log("captures not found (../shared/captures): the sample only")
	}
	for name, glob := range sets {
		recs := records(t, glob)
		for seed := range 4 {
			t.Run(fmt.Sprintf("%s/seed %d", name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 0xde17a))
				var queues [][]*learner.Graph
				for c := range 3 {
					cluster := fmt.Sprintf("prod-%d", c)
					var mine []*record.Record
					for _, r := range recs {
						if rng.IntN(3) > 0 { // each cluster sees about two thirds
							cp := *r
							cp.Src.Cluster, cp.Dst.Cluster = cluster, cluster
							mine = append(mine, &cp)
						}
					}
					prev := learner.NewGraph()
					var q []*learner.Graph
					for i, cur := range checkpoints(mine, 2+rng.IntN(20)) {
						msgs, err := fleet.Encode(cluster, "e1", uint64(i+1), fleet.Delta(prev, cur), 2048+rng.IntN(1<<16))
						if err != nil {
							t.Fatal(err)
						}
						for _, m := range msgs {
							_, part, err := fleet.Decode(m)
							if err != nil {
								t.Fatal(err)
							}
							q = append(q, part)
						}
						prev = cur
					}
					queues = append(queues, q)
				}
				plain, fast := learner.NewGraph(), learner.NewGraph()
				m := learner.NewMerger(fast)
				n := 0
				for len(queues) > 0 {
					i := rng.IntN(len(queues))
					part := queues[i][0]
					if queues[i] = queues[i][1:]; len(queues[i]) == 0 {
						queues = append(queues[:i], queues[i+1:]...)
					}
					plain.Merge(part)
					m.Merge(part)
					n++
					if want, got := written(t, plain), written(t, fast); got != want {
						t.Fatalf("after part %d: the Merger's graph differs from Graph.Merge's", n)
					}
				}
				if len(plain.Edges) == 0 {
					t.Fatal("no edge merged")
				}
			})
		}
	}
}

// written is g as its file holds it (not judged again, unlike text).
func written(t *testing.T, g *learner.Graph) string {
	t.Helper()
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
