package escape_test

import (
	"testing"

	"github.com/flowfence/flowfence/internal/escape"
)

func TestDOTString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"shop/frontend", `"shop/frontend"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\nb \N`, `"a\\nb \\N"`},
		{`ends\`, `"ends\\ "`},
		{"two\nlines", `"two\\nlines"`},
		{"<b>&</b>", `"<b>&</b>"`},
	}
	for _, tt := range tests {
		if got := escape.DOTString(tt.in); got != tt.want {
			t.Errorf("DOTString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestHTMLText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"shop", "shop"},
		{`<script>"x"&'y'</script>`, "&lt;script&gt;&#34;x&#34;&amp;&#39;y&#39;&lt;/script&gt;"},
		{"a\nb\u202e", `a\nb\u202e`},
	}
	for _, tt := range tests {
		if got := escape.HTMLText(tt.in); got != tt.want {
			t.Errorf("HTMLText(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
