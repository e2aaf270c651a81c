package picture

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
)

// Edge colours, shared by the formats: denied red, new green.
const (
	colorDenied = "#c62828"
	colorNew    = "#2e7d32"
)

// Mermaid renders p as a Mermaid flowchart (the text of a .mmd file, or of
// a ```mermaid block): a subgraph per namespace, workloads as boxes,
// reserved entities as hexagons, external addresses as stadiums; learned
// edges solid, denied attempts dotted and red, new edges thick and green
// (linkStyle by edge index), each labelled with its ports and state.
func Mermaid(p *Picture) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%%%% %s: %s\n", commentTitle(p), p.Summary())
	b.WriteString("flowchart LR\n")
	eachNode(p, func(group string) {
		fmt.Fprintf(&b, "  subgraph %s[%s]\n", group, escape.MermaidLabel(groupName(p, group)))
	}, func() {
		b.WriteString("  end\n")
	}, func(n Node, indent string) {
		open, close := mermaidShape(n.Kind)
		fmt.Fprintf(&b, "%s%s%s%s%s\n", indent, n.ID, open, escape.MermaidLabel(n.Label), close)
	})
	var denied, fresh []string
	for i, e := range p.Edges {
		arrow := "-->"
		switch e.State {
		case StateDenied:
			arrow = "-.->"
			denied = append(denied, strconv.Itoa(i))
		case StateNew:
			arrow = "==>"
			fresh = append(fresh, strconv.Itoa(i))
		}
		fmt.Fprintf(&b, "  %s %s|%s| %s\n", e.Src, arrow, escape.MermaidLabel(e.Label()), e.Dst)
	}
	if len(denied) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:%s,color:%s\n", strings.Join(denied, ","), colorDenied, colorDenied)
	}
	if len(fresh) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:%s,color:%s\n", strings.Join(fresh, ","), colorNew, colorNew)
	}
	return []byte(b.String())
}

func mermaidShape(kind string) (open, close string) {
	switch kind {
	case KindEntity:
		return "{{", "}}"
	case KindExternal:
		return "([", "])"
	}
	return "[", "]"
}

// eachNode walks p's nodes in order for the text formats: a run of nodes
// of one group (namespace) is wrapped in open(group) … close(), and node
// gets the indent of its line (deeper inside a group).
func eachNode(p *Picture, open func(group string), close func(), node func(n Node, indent string)) {
	group := ""
	for _, n := range p.Nodes {
		if n.Group != group {
			if group != "" {
				close()
			}
			if group = n.Group; group != "" {
				open(group)
			}
		}
		indent := "  "
		if group != "" {
			indent = "    "
		}
		node(n, indent)
	}
	if group != "" {
		close()
	}
}

// groupName returns the namespace of group id.
func groupName(p *Picture, id string) string {
	for _, g := range p.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

// commentTitle heads the comment line of the text formats. The title is
// not written there: Mermaid reads `%%{…}%%` directives anywhere, even in
// a comment, and the title is only the HTML page's heading.
func commentTitle(*Picture) string { return "flowfence graph" }
