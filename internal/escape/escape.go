// Package escape makes text that came from input inert in the place it is
// written: a terminal, a log line, a YAML comment, Markdown, a Mermaid
// label, a DOT string, HTML text, JSON inside a script element. Every name
// flowfence reads (namespaces, workloads, labels, DNS names, policy names
// from flow records) may be hostile; a writer passes it through the
// function for its place instead of writing it raw.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s with every control character (C0, DEL, C1: ESC and so
// OSC/CSI sequences, CR, LF, TAB …), every Unicode format character (bidi
// overrides, zero-width joiners) and every invalid UTF-8 byte replaced by
// its Go escape, so that printing it cannot move the cursor, rewrite the
// line, change colours, set a title or hide text.
func Terminal(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// quote returns t between double quotes, each byte for which esc returns
// a replacement written as that replacement: the one loop of the quoted
// label formats (DOT, Mermaid), each with its own escape table.
func quote(t string, esc func(c byte) string) string {
	var b strings.Builder
	b.Grow(len(t) + 2)
	b.WriteByte('"')
	for i := 0; i < len(t); i++ {
		if r := esc(t[i]); r != "" {
			b.WriteString(r)
		} else {
			b.WriteByte(t[i])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plain reports whether s is printable ASCII only.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// Snippet returns s quoted as a Go string with its unsafe characters
// escaped (Terminal), cut to at most n bytes of s with "…" marking the
// cut: for error messages that must name a bad value without echoing it.
func Snippet(s string, n int) string {
	cut := false
	if len(s) > n {
		end := 0
		for end < len(s) {
			_, size := utf8.DecodeRuneInString(s[end:])
			if end+size > n {
				break
			}
			end += size
		}
		s, cut = s[:end], true
	}
	q := `"` + strings.ReplaceAll(Terminal(s), `"`, `\"`) + `"`
	if cut {
		q += "…"
	}
	return q
}

// YAMLComment returns s made safe for the text of a YAML comment (after
// "# "): one line, no control or format characters (Terminal), so that
// nothing in it can end the comment and start YAML.
func YAMLComment(s string) string { return Terminal(s) }
