package picture_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/escape/escapetest"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output/picture"
)

// extraHostile are names aimed at the picture formats themselves.
var extraHostile = []string{
	`</script><script>alert(1)</script>`,
	`</SCRIPT ><img src=x onerror=alert(1)>`,
	`<!--<script>`,
	`%%{init: {"theme": "dark"}}%%`,
	`a"] ; n1 -> n2 [label="x`,
	`x"}; subgraph cluster_evil { n99 [label="pwned"] } //`,
	`back\slash \N \G \" \\ end\`,
	"new\nline\r\n}\n",
	`<b>html label</b> & &amp;`,
	"u2028\u2028u2029\u2029",
	`end` + "\n" + `  n1 --> n2`,
	"\x1b]0;title\x07",
	"\xff\xfe invalid utf-8",
}

// hostileNames are every name of testdata/hostile/markdown-names.json and
// the picture's own attacks (empty names left out: the graph has none).
func hostileNames(t testing.TB) []string {
	t.Helper()
	names, err := escapetest.Names("../../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range append(names, extraHostile...) {
		if n != "" && !containsString(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// namedGraph is a graph whose namespaces, workloads and external DNS names
// are names (a crafted saved graph that got past validation): workload i
// in namespace i calls workload i+1 (learned) and external address i,
// named names[i] (denied).
func namedGraph(names []string) *learner.Graph {
	g := learner.NewGraph()
	at := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for i, n := range names {
		id := "pod:" + n + "/" + n
		g.Nodes[id] = &learner.Node{ID: id, Kind: learner.NodeWorkload, Namespace: n, Name: n, WorkloadKind: "Deployment", FirstSeen: at, LastSeen: at}
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		g.Nodes["ip:"+ip] = &learner.Node{ID: "ip:" + ip, Kind: learner.NodeExternal, IP: ip, Names: []string{n}, FirstSeen: at, LastSeen: at}
	}
	for i, n := range names {
		next := names[(i+1)%len(names)]
		e := &learner.Edge{Src: "pod:" + n + "/" + n, Dst: "pod:" + next + "/" + next, Proto: "TCP", Port: 8080, Flows: 1, FirstSeen: at, LastSeen: at}
		g.Edges[e.Key()] = e
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		d := &learner.Edge{Src: "pod:" + n + "/" + n, Dst: "ip:" + ip, Proto: "TCP", Port: 443, Dropped: 2, FirstSeen: at, LastSeen: at}
		g.Denied[d.Key()] = d
	}
	return g
}

// plainNames are as many benign names.
func plainNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("name-%03d", i)
	}
	return out
}

func build(t testing.TB, g *learner.Graph) *picture.Picture {
	t.Helper()
	p, err := picture.Build(g, picture.Options{Title: "flowfence graph"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mermaidLabelRE is a quoted Mermaid label holding no character that
// means something to Mermaid or HTML other than entity codes.
const mermaidLabelRE = `"((?:[^"#<>&%` + "`" + `|\x00-\x1f\x7f]|#(?:quot|lt|gt|amp|[0-9]+);)*)"`

var mermaidGrammar = []*regexp.Regexp{
	regexp.MustCompile(`^%% flowfence graph: [0-9]+ nodes, [0-9]+ edges \([0-9]+ denied, [0-9]+ new\)$`),
	regexp.MustCompile(`^flowchart LR$`),
	regexp.MustCompile(`^  subgraph (g[0-9]+)\[` + mermaidLabelRE + `\]$`),
	regexp.MustCompile(`^ {2,4}(n[0-9]+)(?:\[|\(\[|\{\{)` + mermaidLabelRE + `(?:\]|\]\)|\}\})$`),
	regexp.MustCompile(`^  end$`),
	regexp.MustCompile(`^  (n[0-9]+) (?:-->|-\.->|==>)\|` + mermaidLabelRE + `\| (n[0-9]+)$`),
	regexp.MustCompile(`^  linkStyle [0-9]+(?:,[0-9]+)* stroke:#[0-9a-f]{6},color:#[0-9a-f]{6}$`),
}

// decodeMermaid reads a label's entity codes back.
func decodeMermaid(s string) string {
	return regexp.MustCompile(`#(quot|lt|gt|amp|[0-9]+);`).ReplaceAllStringFunc(s, func(m string) string {
		switch code := m[1 : len(m)-1]; code {
		case "quot":
			return `"`
		case "lt":
			return "<"
		case "gt":
			return ">"
		case "amp":
			return "&"
		default:
			n, _ := strconv.Atoi(code)
			return string(rune(n))
		}
	})
}

// parseMermaid checks every line of m against the grammar the formatter
// writes and returns the decoded labels by id (g…, n…, and edges by
// "src->dst#k" in order).
func parseMermaid(t *testing.T, m []byte) map[string]string {
	t.Helper()
	labels := map[string]string{}
	lines := regexp.MustCompile("\r\n|\r|\n|\u2028|\u2029").Split(strings.TrimSuffix(string(m), "\n"), -1)
	edges := 0
	for i, l := range lines {
		matched := false
		for _, re := range mermaidGrammar {
			sm := re.FindStringSubmatch(l)
			if sm == nil {
				continue
			}
			matched = true
			if (i == 0) != (re == mermaidGrammar[0]) {
				t.Errorf("line %d: %q out of place", i+1, l)
			}
			switch len(sm) {
			case 3:
				labels[sm[1]] = decodeMermaid(sm[2])
			case 4:
				edges++
				labels[fmt.Sprintf("%s->%s#%d", sm[1], sm[3], edges)] = decodeMermaid(sm[2])
			}
			break
		}
		if !matched {
			t.Errorf("line %d is none the formatter writes: %q", i+1, l)
		}
	}
	return labels
}

// TestHostileNamesMermaid: a graph of hostile names renders to lines of the
// formatter's grammar only, the same number as for plain names, and each
// label reads back as the name (made visible by escape.Terminal).
func TestHostileNamesMermaid(t *testing.T) {
	names := hostileNames(t)
	p := build(t, namedGraph(names))
	plain := picture.Mermaid(build(t, namedGraph(plainNames(len(names)))))
	got := picture.Mermaid(p)
	if g, w := bytes.Count(got, []byte("\n")), bytes.Count(plain, []byte("\n")); g != w {
		t.Errorf("%d lines, %d for plain names", g, w)
	}
	labels := parseMermaid(t, got)
	for _, g := range p.Groups {
		if labels[g.ID] != escape.Terminal(g.Name) {
			t.Errorf("group %s reads back as %q, want %q", g.ID, labels[g.ID], escape.Terminal(g.Name))
		}
	}
	seen := map[string]bool{}
	for _, n := range p.Nodes {
		if labels[n.ID] != escape.Terminal(n.Label) {
			t.Errorf("node %s reads back as %q, want %q", n.ID, labels[n.ID], escape.Terminal(n.Label))
		}
		if n.Kind == picture.KindWorkload {
			seen[n.Label] = true
		}
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("workload %q not drawn", n)
		}
	}
	parseMermaid(t, plain)
}

