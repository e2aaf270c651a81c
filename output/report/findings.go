package report

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
)

// maxPeerNames is how many peers a findings row names before "…".
const maxPeerNames = 3

// findingRow is one row of a findings table: the findings of one kind,
// namespace, workload, protocol/port and meaning, whatever their peers
// (22 internet callers of one port are one row with "22 peers").
type findingRow struct {
	kind, ns, workload, proto, message string
	port                               uint16
	// peers are the distinct named peers, sorted; unnamed counts the
	// findings without a peer name (a public entrypoint's callers: one
	// finding per calling address, each a distinct peer).
	peers   []string
	unnamed int
	flows   uint64
}

// groupFindings folds findings into rows, ordered by kind, namespace,
// workload, protocol, port and meaning.
func groupFindings(fs []policy.Finding) []*findingRow {
	type key struct {
		kind, ns, workload, proto, message string
		port                               uint16
	}
	rows := map[key]*findingRow{}
	for _, f := range fs {
		k := key{f.Kind, f.Namespace, f.Workload, f.Proto, f.Message, f.Port}
		r := rows[k]
		if r == nil {
			r = &findingRow{kind: f.Kind, ns: f.Namespace, workload: f.Workload, proto: f.Proto, message: f.Message, port: f.Port}
			rows[k] = r
		}
		r.flows += f.Flows
		switch {
		case f.Peer != "":
			if i, found := slices.BinarySearch(r.peers, f.Peer); !found {
				r.peers = slices.Insert(r.peers, i, f.Peer)
			}
		case f.Proto != "":
			r.unnamed++
		}
	}
	out := make([]*findingRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *findingRow) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.ns, b.ns), cmp.Compare(a.workload, b.workload),
			cmp.Compare(a.proto, b.proto), cmp.Compare(a.port, b.port), cmp.Compare(a.message, b.message))
	})
	return out
}

// peerCell says who the peers are: "-" (none), the peer's name (one), or
// "N peers" naming the first few ("22 peers", "3 peers: a, b, c").
func (r *findingRow) peerCell() string {
	n := len(r.peers) + r.unnamed
	switch {
	case n == 0:
		return "-"
	case n == 1 && len(r.peers) == 1:
		return escape.MarkdownCell(r.peers[0])
	case len(r.peers) == 0:
		return plural(n, "peer")
	}
	names := make([]string, 0, maxPeerNames+1)
	for _, p := range r.peers[:min(len(r.peers), maxPeerNames)] {
		names = append(names, escape.MarkdownCell(p))
	}
	if n > len(names) {
		names = append(names, "…")
	}
	return plural(n, "peer") + ": " + strings.Join(names, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// writeFindings writes the findings table: one row per findingRow.
func writeFindings(b *bytes.Buffer, fs []policy.Finding) {
	b.WriteString("| kind | namespace | workload | port | peers | flows | what it means |\n|---|---|---|---|---|---:|---|\n")
	for _, r := range groupFindings(fs) {
		port := "-"
		if r.proto != "" {
			port = escape.MarkdownCell(r.proto)
			if r.port != 0 {
				port += "/" + strconv.Itoa(int(r.port))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d | %s |\n", escape.MarkdownCell(r.kind), orDash(escape.MarkdownCell(r.ns)),
			orDash(escape.MarkdownCell(r.workload)), port, r.peerCell(), r.flows, escape.MarkdownCell(r.message))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
