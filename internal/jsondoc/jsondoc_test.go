package jsondoc_test

import (
	"strings"
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

// TestReadStrict: a document is bounded before it is read, and read as
// exactly one JSON value with no member the type lacks.
func TestReadStrict(t *testing.T) {
	type doc struct {
		A int `json:"a"`
	}
	for _, c := range []struct {
		name, data string
		limit      int
		want       string // error text; "" for none
	}{
		{"one document", `{"a": 1}`, 100, ""},
		{"at the limit", `{"a": 1}`, 8, ""},
		{"over the limit", `{"a": 1}`, 7, "larger than 7 bytes: not a test document"},
		{"unknown member", `{"a": 1, "b": 2}`, 100, `json: unknown field "b"`},
		{"second document", `{"a": 1} {"a": 2}`, 100, "trailing data after the test document"},
		{"trailing garbage", `{"a": 1}]`, 100, "trailing data after the test document"},
		{"not JSON", `a: 1`, 100, "invalid character"},
	} {
		var d doc
		data, err := jsondoc.ReadLimited(strings.NewReader(c.data), c.limit, "test document")
		if err == nil {
			err = jsondoc.DecodeStrict(data, &d, "test document")
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && d.A != 1:
			t.Errorf("%s: decoded %+v", c.name, d)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
