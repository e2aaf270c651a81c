// Package escapetest checks, in tests, that Markdown a writer produced
// renders names from input as text: it renders with a real CommonMark/GFM
// renderer (goldmark with GitHub's extensions, raw HTML passed through as
// GitHub's renderer does before sanitising) and parses the HTML, so a test
// can compare the elements a report renders to for hostile names with those
// for benign ones.
package escapetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/flowfence/flowfence/internal/golden"
)

// Names reads a JSON array of names (testdata/hostile/*.json).
func Names(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return names, nil
}

// Render renders md as GitHub would (CommonMark + tables, strikethrough,
// autolinks, task lists; raw HTML kept) and parses the result.
func Render(md []byte) (*html.Node, error) {
	var out bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(ghtml.WithUnsafe()))
	if err := gm.Convert(md, &out); err != nil {
		return nil, err
	}
	return html.Parse(&out)
}

// Shape lists the rendered document's elements and comments in document
// order, one per line as "depth tag attr=value…" (comments: raw HTML that
// goldmark dropped), without any text: two documents with the same shape
// have the same elements, attributes, links, table rows and columns.
func Shape(doc *html.Node) []string {
	var out []string
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		switch n.Type {
		case html.ElementNode:
			var b strings.Builder
			fmt.Fprintf(&b, "%d %s", depth, n.Data)
			for _, a := range n.Attr {
				fmt.Fprintf(&b, " %s=%q", a.Key, a.Val)
			}
			out = append(out, b.String())
		case html.CommentNode:
			out = append(out, fmt.Sprintf("%d <!--%s-->", depth, n.Data))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, depth+1)
		}
	}
	walk(doc, 0)
	return out
}

// Text returns the document's text, each text node on its own line, with
// the zero-width spaces that break @mentions removed.
func Text(doc *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(strings.ReplaceAll(n.Data, "\u200b", ""))
			b.WriteByte('\n')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// Tags counts the document's elements by tag.
func Tags(doc *html.Node) map[string]int {
	tags := map[string]int{}
	for _, s := range Shape(doc) {
		f := strings.Fields(s)
		tags[f[1]]++
	}
	return tags
}

// FirstDiff returns a readable account of the first line where two shapes
// differ ("" when they are equal).
func FirstDiff(want, got []string) string {
	i, w, g, differ := golden.FirstDifference(want, got)
	if !differ {
		return ""
	}
	return fmt.Sprintf("element %d: want %q, got %q (%d vs %d elements)", i, w, g, len(want), len(got))
}

// MermaidBlocks returns the lines of each ```mermaid fenced block of md,
// split on every line ending CommonMark knows (LF, CR, CRLF).
func MermaidBlocks(md []byte) [][]string {
	lines := regexp.MustCompile("\r\n|\r|\n").Split(string(md), -1)
	var blocks [][]string
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```mermaid" {
			continue
		}
		var block []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimLeft(lines[i], " "), "```"); i++ {
			block = append(block, lines[i])
		}
		blocks = append(blocks, block)
	}
	return blocks
}

// mermaidLabel is a quoted label holding no character that means
// something to Mermaid or HTML other than its entity codes.
const mermaidLabel = `"(?:[^"#<>&%` + "`" + `|\x00-\x1f\x7f]|#(?:quot|lt|gt|amp|[0-9]+);)*"`

var mermaidLine = regexp.MustCompile(`^(?:graph LR|  (n[0-9]+)(?:\[` + mermaidLabel + `\])? -->\|` + mermaidLabel + `\| (n[0-9]+)(?:\[` + mermaidLabel + `\])?|  %% … and [0-9]+ more flows: see the tables above)$`)

// MermaidLine reports whether line is one the diff report's graph template
// writes: the header, an edge between two generated node ids with quoted,
// escaped labels, or the cap's comment.
func MermaidLine(line string) bool { return mermaidLine.MatchString(line) }

// Texts returns the text of each element with tag, in document order,
// with the zero-width spaces that break @mentions removed.
func Texts(doc *html.Node, tag string) []string {
	var out []string
	var text func(n *html.Node, b *strings.Builder)
	text = func(n *html.Node, b *strings.Builder) {
		if n.Type == html.TextNode {
			b.WriteString(strings.ReplaceAll(n.Data, "\u200b", ""))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			text(c, b)
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			var b strings.Builder
			text(n, &b)
			out = append(out, b.String())
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// Renamer gives a report's inputs other names, for comparing what a
// report renders for hostile names with what it renders for plain ones. It
// maps every distinct name to a new one, the same name to the same new
// name: the i-th to names[i+offset] (modulo len(names), with a suffix from
// the second round on), or to "name-i" when names is nil. "" stays "".
// Used lists the new names in the order they were first given.
type Renamer struct {
	names  []string
	offset int
	seen   map[string]string
	Used   []string
}

// NewRenamer returns a Renamer over names, starting at names[offset].
func NewRenamer(names []string, offset int) *Renamer {
	return &Renamer{names: names, offset: offset, seen: map[string]string{}}
}

// Name is the new name of s.
func (r *Renamer) Name(s string) string {
	if s == "" {
		return ""
	}
	if n, ok := r.seen[s]; ok {
		return n
	}
	i := len(r.seen)
	n := fmt.Sprintf("name-%d", i)
	if r.names != nil {
		n = r.names[(i+r.offset)%len(r.names)]
		if i >= len(r.names) {
			n += fmt.Sprintf(" %d", i)
		}
	}
	r.seen[s] = n
	r.Used = append(r.Used, n)
	return n
}