// dotToken is a lexical token of DOT.
type dotToken struct {
	kind string // id, string, html, punct
	text string // for a string: its value after the lexer's \" rule
}

// lexDOT splits DOT text by the language's lexical rules (graphviz.org/doc/
// info/lang.html): comments, identifiers and numerals, double-quoted
// strings (in which only \" is an escape of the lexer), HTML strings <…>,
// and punctuation.
func lexDOT(t *testing.T, s string) []dotToken {
	t.Helper()
	var out []dotToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "//") || c == '#' && (i == 0 || s[i-1] == '\n'):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				t.Fatalf("unterminated comment at %d", i)
			}
			i += end + 4
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && s[j+1] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				t.Fatalf("unterminated string at %d", i)
			}
			out = append(out, dotToken{"string", b.String()})
			i = j + 1
		case c == '<':
			out = append(out, dotToken{"html", s[i:min(len(s), i+20)]})
			i++
		case strings.HasPrefix(s[i:], "->"):
			out = append(out, dotToken{"punct", "->"})
			i += 2
		case strings.ContainsRune("{}[];,=", rune(c)):
			out = append(out, dotToken{"punct", string(c)})
			i++
		case c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if j == i {
				j++
			}
			out = append(out, dotToken{"id", s[i:j]})
			i = j
		default:
			t.Fatalf("byte %q at %d is no DOT token", c, i)
		}
	}
	return out
}

