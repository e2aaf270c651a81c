package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
)

// writeFleetRollout is ROLLOUT.md's fleet section (generate --fleet):
// every cluster merged into the tree, and the edges only it observed.
func writeFleetRollout(b *bytes.Buffer, set *policy.Set) {
	if set.Fleet == nil {
		return
	}
	names := make([]string, len(set.Fleet))
	for i, c := range set.Fleet {
		names[i] = escape.MarkdownText(c.Cluster)
	}
	b.WriteString("\n## Fleet: edges only one cluster observed\n\n")
	fmt.Fprintf(b, "This tree merges the graphs of %s (%s): it admits what any of them observed.\n",
		plural(len(set.Fleet), "cluster"), strings.Join(names, ", "))
	b.WriteString("An edge only one cluster observed is listed under it: check that the others need it too\n")
	b.WriteString("(they may not have seen it yet), or that it belongs to that cluster alone.\n")
	for _, c := range set.Fleet {
		fmt.Fprintf(b, "\n### Only in cluster %s\n\n", escape.MarkdownText(c.Cluster))
		if len(c.Edges) == 0 {
			b.WriteString("Nothing: another cluster observed every edge this one did.\n")
			continue
		}
		writeOnlyTable(b, c.Edges, "")
	}
}

// writeFleetFlows is a namespace's FLOWS.md fleet sections: the edges
// touching it that only one cluster observed.
func writeFleetFlows(b *bytes.Buffer, set *policy.Set, ns string) {
	for _, c := range set.Fleet {
		n := 0
		for _, e := range c.Edges {
			if e.SrcNamespace == ns || e.DstNamespace == ns {
				n++
			}
		}
		if n == 0 {
			continue
		}
		fmt.Fprintf(b, "\n## Only in cluster %s\n\n", escape.MarkdownText(c.Cluster))
		fmt.Fprintf(b, "%s of this namespace no other cluster of the fleet observed (ROLLOUT.md lists them all):\n\n", plural(n, "edge"))
		writeOnlyTable(b, c.Edges, ns)
	}
}

// writeOnlyTable writes the edges (those touching ns; all with ns "").
func writeOnlyTable(b *bytes.Buffer, edges []policy.OnlyEdge, ns string) {
	b.WriteString("| from | to | protocol | port | flows | first seen | last seen |\n|---|---|---|---|---|---|---|\n")
	for _, e := range edges {
		if ns != "" && e.SrcNamespace != ns && e.DstNamespace != ns {
			continue
		}
		port := "-"
		if e.Port != 0 {
			port = strconv.Itoa(int(e.Port))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %s |\n", escape.MarkdownCell(e.Src), escape.MarkdownCell(e.Dst),
			escape.MarkdownCell(e.Proto), port, e.Flows, ts(e.FirstSeen), ts(e.LastSeen))
	}
}
