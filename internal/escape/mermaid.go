package escape

import (
	"strconv"
	"strings"
)

// MermaidLabel returns s as a quoted Mermaid label, quotes included, for a
// node (id["label"]) or an edge (-->|"label"|). Inside the quotes Mermaid
// reads entity codes and, with HTML labels on (GitHub's default), HTML;
// a label that starts with a backtick is Markdown. So every character that
// could mean something there is written as a Mermaid entity code: `"`
// #quot;, `#` #35;, `<` #lt;, `>` #gt;, `&` #amp;, "`" #96;, `|` #124;,
// and `%` #37; (Mermaid reads `%%{…}%%` as a directive anywhere in the
// text, even inside a label).
// Control characters are made visible first (Terminal): a CR, LF or line
// separator can neither end the label nor the Markdown fence around the
// diagram. The node ids beside the label are the caller's, never input.
func MermaidLabel(s string) string {
	t := Terminal(s)
	var b strings.Builder
	b.Grow(len(t) + 2)
	b.WriteByte('"')
	for i := 0; i < len(t); i++ {
		switch c := t[i]; c {
		case '"':
			b.WriteString("#quot;")
		case '#':
			b.WriteString("#35;")
		case '<':
			b.WriteString("#lt;")
		case '>':
			b.WriteString("#gt;")
		case '&':
			b.WriteString("#amp;")
		case '`', '|', '%':
			b.WriteString("#" + strconv.Itoa(int(c)) + ";")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
