package escape

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"strings"
)

// DOTString returns s as a double-quoted Graphviz DOT string, quotes
// included, for an attribute value (label, tooltip). In a quoted DOT
// string only `\"` is an escape of the lexer, and Graphviz then reads
// label escapes (`\n`, `\l`, `\N`, `\G`, …) from the backslashes left, so
// every backslash is doubled and every quote written `\"`: the label shows
// s as it is. One case is left: a doubled backslash at the end would put
// `\"` before the closing quote, which the lexer reads as a quote inside
// the string, so a space follows a trailing backslash (the label shows
// "a\ " for "a\"). Control characters are made visible first (Terminal), so
// a newline can neither end the statement nor continue the string. A
// quoted string is never an HTML label (those are written between < and
// >), so `<` and `&` stay text. The node ids beside the string are the
// caller's.
func DOTString(s string) string {
	t := Terminal(s)
	if strings.HasSuffix(t, `\`) {
		t += " "
	}
	return quote(t, dotEscape)
}

// dotEscape is the escape of c inside a quoted DOT string ("": c as is).
func dotEscape(c byte) string {
	switch c {
	case '"':
		return `\"`
	case '\\':
		return `\\`
	}
	return ""
}

// HTMLText returns s for HTML text or a quoted attribute value: control
// characters made visible (Terminal), then `<`, `>`, `&`, `'` and `"`
// written as character references, so no tag, entity or attribute can
// start from it.
func HTMLText(s string) string { return html.EscapeString(Terminal(s)) }

// ScriptJSON returns v as JSON for the body of a <script
// type="application/json"> element. encoding/json writes `<`, `>` and `&`
// as \u003c, \u003e and \u0026 (and U+2028/U+2029 escaped), so no `</script`
// or `<!--` can appear in it and end or change the element, whatever the
// strings hold; JSON.parse of the element's text gives v back. The result
// is checked for a `<` all the same, so a change of encoder cannot open
// that door silently.
func ScriptJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	if bytes.IndexByte(out, '<') >= 0 {
		return nil, errors.New("escape: JSON for a script element holds '<'")
	}
	return out, nil
}
