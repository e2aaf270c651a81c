package picture

import (
	"fmt"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
)

// DOT renders p as a Graphviz digraph (dot -Tsvg): a cluster per
// namespace, workloads as boxes, reserved entities as hexagons, external
// addresses as ellipses; learned edges solid, denied attempts dashed and
// red, new edges bold and green, each labelled with its ports and state.
// Every label and tooltip is an escape.DOTString.
func DOT(p *Picture) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s: %s\n", commentTitle(p), p.Summary())
	b.WriteString("digraph flowfence {\n")
	b.WriteString("  rankdir=LR;\n  compound=true;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n")
	eachNode(p, func(group string) {
		fmt.Fprintf(&b, "  subgraph cluster_%s {\n    label=%s;\n    style=\"rounded\";\n    color=\"#9aa9c2\";\n", group, escape.DOTString(groupName(p, group)))
	}, func() {
		b.WriteString("  }\n")
	}, func(n Node, indent string) {
		fmt.Fprintf(&b, "%s%s [label=%s, tooltip=%s%s];\n", indent, n.ID, escape.DOTString(n.Label), escape.DOTString(n.Detail), dotShape(n.Kind))
	})
	for _, e := range p.Edges {
		style := ""
		switch e.State {
		case StateDenied:
			style = fmt.Sprintf(", style=dashed, color=%q, fontcolor=%q", colorDenied, colorDenied)
		case StateNew:
			style = fmt.Sprintf(", style=bold, penwidth=2, color=%q, fontcolor=%q", colorNew, colorNew)
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", e.Src, e.Dst, escape.DOTString(e.Label()), style)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func dotShape(kind string) string {
	switch kind {
	case KindEntity:
		return ", shape=hexagon, fillcolor=\"#f4efe6\""
	case KindExternal:
		return ", shape=ellipse, fillcolor=\"#f1f1f1\""
	}
	return ""
}
