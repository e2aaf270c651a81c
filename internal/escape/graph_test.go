package escape_test

import (
	"testing"

	"github.com/flowfence/flowfence/internal/escape"
)

// escapeCase is an input and what an escape function must return for it.
type escapeCase struct{ in, want string }

// checkEscape reports every case for which f, the escape function called
// name, does not return the case's want.
func checkEscape(t *testing.T, name string, f func(string) string, cases []escapeCase) {
	t.Helper()
	for _, c := range cases {
		if got := f(c.in); got != c.want {
			t.Errorf("%s(%q) = %q, want %q", name, c.in, got, c.want)
		}
	}
}

func TestDOTString(t *testing.T) {
	checkEscape(t, "DOTString", escape.DOTString, []escapeCase{
		{"shop/frontend", `"shop/frontend"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\nb \N`, `"a\\nb \\N"`},
		{`ends\`, `"ends\\ "`},
		{"two\nlines", `"two\\nlines"`},
		{"<b>&</b>", `"<b>&</b>"`},
	})
}

func TestHTMLText(t *testing.T) {
	checkEscape(t, "HTMLText", escape.HTMLText, []escapeCase{
		{"shop", "shop"},
		{`<script>"x"&'y'</script>`, "&lt;script&gt;&#34;x&#34;&amp;&#39;y&#39;&lt;/script&gt;"},
		{"a\nb\u202e", `a\nb\u202e`},
	})
}
