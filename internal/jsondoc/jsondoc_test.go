package jsondoc_test

import (
	"testing"

	"github.com/flowfence/flowfence/internal/jsondoc"
)

// TestMarshal: two-space indentation, a trailing newline, and the HTML
// characters escaped as encoding/json escapes them by default.
func TestMarshal(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"object", map[string]any{"b": []int{1, 2}, "a": "x"}, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n"},
		{"html escaped", struct {
			S string `json:"s"`
		}{"<a&b>"}, "{\n  \"s\": \"\\u003ca\\u0026b\\u003e\"\n}\n"},
	} {
		got, err := jsondoc.Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := jsondoc.Marshal(func() {}); err == nil {
		t.Error("a func value encoded without error")
	}
}
