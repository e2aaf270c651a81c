package escape_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/escape/escapetest"
)

func hostile(t testing.TB) []string {
	t.Helper()
	names, err := escapetest.Names("../../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// page puts name everywhere a report writes one: at the start of a line,
// in running text, in a list item, in a heading, in table cells and in
// code spans.
func page(name string) string {
	text, cell := escape.MarkdownText(name), escape.MarkdownCell(name)
	return text + "\n\n" +
		"Text: " + text + " end.\n\n" +
		"- " + text + "\n- second\n\n" +
		"## " + text + "\n\n" +
		"| a | b |\n|---|---|\n| " + cell + " | x |\n| y | " + cell + " |\n\n" +
		"Code " + escape.MarkdownCode(name) + " end.\n\n" +
		"| code |\n|---|\n| " + escape.MarkdownCodeCell(name) + " |\n"
}

// plainShape is the rendered shape of page("benign").
func plainShape(t testing.TB) []string {
	t.Helper()
	want, err := escapetest.Render([]byte(page("benign")))
	if err != nil {
		t.Fatal(err)
	}
	return escapetest.Shape(want)
}

// checkInert renders page(name) and compares it with page("benign") (its
// shape want): the same elements, attributes and table cells, and name
// shown as Terminal prints it wherever it was written.
func checkInert(t *testing.T, want []string, name string) {
	t.Helper()
	got, err := escapetest.Render([]byte(page(name)))
	if err != nil {
		t.Fatal(err)
	}
	if d := escapetest.FirstDiff(want, escapetest.Shape(got)); d != "" {
		t.Fatalf("%q renders to other elements than a plain name: %s\n%s", name, d, page(name))
	}
	shown := escape.Terminal(name)
	ps := escapetest.Texts(got, "p")
	if len(ps) < 3 || ps[0] != shown || ps[1] != "Text: "+shown+" end." || ps[len(ps)-1] != "Code "+shown+" end." {
		t.Errorf("%q: paragraphs %q, want it shown as %q", name, ps, shown)
	}
	if li := escapetest.Texts(got, "li"); li[0] != shown {
		t.Errorf("%q: list item %q, want %q", name, li[0], shown)
	}
	if h := escapetest.Texts(got, "h2"); h[0] != shown {
		t.Errorf("%q: heading %q, want %q", name, h[0], shown)
	}
	td := escapetest.Texts(got, "td")
	if want := []string{shown, "x", "y", shown, shown}; !slices.Equal(td, want) {
		t.Errorf("%q: cells %q, want %q", name, td, want)
	}
}

// TestMarkdownHostileNamesRenderAsText: every hostile name of
// testdata/hostile renders, with goldmark's GFM, to exactly the elements a
// plain name does, and reads as the name.
func TestMarkdownHostileNamesRenderAsText(t *testing.T) {
	want := plainShape(t)
	for _, name := range hostile(t) {
		t.Run(escape.Terminal(name), func(t *testing.T) { checkInert(t, want, name) })
	}
}

// TestMarkdownPlainNamesUnchanged: what real clusters name things stays
// readable in the raw Markdown a reviewer sees in a diff.
func TestMarkdownPlainNamesUnchanged(t *testing.T) {
	for _, s := range []string{"shop/frontend", "host 10.0.0.11", "api.stripe.com", "fd00:ec2::254", "TCP/8080",
		"payments/{app.kubernetes.io/name=payments-api}", "data/postgres-ingress (data/postgres-ingress.yaml)",
		"kube-system/kube-dns", "instance metadata (IMDS) called: never allowed by default", "169.254.169.254"} {
		if got := escape.MarkdownText(s); got != s {
			t.Errorf("MarkdownText(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	checkEscape(t, "MarkdownText", escape.MarkdownText, []escapeCase{
		{"<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"},
		{"[click me](https://evil.example)", `\[click me\](https\://evil.example)`},
		{"## heading", `\#\# heading`},
		{"@admin", "@&#8203;admin"},
		{"#123", `\#&#8203;123`},
		{"a|b", `a\|b`},
		{"x\ny", `x\\ny`},
		{"x\ry", `x\\ry`},
		{"- item", `\- item`},
		{"12. item", `12\. item`},
		{"www.evil.example", `www\.evil.example`},
		{"a & b", "a &amp; b"},
		{" padded ", "&#32;padded&#32;"},
	})
}

// TestMarkdownCode: a backtick in a name never closes its code span (the
// fence is longer than any run of backticks in it), and the span keeps the
// name whole.
func TestMarkdownCode(t *testing.T) {
	checkEscape(t, "MarkdownCode", escape.MarkdownCode, []escapeCase{
		{"shop/policy.yaml", "`shop/policy.yaml`"},
		{"a`b", "``a`b``"},
		{"``", "``` `` ```"},
		{"`x", "`` `x ``"},
		{"", "` `"},
		{"x\ny", "`x\\ny`"},
	})
	if got := escape.MarkdownCodeCell("a|b"); got != "`a\\|b`" {
		t.Errorf("MarkdownCodeCell(a|b) = %q", got)
	}
}

func TestMermaidLabel(t *testing.T) {
	checkEscape(t, "MermaidLabel", escape.MermaidLabel, []escapeCase{
		{"shop/frontend", `"shop/frontend"`},
		{`say "hi"`, `"say #quot;hi#quot;"`},
		{"<b>x</b>", `"#lt;b#gt;x#lt;/b#gt;"`},
		{"#quot;", `"#35;quot;"`},
		{"a\r```", "\"a\\r#96;#96;#96;\""},
		{"a|b & c", `"a#124;b #amp; c"`},
		{"%%{init: {}}%%", `"#37;#37;{init: {}}#37;#37;"`},
	})
}

// FuzzMarkdownCell: whatever the name, a page of it renders to the
// elements of a plain name's page and shows the name.
func FuzzMarkdownCell(f *testing.F) {
	for _, n := range hostile(f) {
		f.Add(n)
	}
	want := plainShape(f)
	f.Fuzz(func(t *testing.T, name string) {
		if strings.TrimSpace(escape.Terminal(name)) == "" {
			return // an empty name renders no text to compare (writers print "-")
		}
		checkInert(t, want, name)
	})
}

// FuzzMermaidLabel: whatever the name, an edge line with it as labels is
// one the diff report's template writes, on one line.
func FuzzMermaidLabel(f *testing.F) {
	for _, n := range hostile(f) {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		l := escape.MermaidLabel(name)
		line := "  n1[" + l + "] -->|" + l + "| n2[" + l + "]"
		if blocks := escapetest.MermaidBlocks([]byte("```mermaid\ngraph LR\n" + line + "\n```\n")); len(blocks) != 1 || len(blocks[0]) != 2 || !escapetest.MermaidLine(blocks[0][1]) {
			t.Fatalf("label of %q makes a line the template does not write: %q", name, line)
		}
	})
}

// TestMarkdownLineStarts: names that would open a block at the start of a
// line, or that sit at the edges of the escaping rules.
func TestMarkdownLineStarts(t *testing.T) {
	want := plainShape(t)
	for _, name := range []string{"+", "=", "-", "---", "***", "===", "a  ", "\t", "[x]", "- [ ] task", "<http://x>", "x\\", "\\",
		"&#8203;", "&amp;", ":smile:", "<!-- c -->", "*", "_a_", "a_b_c", "1)", "1.", "9999999999. x", "(www.evil.example)",
		"ftp://evil.example", "mailto:a@b.example", "xmpp:a@b.example/r", "a@b", "\\`x`", "|", "||", "a\\", "~~~", "$$"} {
		t.Run(escape.Terminal(name), func(t *testing.T) { checkInert(t, want, name) })
	}
}
