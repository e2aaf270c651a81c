package escape

import "strings"

// Markdown (CommonMark with GitHub's extensions) turns text into elements
// in more ways than HTML: emphasis, links, images, raw HTML, headings and
// lists at the start of a line, table cells split on "|", autolinks of
// bare URLs, www. names and e-mail addresses, and on GitHub @mentions,
// #123 issue references and $math$. The functions below write a name that
// came from input so that a renderer shows it as text, exactly as Terminal
// would print it (control characters made visible), and never as an
// element.

// zwsp is a zero-width space written as an entity: GitHub links @mentions
// and #123 references in the rendered text, after backslash escapes and
// entities are decoded, so only a character between "@" and the name stops
// it (github/cmark-gfm#181: neither `\@` nor `&#64;` does).
const zwsp = "&#8203;"

// MarkdownText returns s escaped for running Markdown text (a paragraph,
// a list item, a heading): ASCII punctuation that can open an inline
// element (`\ ` * _ [ ] ~ | $`) is backslash-escaped, `< > &` become
// entities, a line-start marker (`#`, `-`, `+`, `=`, `1.`, `1)`) at the start
// of s is escaped, "scheme://" and "www." are broken so that no autolink
// forms, "@name" and "#123" get a zero-width space after the sign, leading
// and trailing spaces become entities, and control characters are made
// visible first (Terminal), so s stays on one line.
func MarkdownText(s string) string {
	t := Terminal(s)
	if plainMarkdown(t) {
		return t
	}
	var b strings.Builder
	b.Grow(len(t) + 16)
	lead := leadingMarker(t)
	first, last := len(t)-len(strings.TrimLeft(t, " ")), len(strings.TrimRight(t, " "))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case i == lead:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '&':
			b.WriteString("&amp;")
		case c == ' ' && (i < first || i >= last):
			b.WriteString("&#32;")
		case c == '@':
			b.WriteString("@" + zwsp)
		case c == '#':
			b.WriteString(`\#`)
			if i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9' {
				b.WriteString(zwsp)
			}
		case c == ':' && i+1 < len(t) && t[i+1] == '/':
			b.WriteString(`\:`)
		case c == '.' && i >= 3 && strings.EqualFold(t[i-3:i], "www") && (i == 3 || !alnum(t[i-4])):
			b.WriteString(`\.`)
		case strings.IndexByte("\\`*_[]~|$", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MarkdownCell returns s escaped for a GitHub table cell: MarkdownText,
// whose "|" is always escaped so a name never adds a column, and which
// keeps s on one line so a name never adds a row.
func MarkdownCell(s string) string { return MarkdownText(s) }

// MarkdownCode returns s as an inline code span for running text. Inside a
// code span nothing is markup and nothing is unescaped, so the rule is
// about its ends: the fence is one backtick longer than the longest run of
// backticks in s (a backtick in s never closes the span), and s is padded
// with a space on each side when it starts or ends with a backtick or a
// space (CommonMark strips exactly one such pair). Control characters are
// made visible first (Terminal): the span stays on one line.
func MarkdownCode(s string) string {
	t := Terminal(s)
	if t == "" {
		return "` `"
	}
	run, longest := 0, 0
	for i := 0; i < len(t); i++ {
		if t[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if t[0] == '`' || t[len(t)-1] == '`' || t[0] == ' ' || t[len(t)-1] == ' ' {
		t = " " + t + " "
	}
	return fence + t + fence
}

// MarkdownCodeCell returns s as an inline code span inside a GitHub table
// cell: MarkdownCode with every "|" written `\|`, which the table splits on
// never and drops before the code span is read (GFM: a cell's pipes are
// escaped "including inside other inline spans").
func MarkdownCodeCell(s string) string {
	return strings.ReplaceAll(MarkdownCode(s), "|", `\|`)
}

// plainMarkdown reports whether t needs no escaping: letters, digits and
// the punctuation of names, addresses and ports that starts nothing
// anywhere in a line ("/", ".", ",", ":", "=", "(", ")", "{", "}", "'",
// "\"", "!", "?", "%", "^", "+", "-", and inner spaces), with none of the
// patterns MarkdownText breaks (a leading marker, "www.", ":/").
func plainMarkdown(t string) bool {
	if t == "" {
		return true
	}
	if leadingMarker(t) >= 0 || t[0] == ' ' || t[len(t)-1] == ' ' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case alnum(c), c >= 0x80:
		case strings.IndexByte("/.,:=(){}'\"!?%^+- ;", c) >= 0:
			if c == ':' && i+1 < len(t) && t[i+1] == '/' {
				return false
			}
			if c == '.' && i >= 3 && strings.EqualFold(t[i-3:i], "www") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// leadingMarker returns the index of the byte of t that would open a block
// if t started a line (a list item "-", "+", or "1." or "1)" before a space
// or the end, a setext underline "="; "#", "*", ">" and "|" are escaped
// everywhere), or -1.
func leadingMarker(t string) int {
	if t == "" {
		return -1
	}
	switch t[0] {
	case '-', '+', '=':
		return 0
	}
	i := 0
	for i < len(t) && i < 9 && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i < len(t) && (t[i] == '.' || t[i] == ')') && (i+1 == len(t) || t[i+1] == ' ' || t[i+1] == '\t') {
		return i
	}
	return -1
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
