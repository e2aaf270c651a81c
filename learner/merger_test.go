package learner

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMergerAgrees folds random graphs (parts of one random stream, with
// drops, replies and DNS answers, so that edges move between learned and
// denied as evidence arrives) into one graph through a Merger and through
// Graph.Merge: after every merge both write the same bytes.
func TestMergerAgrees(t *testing.T) {
	tests := []struct {
		name string
		opts genOptions
		// base: the first graph merged was learned with LearnDropped
		// (not judged as Merge judges)
		learnDroppedBase bool
		// saturate: one part carries an edge whose flows saturate the
		// learned counter
		saturate bool
	}{
		{name: "flows", opts: genOptions{}},
		{name: "flows with DNS answers", opts: genOptions{dns: true}},
		{name: "flows with drops", opts: genOptions{drops: true}},
		{name: "drops without replies", opts: genOptions{drops: true, noReplies: true}},
		{name: "drops and DNS, base learned with dropped", opts: genOptions{drops: true, dns: true}, learnDroppedBase: true},
		{name: "saturated counter", opts: genOptions{drops: true}, saturate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range 40 {
				rng := rand.New(rand.NewPCG(uint64(seed), 0xfee7))
				cluster := genCluster(rng)
				recs := genStream(rng, cluster, 40+rng.IntN(120), tt.opts)
				parts := split(rng, recs, 3+rng.IntN(8))
				var gs []*Graph
				for i, p := range parts {
					opts := Options{LearnDropped: tt.learnDroppedBase && i == 0}
					g := learn(opts, p...)
					if tt.saturate && i == len(parts)/2 {
						for _, e := range g.Edges {
							e.Flows = math.MaxUint64 - 1
							break
						}
					}
					gs = append(gs, g)
				}
				plain, fast := NewGraph(), NewGraph()
				m := NewMerger(fast)
				for i, g := range gs {
					plain.Merge(g)
					m.Merge(g)
					want, got := writeJSON(t, plain), writeJSON(t, fast)
					if got != want {
						t.Fatalf("seed %d, after part %d: the Merger's graph differs from Graph.Merge's: %s", seed, i, firstDiff(want, got))
					}
				}
				if len(recs) > 0 && len(plain.Edges)+len(plain.Denied) == 0 {
					t.Fatalf("seed %d: nothing merged", seed)
				}
			}
		})
	}
}
