package record

import "testing"

// TestLabelSetKey: equal label sets share a key, and no two different sets
// do, even when keys and values hold the bytes a separator-based key would
// confuse (NUL, '=', ':', digits).
func TestLabelSetKey(t *testing.T) {
	sets := []map[string]string{
		nil,
		{"": ""},
		{"app": "x"},
		{"app": "x", "role": "admin"},
		{"app": "x\x00role=admin"},
		{"app": "x\x00role=admin\x00"},
		{"app": "x", "role": "admin\x00"},
		{"a": "1:b"},
		{"a": "1", "b": ""},
		{"a1:b": ""},
		{"a": "", "1:b": ""},
		{"a=b": "c"},
		{"a": "b=c"},
	}
	seen := map[string]int{}
	for i, m := range sets {
		k := LabelSetKey(m)
		if j, ok := seen[k]; ok {
			t.Errorf("%q and %q share the key %q", sets[j], m, k)
		}
		seen[k] = i
		clone := map[string]string{}
		for k, v := range m {
			clone[k] = v
		}
		if got := LabelSetKey(clone); got != k {
			t.Errorf("%q: a copy gives %q, the set %q", m, got, k)
		}
	}
	if LabelSetKey(nil) != LabelSetKey(map[string]string{}) {
		t.Error("a nil and an empty set differ")
	}
}
