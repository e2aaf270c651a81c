package picture_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output/picture"
)

// chromiumFlags are the flags headless Chromium runs with here: no
// sandbox (root in a container), no GPU, and nothing that reaches the
// network on its own.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"}

// chromium runs Debian's chromium with args on the page and returns its
// stdout.
func chromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	all := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir()), args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+page)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(errb.String(), 2000))
	}
	return out.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// benchGraph learns the generated cluster benchgen writes with 200
// workloads in 10 namespaces.
func benchGraph(t testing.TB) *learner.Graph {
	t.Helper()
	f := filepath.Join(t.TempDir(), "flows.jsonl")
	var b bytes.Buffer
	if err := benchgen.WriteHubble(&b, benchgen.Spec{Namespaces: 10, Workloads: 200, Replicas: 2, Nodes: 4, Peers: 2, Flows: 40_000, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return learnFiles(t, f)
}

// pageElements are the elements the page is made of (its markup and what
// its script and cytoscape add): anything else came from a name.
var pageElements = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
	"header": true, "h1": true, "h2": true, "span": true, "i": true, "input": true, "select": true, "option": true,
	"button": true, "main": true, "div": true, "aside": true, "ul": true, "li": true, "script": true, "canvas": true}

// TestPageInChromium renders the page in headless Chromium (--dump-dom
// after load) for the sample, a graph of hostile names and a generated
// cluster of 200 workloads: the page's script ran without error
// (#status data-state="ok"), cytoscape drew every node at a finite
// position with a size, inside the fitted view and overlapping no other,
// every namespace shown alone has labels of 9 px or more, the node list
// shows every name as text, and no element came from a name. The sample and the 200 workloads are also screenshot into
// testdata/out/*.png (kept for people to look at).
func TestPageInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make chromium, which make test runs, installs Debian's chromium when root): the page is not rendered")
	}
	out, err := filepath.Abs(filepath.Join("testdata", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		graph      func(testing.TB) *learner.Graph
		minNodes   int
		screenshot bool
	}{
		{name: "sample", graph: func(t testing.TB) *learner.Graph { return learn(t, "*.json*") }, minNodes: 14, screenshot: true},
		{name: "hostile", graph: func(t testing.TB) *learner.Graph { return namedGraph(hostileNames(t)) }, minNodes: 40},
		{name: "200-workloads", graph: benchGraph, minNodes: 200, screenshot: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.graph(t)
			p, err := picture.Build(g, picture.Options{Title: "flowfence graph: " + c.name})
			if err != nil {
				t.Fatal(err)
			}
			workloads := 0
			for _, n := range p.Nodes {
				if n.Kind == picture.KindWorkload {
					workloads++
				}
			}
			if workloads < c.minNodes {
				t.Fatalf("%d workloads, want at least %d", workloads, c.minNodes)
			}
			page, err := picture.HTML(p)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(out, c.name+".html")
			if err := os.WriteFile(file, page, 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			dom := chromium(t, bin, file, "--window-size=1600,1000", "--dump-dom")
			dumpTook := time.Since(start)
			doc, err := html.Parse(bytes.NewReader(dom))
			if err != nil {
				t.Fatal(err)
			}
			status := element(doc, "status")
			if status == nil {
				t.Fatal("no #status in the rendered page")
			}
			attr := func(key string) string {
				for _, a := range status.Attr {
					if a.Key == key {
						return a.Val
					}
				}
				return ""
			}
			if attr("data-state") != "ok" {
				t.Fatalf("the page did not render: #status %q: %s", attr("data-state"), text(status))
			}
			checks := []struct {
				attr string
				want int
			}{
				{"data-nodes", len(p.Nodes)}, {"data-in-view", len(p.Nodes)}, {"data-overlaps", 0},
				{"data-edges", len(p.Edges)}, {"data-groups", len(p.Groups)},
			}
			for _, ch := range checks {
				if got := attr(ch.attr); got != strconv.Itoa(ch.want) {
					t.Errorf("#status %s=%q, want %d", ch.attr, got, ch.want)
				}
			}
			// readable: a namespace chosen in the selector shows its
			// labels at 9 px or more (the whole graph may be smaller:
			// labels appear as one zooms in)
			if f, err := strconv.ParseFloat(attr("data-namespace-font-px"), 64); err != nil || f < 9 {
				t.Errorf("a namespace shown alone has labels of %q px, want 9 or more", attr("data-namespace-font-px"))
			}
			// the node list: one item per node, its text the name
			want := picture.Visible(p)
			groups := map[string]string{}
			for _, g := range want.Groups {
				groups[g.ID] = g.Name + "/"
			}
			var items []string
			var walk func(n *html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.ElementNode {
					if !pageElements[n.Data] {
						t.Errorf("a <%s> element in the rendered page", n.Data)
					}
					if n.Data == "li" {
						var b strings.Builder
						var txt func(n *html.Node)
						txt = func(n *html.Node) {
							if n.Type == html.TextNode {
								b.WriteString(n.Data)
							}
							for c := n.FirstChild; c != nil; c = c.NextSibling {
								txt(c)
							}
						}
						txt(n)
						items = append(items, b.String())
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
			if len(items) != len(p.Nodes) {
				t.Errorf("%d nodes listed, want %d", len(items), len(p.Nodes))
			}
			for i := range min(len(items), len(want.Nodes)) {
				if n := want.Nodes[i]; items[i] != groups[n.Group]+n.Label {
					t.Errorf("node %d listed as %q, want %q", i, items[i], groups[n.Group]+n.Label)
				}
			}
			t.Logf("%s: %d nodes, %d edges, %d groups: chromium --dump-dom %v (layout in the page %s ms), page %d KB, labels %s px fitted, %s px or more a namespace at a time",
				c.name, len(p.Nodes), len(p.Edges), len(p.Groups), dumpTook.Round(time.Millisecond), attr("data-layout-ms"), len(page)/1024,
				attr("data-fit-font-px"), attr("data-namespace-font-px"))
			if !c.screenshot {
				return
			}
			shot := filepath.Join(out, c.name+".png")
			os.Remove(shot)
			start = time.Now()
			chromium(t, bin, file, "--window-size=1600,1000", "--screenshot="+shot)
			shotTook := time.Since(start)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v", err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("screenshot %s: %v", shot, err)
			}
			if b := img.Bounds(); b.Dx() != 1600 || b.Dy() != 1000 {
				t.Errorf("screenshot is %dx%d, want 1600x1000", b.Dx(), b.Dy())
			}
			// the drawing area (left of the node list, below the header)
			// holds the graph: many colours, not a blank canvas
			colours := map[uint32]bool{}
			for y := 60; y < 980; y += 3 {
				for x := 10; x < 1250; x += 3 {
					r, g, b, _ := img.At(x, y).RGBA()
					colours[r>>8<<16|g>>8<<8|b>>8] = true
				}
			}
			if len(colours) < 20 {
				t.Errorf("the screenshot's drawing area has %d colours: nothing drawn", len(colours))
			}
			t.Logf("%s: screenshot %s (chromium --screenshot %v)", c.name, shot, shotTook.Round(time.Millisecond))
		})
	}
}