// graphvizLabel reads a label's escapes as Graphviz does; it fails on any
// backslash escape other than \\ (\N, \G, \n, \l … would change the text).
func graphvizLabel(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '"') {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		t.Errorf("label %q holds a Graphviz escape", s)
	}
	return b.String()
}

// parseDOT parses the formatter's DOT: one digraph of attribute, node,
// edge and cluster statements, and returns the labels by node id, cluster
// id and edge ("src->dst#k").
func parseDOT(t *testing.T, d []byte) map[string]string {
	t.Helper()
	toks := lexDOT(t, string(d))
	labels := map[string]string{}
	pos := 0
	next := func() dotToken {
		if pos >= len(toks) {
			t.Fatalf("DOT ends early")
		}
		pos++
		return toks[pos-1]
	}
	expect := func(kind, text string) dotToken {
		tok := next()
		if tok.kind != kind || text != "" && tok.text != text {
			t.Fatalf("token %d: %s %q, want %s %q", pos, tok.kind, tok.text, kind, text)
		}
		return tok
	}
	attrs := func() map[string]string {
		m := map[string]string{}
		expect("punct", "[")
		for {
			k := next()
			if k.kind == "punct" && k.text == "]" {
				return m
			}
			if k.kind == "punct" && k.text == "," {
				continue
			}
			if k.kind != "id" {
				t.Fatalf("attribute name %s %q", k.kind, k.text)
			}
			expect("punct", "=")
			v := next()
			if v.kind != "id" && v.kind != "string" {
				t.Fatalf("attribute %s value %s %q", k.text, v.kind, v.text)
			}
			m[k.text] = v.text
		}
	}
	expect("id", "digraph")
	expect("id", "flowfence")
	expect("punct", "{")
	edges, depth, cluster := 0, 1, ""
	for depth > 0 {
		tok := next()
		switch {
		case tok.kind == "punct" && tok.text == "}":
			depth--
			cluster = ""
		case tok.kind == "id" && tok.text == "subgraph":
			if depth != 1 {
				t.Fatal("nested subgraph")
			}
			cluster = expect("id", "").text
			expect("punct", "{")
			depth++
		case tok.kind == "id" && (tok.text == "node" || tok.text == "edge"):
			attrs()
			expect("punct", ";")
		case tok.kind == "id" && strings.HasPrefix(tok.text, "n"):
			if pos < len(toks) && toks[pos].text == "->" {
				next()
				dst := expect("id", "").text
				edges++
				labels[fmt.Sprintf("%s->%s#%d", tok.text, dst, edges)] = graphvizLabel(t, attrs()["label"])
			} else {
				a := attrs()
				labels[tok.text] = graphvizLabel(t, a["label"])
				labels[tok.text+".tooltip"] = graphvizLabel(t, a["tooltip"])
			}
			expect("punct", ";")
		case tok.kind == "id":
			expect("punct", "=")
			v := next()
			if tok.text == "label" && cluster != "" {
				labels[strings.TrimPrefix(cluster, "cluster_")] = graphvizLabel(t, v.text)
			}
			expect("punct", ";")
		default:
			t.Fatalf("token %d: %s %q starts no statement", pos, tok.kind, tok.text)
		}
	}
	if pos != len(toks) {
		t.Fatalf("%d tokens after the graph", len(toks)-pos)
	}
	return labels
}

