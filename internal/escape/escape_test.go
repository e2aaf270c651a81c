package escape

import (
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"frontend", "frontend"},
		{"a\x1b]0;pwned\x07b", `a\x1b]0;pwned\ab`},
		{"line\rover", `line\rover`},
		{"two\nlines", `two\nlines`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"café", "café"},
	}
	for _, tt := range tests {
		if got := Terminal(tt.in); got != tt.want {
			t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTerminalLeavesNoControl(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	for _, r := range Terminal(all.String() + "\xff\xfe") {
		if unsafeRune(r) {
			t.Fatalf("Terminal kept %U", r)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Shop", 64, `"Shop"`},
		{"a\nb", 64, `"a\nb"`},
		{`say "hi"`, 64, `"say \"hi\""`},
		{"abcdef", 3, `"abc"…`},
		{"ééé", 3, `"é"…`},
	}
	for _, tt := range tests {
		if got := Snippet(tt.in, tt.n); got != tt.want {
			t.Errorf("Snippet(%q, %d) = %s, want %s", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestYAMLCommentOneLine(t *testing.T) {
	in := "api.example.com\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\r\u2028x\u0085y"
	got := YAMLComment(in)
	if strings.ContainsAny(got, "\n\r\u2028\u2029\u0085") {
		t.Fatalf("YAMLComment(%q) = %q: still breaks the line", in, got)
	}
}
