package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/flowfence/flowfence/policy"
)

// FindPolicyName is the finding kind for workloads whose policy names
// were disambiguated.
const FindPolicyName = "policy-name"

// hashLen is the length of the hash suffix of a disambiguated name (hex
// digits of SHA-256 of the full workload name).
const hashLen = 8

// policyNames returns the base of each workload's policy names (before
// "-ingress"/"-egress") in one namespace. safeName maps every character a
// policy name cannot hold to '-', so workloads whose names differ only by
// such characters ("a.b" and "a-b", a Cyrillic look-alike) would share one
// policy: each of them instead gets its safe name followed by "-" and a
// short hash of its full name — the same whatever other workloads the
// namespace has, so the suffix depends on the collision, not on the order.
// A finding per renamed workload says so (FLOWS.md lists it).
func (s *synth) policyNames(ns string, workloads []string) map[string]string {
	base := make(map[string]string, len(workloads))
	users := map[string][]string{}
	for _, w := range workloads {
		b := safeName(w)
		base[w] = b
		users[b] = append(users[b], w)
	}
	taken := map[string]bool{}
	for b, ws := range users {
		if len(ws) == 1 {
			taken[b] = true
		}
	}
	for _, b := range slices.Sorted(maps.Keys(users)) {
		ws := users[b]
		if len(ws) == 1 {
			continue
		}
		slices.Sort(ws)
		for _, w := range ws {
			sum := sha256.Sum256([]byte(w))
			h := hex.EncodeToString(sum[:])
			n := hashLen
			name := withSuffix(b, h[:n])
			for taken[name] && n < len(h) {
				n += 4
				name = withSuffix(b, h[:n])
			}
			taken[name] = true
			base[w] = name
			s.finding(policy.Finding{Kind: FindPolicyName, Namespace: ns, Workload: w,
				Message: fmt.Sprintf("workloads %s share the policy name %q (a policy name holds only a-z, 0-9 and '-'): this one's policies are named %s-ingress/-egress (suffix: a hash of its full name)",
					quoteAll(ws), b, name)})
		}
	}
	return base
}

// withSuffix appends "-"+h to b, cutting b so the name stays within the
// length safeName allows.
func withSuffix(b, h string) string {
	if max := 200 - len(h) - 1; len(b) > max {
		b = b[:max]
		for len(b) > 0 && b[len(b)-1] == '-' {
			b = b[:len(b)-1]
		}
	}
	return b + "-" + h
}

func quoteAll(ws []string) string {
	out := ""
	for i, w := range ws {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", w)
	}
	return out
}
