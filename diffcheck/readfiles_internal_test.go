package diffcheck

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzBoundDetail: whatever a decoder says, the message a user sees is
// short and holds no character that acts on a terminal.
func FuzzBoundDetail(f *testing.F) {
	f.Add(`spec.policyTypes[0]: Unsupported value: "\x1b]0;pwned\a": supported values: "Ingress", "Egress"`)
	f.Add("yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `\x1b[2J` into int")
	f.Add(`json: unknown field "` + strings.Repeat("k", 300))
	f.Add("kind \u202eevil\x85 " + strings.Repeat("\xff", 300))
	f.Fuzz(func(t *testing.T, msg string) {
		out := boundDetail(msg)
		if len(out) > detailBytes+len("…") {
			t.Fatalf("%d bytes: %q", len(out), out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("%U in %q", r, out)
			}
		}
	})
}
