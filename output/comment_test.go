package output

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCommentCannotLeave: whatever text a comment carries, the YAML around
// it parses to the same document (the comment never ends early).
func TestCommentCannotLeave(t *testing.T) {
	attacks := []string{
		"api.example.com\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0",
		"x\rkind: Evil",
		"x\u0085kind: Evil",
		"x\u2028kind: Evil\u2029",
		"\n---\napiVersion: v1\nkind: Secret",
		"bad \xff\xfe utf-8\nkind: Evil",
		"\x1b]0;title\x07",
	}
	for _, a := range attacks {
		var b []byte
		b = Header(b, []string{a}, []string{a}, a)
		b = append(b, "kind: Good\nspec:\n"...)
		b = AppendTrailingComment(b, []byte("  cidr: 10.0.0.1/32\n"), a)
		if n := strings.Count(string(b), "\n"); n != 6 {
			t.Errorf("%q: %d lines, want 6:\n%s", a, n, b)
		}
		var got map[string]any
		if err := yaml.UnmarshalStrict(b, &got); err != nil {
			t.Fatalf("%q: %v\n%s", a, err, b)
		}
		want := map[string]any{"kind": "Good", "spec": map[string]any{"cidr": "10.0.0.1/32"}}
		if len(got) != 2 || got["kind"] != "Good" || got["spec"].(map[string]any)["cidr"] != want["spec"].(map[string]any)["cidr"] {
			t.Errorf("%q: decoded %v, want %v", a, got, want)
		}
		for _, bad := range []string{"\r", "\u0085", "\u2028", "\u2029", "\x1b"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%q: output keeps %q", a, bad)
			}
		}
	}
}