// TestHostileNamesDOT: a graph of hostile names is one digraph whose
// statements are those of plain names, no HTML label, and whose labels
// and tooltips read back as the names.
func TestHostileNamesDOT(t *testing.T) {
	names := hostileNames(t)
	p := build(t, namedGraph(names))
	got := picture.DOT(p)
	labels := parseDOT(t, got)
	plain := parseDOT(t, picture.DOT(build(t, namedGraph(plainNames(len(names))))))
	if len(labels) != len(plain) {
		t.Errorf("%d labelled statements, %d for plain names", len(labels), len(plain))
	}
	for _, tok := range lexDOT(t, string(got)) {
		if tok.kind == "html" {
			t.Errorf("an HTML string in the DOT: %q", tok.text)
		}
	}
	for _, g := range p.Groups {
		if labels[g.ID] != dotShown(g.Name) {
			t.Errorf("cluster %s reads back as %q, want %q", g.ID, labels[g.ID], dotShown(g.Name))
		}
	}
	for _, n := range p.Nodes {
		if labels[n.ID] != dotShown(n.Label) || labels[n.ID+".tooltip"] != dotShown(n.Detail) {
			t.Errorf("node %s reads back as %q (%q), want %q (%q)", n.ID, labels[n.ID], labels[n.ID+".tooltip"], dotShown(n.Label), dotShown(n.Detail))
		}
	}
}

// dotShown is what a DOT label shows for s: s made visible, and a space
// after a trailing backslash (escape.DOTString).
func dotShown(s string) string {
	t := escape.Terminal(s)
	if strings.HasSuffix(t, `\`) {
		t += " "
	}
	return t
}

// shape lists a parsed page's elements with their attribute names, no
// text or values.
func shape(n *html.Node) []string {
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			s := n.Data
			for _, a := range n.Attr {
				s += " " + a.Key
			}
			out = append(out, s)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// element returns the first element with id.
func element(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if e := element(c, id); e != nil {
			return e
		}
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// TestHostileNamesHTML: the page of hostile names parses (as a browser
// does) to the elements of the page of plain names, and its data element
// decodes back to the picture; the title is text.
func TestHostileNamesHTML(t *testing.T) {
	names := hostileNames(t)
	g := namedGraph(names)
	p, err := picture.Build(g, picture.Options{Title: names[0] + extraHostile[0]})
	if err != nil {
		t.Fatal(err)
	}
	page, err := picture.HTML(p)
	if err != nil {
		t.Fatal(err)
	}
	plainPage, err := picture.HTML(build(t, namedGraph(plainNames(len(names)))))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	plainDoc, err := html.Parse(bytes.NewReader(plainPage))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shape(doc), shape(plainDoc); !reflect.DeepEqual(got, want) {
		t.Errorf("the hostile page has elements %q, the plain one %q", got, want)
	}
	data := element(doc, picture.DataElementID)
	if data == nil {
		t.Fatal("no data element")
	}
	var back picture.Picture
	if err := json.Unmarshal([]byte(text(data)), &back); err != nil {
		t.Fatalf("data element: %v", err)
	}
	want := picture.Visible(p)
	if !reflect.DeepEqual(&back, want) {
		t.Errorf("the data element decodes to another picture")
	}
	for i, n := range want.Nodes {
		if n.Label != escape.Terminal(p.Nodes[i].Label) || !utf8.ValidString(n.Label) {
			t.Errorf("node %s: the page shows %q for %q", n.ID, n.Label, p.Nodes[i].Label)
		}
	}
	if h1 := element(doc, "summary"); h1 == nil || text(h1) != p.Summary() {
		t.Errorf("summary %v", h1)
	}
	for _, tag := range []string{"title", "h1"} {
		var found *html.Node
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == tag && found == nil {
				found = n
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
		if found == nil || text(found) != escape.Terminal(p.Title) {
			t.Errorf("<%s> is not the title as text", tag)
		}
	}
}

// TestScriptJSONNeverBreaksOut: whatever the strings, the JSON for a
// script element holds no '<' and decodes back.
func TestScriptJSONNeverBreaksOut(t *testing.T) {
	for _, n := range hostileNames(t) {
		b, err := escape.ScriptJSON(map[string]string{"name": n})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil || utf8.ValidString(n) && back["name"] != n {
			t.Errorf("%q: decoded %q, %v", n, back["name"], err)
		}
		if bytes.ContainsAny(b, "<>&\u2028\u2029") {
			t.Errorf("%q: %s", n, b)
		}
	}
}
