package diffreport

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/escape"
)

// MaxMermaidEdges caps the Mermaid graph: GitHub stops rendering large
// diagrams, and the tables list everything anyway.
const MaxMermaidEdges = 150

// cell escapes a name for a table cell: it renders as text (escape).
func cell(s string) string { return escape.MarkdownCell(s) }

// Markdown renders a diff as a pull-request comment: a headline, a summary
// table of counts per namespace, a section per namespace listing its
// undocumented flows, stale rules, new and vanished edges, and a Mermaid
// `graph LR` of the new flows.
func Markdown(d *diffcheck.Diff) []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	t := d.Totals()
	p("# flowfence diff")
	p("")
	p("Observation window %s .. %s%s.", ts(d.WindowStart), ts(d.WindowEnd), against(d, escape.MarkdownCode))
	p("")
	if d.Found() {
		p("**%s**, %s, %s, %s.", plural(t.Undocumented, "new undocumented flow"), plural(t.Stale, "stale rule"), plural(t.NewEdges, "new edge"), plural(t.VanishedEdges, "vanished edge"))
	} else {
		p("**Nothing new.** %s, %s.", plural(t.Stale, "stale rule"), plural(t.VanishedEdges, "vanished edge"))
	}
	if ls := promotionLines(d.Verification); len(ls) > 0 {
		p("")
		first := strings.TrimSpace(ls[0])
		p("%s.", cell(strings.ToUpper(first[:1])+first[1:]))
		for _, l := range ls[1:] {
			p("- %s", cell(strings.TrimSpace(l)))
		}
	}
	if v := d.Verification; v != nil {
		c := v.Counts
		p("")
		p("Replay of the %s against the policies: %d admitted, %d denied, %d in namespaces without policies. "+
			"Not failures: %d from the pod's own node (always allowed), %d inexpressible (ICMP), %d to cloud credential endpoints (denied on purpose). "+
			"Denied attempts (dropped by a policy already in place), not replayed: %d.",
			plural(c.Edges, "observed request edge"), c.Allowed, c.Denied, c.Uncovered, c.Host, c.Inexpressible, c.Guarded, c.DeniedAttempts)
	}
	p("")
	p("| namespace | new undocumented flows | stale rules | new edges | vanished edges |")
	p("|---|---:|---:|---:|---:|")
	for _, n := range d.Namespaces {
		name := n.Namespace
		if name == "" {
			name = "(no namespace)"
		}
		p("| %s | %d | %d | %d | %d |", cell(name), n.Undocumented, n.Stale, n.NewEdges, n.VanishedEdges)
	}
	p("| **total** | **%d** | **%d** | **%d** | **%d** |", t.Undocumented, t.Stale, t.NewEdges, t.VanishedEdges)
	if len(d.Namespaces) > 0 {
		p("")
		p("A flow between two namespaces is listed under each namespace it concerns; the total counts it once.")
	}
	files := map[string]string{}
	if d.Verification != nil {
		files = d.Verification.Files
	}
	for _, n := range d.Namespaces {
		p("")
		if n.Namespace == "" {
			p("## (no namespace)")
		} else {
			p("## %s", escape.MarkdownText(n.Namespace))
		}
		if fs := diffcheck.InNamespace(d.Undocumented, n.Namespace); len(fs) > 0 {
			p("")
			p("### New undocumented flows")
			p("")
			p("| source | destination | protocol/port | flows | first seen | last seen | why |")
			p("|---|---|---|---:|---|---|---|")
			for i := range fs {
				f := &fs[i]
				p("| %s | %s | %s | %d | %s | %s | %s |", cell(f.Source), cell(f.Destination), cell(f.PortString()), f.Flows, ts(f.FirstSeen), ts(f.LastSeen), cell(why(f, files)))
			}
		}
		if rs := diffcheck.StaleInNamespace(d.Stale, n.Namespace); len(rs) > 0 {
			p("")
			p("### Stale rules (admit nothing seen in the window)")
			p("")
			p("| policy | direction | rule | peer | port | file |")
			p("|---|---|---:|---|---|---|")
			for _, r := range rs {
				peer := r.Peer
				if r.Note != "" {
					peer += " — " + r.Note
				}
				p("| %s | %s | %d | %s | %s | %s |", cell(r.Policy), cell(r.Direction), r.Rule, cell(peer), cell(r.Port), escape.MarkdownCodeCell(r.File))
			}
		}
		for _, sec := range []struct {
			title string
			flows []diffcheck.Flow
		}{{"New edges (not in the baseline)", diffcheck.InNamespace(d.NewEdges, n.Namespace)},
			{"Vanished edges (in the baseline, not observed now)", diffcheck.InNamespace(d.VanishedEdges, n.Namespace)}} {
			if len(sec.flows) == 0 {
				continue
			}
			p("")
			p("### %s", sec.title)
			p("")
			p("| source | destination | protocol/port | flows | first seen | last seen |")
			p("|---|---|---|---:|---|---|")
			for i := range sec.flows {
				f := &sec.flows[i]
				p("| %s | %s | %s | %d | %s | %s |", cell(f.Source), cell(f.Destination), cell(f.PortString()), f.Flows, ts(f.FirstSeen), ts(f.LastSeen))
			}
		}
	}
	if m := Mermaid(newFlows(d)); m != "" {
		p("")
		p("## New flows")
		p("")
		b.WriteString(m)
	}
	return b.Bytes()
}

// newFlows returns the flows drawn in the graph: the undocumented flows
// and the new edges, once each (an undocumented flow before the new edge
// of the same source, destination, protocol and port), sorted.
func newFlows(d *diffcheck.Diff) []diffcheck.Flow {
	out := slices.Concat(d.Undocumented, d.NewEdges)
	slices.SortStableFunc(out, diffcheck.CompareFlows)
	return slices.CompactFunc(out, func(a, b diffcheck.Flow) bool { return diffcheck.CompareFlows(a, b) == 0 })
}

// Mermaid renders flows as a fenced Mermaid `graph LR` block ("" for none):
// one node per peer, with an id flowfence generates (n1, n2, … in the
// order the edges first name them: never text from input, never a
// Mermaid keyword) and the peer's name as a quoted, escaped label
// (escape.MermaidLabel); one edge per flow, labelled with protocol/port
// and flow count. At most MaxMermaidEdges edges are drawn.
func Mermaid(flows []diffcheck.Flow) string {
	if len(flows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("```mermaid\ngraph LR\n")
	ids := map[string]string{}
	node := func(n, label string) string {
		if id, ok := ids[n]; ok {
			return id
		}
		ids[n] = "n" + strconv.Itoa(len(ids)+1)
		return ids[n] + "[" + escape.MermaidLabel(label) + "]"
	}
	for i, f := range flows {
		if i == MaxMermaidEdges {
			fmt.Fprintf(&b, "  %%%% … and %d more flows: see the tables above\n", len(flows)-MaxMermaidEdges)
			break
		}
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", node(f.Src, f.Source), escape.MermaidLabel(f.PortString()+" · "+plural(f.Flows, "flow")), node(f.Dst, f.Destination))
	}
	b.WriteString("```\n")
	return b.String()
}
