package oracles

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/flowfence/flowfence/verifier"
)

// TestRandomAgreement compares random policy sets (selectors with every
// operator, ipBlocks with except over pod and external IPs in both
// families, named ports, endPort ranges, nil and empty lists, defaulted
// policyTypes and protocols) on random flows. The seeds are fixed so a
// failure reproduces.
func TestRandomAgreement(t *testing.T) {
	tests := []struct {
		name        string
		seed        uint64
		sets        int
		maxPolicies int
		flowsPerSet int
	}{
		{name: "few policies", seed: 1, sets: 1500, maxPolicies: 2, flowsPerSet: 30},
		{name: "many policies", seed: 2, sets: 1500, maxPolicies: 6, flowsPerSet: 30},
	}
	u := randomUniverse()
	total := newTally()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 0x5eed))
			tl := newTally()
			for i := range tc.sets {
				policies := randomPolicies(r, u, tc.maxPolicies)
				set, err := newOracleSet(policies, u)
				if err != nil {
					t.Fatalf("set %d: %v\n%s", i, err, dumpPolicies(policies))
				}
				checkFlows(t, fmt.Sprintf("seed %d set %d", tc.seed, i), set, randomFlows(r, u, tc.flowsPerSet), tl)
				if t.Failed() {
					return
				}
			}
			t.Logf("%d policy sets; %s", tc.sets, tl)
			total.add(tl)
		})
	}
	t.Logf("total: %s", total)
}

// FuzzAgreement derives a policy set and flows from the fuzzer's bytes and
// requires every oracle to agree. `go test` runs the seeds; run
// `go test -fuzz FuzzAgreement` to explore.
func FuzzAgreement(f *testing.F) {
	seeds := [][]byte{
		{},
		{0, 0, 0, 0},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		[]byte("deny all ingress in namespace x"),
		[]byte("\x02\x03\x01\x04\x04\x02\x05\x03\x02\x01\x00\x07\x13\x11\x04\x02\x09"),
		[]byte("ipBlock except named port endPort NotIn DoesNotExist \xff\xfe\xfd\xfc\xfb"),
	}
	for i := range 8 {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		b := make([]byte, 64+r.IntN(192))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		seeds = append(seeds, b)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	u := randomUniverse()
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &byteChooser{data: data}
		policies := randomPolicies(c, u, 4)
		set, err := newOracleSet(policies, u)
		if err != nil {
			t.Fatalf("%v\n%s", err, dumpPolicies(policies))
		}
		checkFlows(t, "fuzz", set, randomFlows(c, u, 16), newTally())
	})
}

// TestCiliumMetamorphic checks CNI "cilium" against the upstream engine: a
// Cilium ipBlock never matches a pod or a node, which is the upstream
// answer for the same flow with the pod and node addresses removed
// (selectors do not look at addresses).
func TestCiliumMetamorphic(t *testing.T) {
	tests := []struct {
		name string
		seed uint64
		sets int
	}{
		{name: "seed 3", seed: 3, sets: 1000},
	}
	u := randomUniverse()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 0xc111))
			flows, differ := 0, 0
			for i := range tc.sets {
				policies := randomPolicies(r, u, 4)
				cilium, err := verifier.New(policies, verifier.Options{CNI: verifier.CNICilium})
				if err != nil {
					t.Fatal(err)
				}
				upstream, err := verifier.New(policies, verifier.Options{CNI: verifier.CNIKubernetes})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range randomFlows(r, u, 20) {
					flows++
					got := cilium.Evaluate(f)
					stripped := f
					for _, p := range []*verifier.Peer{&stripped.Src, &stripped.Dst} {
						if p.IsPod || p.IsNode {
							p.IP = netip.Addr{}
						}
					}
					want := upstream.Evaluate(stripped)
					if got.Verdict != want.Verdict || !reflect.DeepEqual(got.Egress, want.Egress) || !reflect.DeepEqual(got.Ingress, want.Ingress) {
						t.Fatalf("set %d: %s: cilium %+v, upstream without pod/node IPs %+v\n%s", i, describeFlow(f), got, want, dumpPolicies(policies))
					}
					if got.Verdict != upstream.Evaluate(f).Verdict {
						differ++
					}
				}
			}
			if differ == 0 {
				t.Fatal("cilium never differed from upstream: the generator does not exercise ipBlocks over pods")
			}
			t.Logf("%d flows, %d with a cilium verdict different from upstream", flows, differ)
		})
	}
}
