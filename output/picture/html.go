package picture

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
)

// assets are the page's libraries (copied by `make picture-assets` from
// web/node_modules, pinned by web/package-lock.json), its own script and
// its style sheet.
//
//go:embed assets/cytoscape.min.js assets/cytoscape-dagre.min.js assets/page.js assets/page.css
var assets embed.FS

// scripts are the page's scripts in the order they run.
func scripts() []string {
	return []string{"assets/cytoscape.min.js", "assets/cytoscape-dagre.min.js", "assets/page.js"}
}

// DataElementID is the id of the <script type="application/json"> element
// that holds the picture.
const DataElementID = "flowfence-graph"

// HTML renders p as one self-contained page: the libraries, the page's
// script and style inline, the picture as JSON data (escape.ScriptJSON:
// never HTML), and a Content-Security-Policy that runs only those scripts
// (by hash) and fetches nothing, so the page works offline and no name can
// run code or reach the network.
func HTML(p *Picture) ([]byte, error) {
	data, err := escape.ScriptJSON(Visible(p))
	if err != nil {
		return nil, fmt.Errorf("graph page data: %w", err)
	}
	var js [][]byte
	var hashes []string
	for _, name := range scripts() {
		b, err := assets.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("graph page: %w", err)
		}
		if err := inlineSafe(name, b); err != nil {
			return nil, err
		}
		js = append(js, b)
		sum := sha256.Sum256(b)
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	css, err := assets.ReadFile("assets/page.css")
	if err != nil {
		return nil, fmt.Errorf("graph page: %w", err)
	}
	if err := inlineSafe("assets/page.css", css); err != nil {
		return nil, err
	}
	title := p.Title
	if title == "" {
		title = "flowfence graph"
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// style-src allows inline styles: cytoscape sizes its canvases with
	// style attributes; styles cannot run code or fetch with default-src 'none'
	fmt.Fprintf(&b, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src %s; style-src 'unsafe-inline'; img-src data: blob:\">\n", strings.Join(hashes, " "))
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", escape.HTMLText(title), css)
	fmt.Fprintf(&b, "<header>\n<h1>%s</h1>\n<span id=\"summary\">%s</span>\n", escape.HTMLText(title), escape.HTMLText(p.Summary()))
	b.WriteString("<span class=\"legend\"><span><i></i>learned</span><span class=\"denied\"><i></i>denied attempt</span><span class=\"new\"><i></i>new (not in the baseline)</span></span>\n")
	b.WriteString("<input id=\"search\" type=\"search\" placeholder=\"find a workload, address…\" aria-label=\"find\">\n")
	b.WriteString("<select id=\"namespace\" aria-label=\"namespace\"><option value=\"\">all namespaces</option></select>\n")
	b.WriteString("<button id=\"fit\" type=\"button\">show all</button>\n</header>\n")
	b.WriteString("<main>\n<div id=\"cy\"></div>\n<aside>\n<h2>Details</h2>\n<div id=\"details\"></div>\n<h2>Nodes</h2>\n<ul id=\"nodes\"></ul>\n</aside>\n</main>\n")
	b.WriteString("<div id=\"status\" data-state=\"loading\">loading…</div>\n")
	fmt.Fprintf(&b, "<script type=\"application/json\" id=\"%s\">%s</script>\n", DataElementID, data)
	for _, s := range js {
		b.WriteString("<script>")
		b.Write(s)
		b.WriteString("</script>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes(), nil
}

// Visible returns a copy of p whose every name is made visible
// (escape.Terminal): the page draws names as text, where a bidi override
// or a control character would still reorder or hide what is shown, and
// JSON cannot carry invalid UTF-8 as it is.
func Visible(p *Picture) *Picture {
	v := &Picture{Title: escape.Terminal(p.Title), Groups: make([]Group, len(p.Groups)), Nodes: make([]Node, len(p.Nodes)), Edges: make([]Edge, len(p.Edges))}
	for i, g := range p.Groups {
		v.Groups[i] = Group{ID: g.ID, Name: escape.Terminal(g.Name)}
	}
	for i, n := range p.Nodes {
		n.Label, n.Detail = escape.Terminal(n.Label), escape.Terminal(n.Detail)
		v.Nodes[i] = n
	}
	for i, e := range p.Edges {
		ports := make([]string, len(e.Ports))
		for j, port := range e.Ports {
			ports[j] = escape.Terminal(port)
		}
		e.Ports = ports
		v.Edges[i] = e
	}
	return v
}

// inlineSafe refuses an asset that would end or change its inline element
// (a `</script`, `</style` or `<!--` in it): the libraries are vendored
// as they are published, so an update that brings one fails here.
func inlineSafe(name string, b []byte) error {
	l := bytes.ToLower(b)
	for _, bad := range []string{"</script", "</style", "<!--"} {
		if bytes.Contains(l, []byte(bad)) {
			return fmt.Errorf("graph page: %s holds %q and cannot be inlined", name, bad)
		}
	}
	return nil
}
