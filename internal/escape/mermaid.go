package escape

import (
	"strconv"
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
func MermaidLabel(s string) string { return quote(Terminal(s), mermaidEscape) }

// mermaidEscape is the entity code of c inside a quoted Mermaid label ("":
// c as is).
func mermaidEscape(c byte) string {
	switch c {
	case '"':
		return "#quot;"
	case '#':
		return "#35;"
	case '<':
		return "#lt;"
	case '>':
		return "#gt;"
	case '&':
		return "#amp;"
	case '`', '|', '%':
		return "#" + strconv.Itoa(int(c)) + ";"
	}
	return ""
}
