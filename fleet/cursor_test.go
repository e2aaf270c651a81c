package fleet

import "testing"

// TestFollows: the aggregator merges a lineage in order, so a part is
// taken only right after the one before it; a cursor that does not know
// its sequence's parts takes either successor.
func TestFollows(t *testing.T) {
	for _, tc := range []struct {
		name string
		p, q Position
		want bool
	}{
		{"first part of a new lineage", Position{Seq: 1, Part: 1}, Position{}, true},
		{"a new lineage's second part first", Position{Seq: 1, Part: 2}, Position{}, false},
		{"a new lineage's second sequence first", Position{Seq: 2, Part: 1}, Position{}, false},
		{"next part", Position{Seq: 3, Part: 2}, Position{Seq: 3, Part: 1, Parts: 2}, true},
		{"next sequence before the last part", Position{Seq: 4, Part: 1}, Position{Seq: 3, Part: 1, Parts: 2}, false},
		{"next sequence after the last part", Position{Seq: 4, Part: 1}, Position{Seq: 3, Part: 2, Parts: 2}, true},
		{"a sequence skipped", Position{Seq: 5, Part: 1}, Position{Seq: 3, Part: 1, Parts: 1}, false},
		{"a part skipped", Position{Seq: 3, Part: 3}, Position{Seq: 3, Part: 1, Parts: 3}, false},
		{"parts unknown: next part", Position{Seq: 3, Part: 2}, Position{Seq: 3, Part: 1}, true},
		{"parts unknown: next sequence", Position{Seq: 4, Part: 1}, Position{Seq: 3, Part: 1}, true},
		{"parts unknown: a sequence skipped", Position{Seq: 5, Part: 1}, Position{Seq: 3, Part: 1}, false},
		{"the same part again", Position{Seq: 3, Part: 1}, Position{Seq: 3, Part: 1, Parts: 1}, false},
	} {
		if got := tc.p.Follows(tc.q); got != tc.want {
			t.Errorf("%s: %+v.Follows(%+v) = %v, want %v", tc.name, tc.p, tc.q, got, tc.want)
		}
	}
}
