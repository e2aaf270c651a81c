// Package diffreport renders what verify and diff found (package
// diffcheck): plain text for the terminal, Markdown for a pull-request
// comment (summary table, a section per namespace, a Mermaid graph of the
// new flows) and versioned JSON with stable field names. Everything is
// sorted and carries no wall-clock time: the same input gives the same
// bytes.
package diffreport

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/escape"
)

// Output formats (-o).
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// why says in one line why the tree does not admit or document a flow.
func why(f *diffcheck.Flow, files map[string]string) string {
	switch f.Outcome {
	case diffcheck.Uncovered:
		return "no policy in namespace " + strings.Join(f.Namespaces, ", ")
	case diffcheck.Denied, diffcheck.Guarded:
		var parts []string
		for _, s := range []struct {
			name string
			side *diffcheck.Side
		}{{"egress", f.Egress}, {"ingress", f.Ingress}} {
			if s.side == nil || s.side.Allowed {
				continue
			}
			parts = append(parts, s.name+" isolated by "+policyList(s.side.Policies, files)+", no rule admits it")
		}
		if f.Outcome == diffcheck.Guarded {
			parts = append([]string{"cloud credential endpoint, denied on purpose"}, parts...)
		}
		if f.NamedPort != "" {
			parts = append(parts, f.NamedPort)
		}
		return strings.Join(parts, "; ")
	}
	return f.Reason
}

// policyList names policies with their files: "shop/default-deny
// (shop/00-default-deny.yaml)".
func policyList(keys []string, files map[string]string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		if f, ok := files[k]; ok {
			out[i] += " (" + f + ")"
		}
	}
	return strings.Join(out, ", ")
}

func flowLine(f *diffcheck.Flow) string {
	return fmt.Sprintf("%s -> %s %s  (%s, %s .. %s)", f.Source, f.Destination, f.PortString(), plural(f.Flows, "flow"), ts(f.FirstSeen), ts(f.LastSeen))
}

// plural renders "1 flow", "2 flows".
func plural[N int | uint64](n N, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// textPrinter prints one line of a terminal report: every name in it came
// from input (flow records, policy files, paths), so the line goes through
// escape.Terminal and no name can move the cursor, recolour or add a line.
func textPrinter(w io.Writer) func(format string, a ...any) {
	return func(format string, a ...any) {
		fmt.Fprintln(w, escape.Terminal(fmt.Sprintf(format, a...)))
	}
}

// VerifyText writes verify's report for the terminal.
func VerifyText(w io.Writer, v *diffcheck.Verification) {
	p := textPrinter(w)
	c := v.Counts
	p("flowfence verify: %d observed request edges against %d NetworkPolicies in %s (CNI %s), window %s .. %s",
		c.Edges, v.Policies, v.Dir, v.CNI, ts(v.WindowStart), ts(v.WindowEnd))
	for _, l := range promotionLines(v) {
		p("%s", l)
	}
	p("  allowed:         %d", c.Allowed)
	p("  denied:          %d", c.Denied)
	p("  host:            %d  from the pod's own node (kubelet probes): always allowed", c.Host)
	p("  inexpressible:   %d  ICMP and the like: needs the cilium or calico flavor", c.Inexpressible)
	p("  guarded:         %d  cloud credential endpoint calls, denied on purpose", c.Guarded)
	p("  uncovered:       %d  in application namespaces without any policy: admitted, undocumented", c.Uncovered)
	p("  denied attempts: %d  dropped by a policy already in place and never answered: not replayed", c.DeniedAttempts)
	if len(v.Denied) > 0 {
		p("")
		p("Denied: observed requests these policies would cut")
		for i := range v.Denied {
			f := &v.Denied[i]
			p("  %s", flowLine(f))
			for _, s := range []struct {
				name string
				side *diffcheck.Side
			}{{"egress ", f.Egress}, {"ingress", f.Ingress}} {
				switch {
				case s.side == nil || !s.side.Isolated:
					p("      %s: not isolated", s.name)
				case s.side.Allowed:
					p("      %s: admitted by %s", s.name, policyList(s.side.Matched, v.Files))
				default:
					p("      %s: DENIED: isolated by %s, no rule admits it", s.name, policyList(s.side.Policies, v.Files))
				}
			}
			if f.NamedPort != "" {
				p("      named port: %s", escape.Terminal(f.NamedPort))
			}
		}
	}
	for _, sec := range []struct {
		title string
		flows []diffcheck.Flow
	}{
		{"Inexpressible (not a failure)", v.Inexpressible},
		{"Guarded cloud credential endpoints (denied on purpose, not a failure)", v.Guarded},
		{"Uncovered: namespaces without policies (not a failure for verify; diff reports them)", v.Uncovered},
		{"Denied attempts (an existing policy dropped them; not replayed)", v.DeniedAttempts},
	} {
		if len(sec.flows) == 0 {
			continue
		}
		p("")
		p("%s:", sec.title)
		for i := range sec.flows {
			p("  %s", flowLine(&sec.flows[i]))
		}
	}
	p("")
	if v.Failed() {
		p("FAIL: %d observed request edges would be denied by %s", c.Denied, v.Dir)
	} else {
		p("PASS: every observed request is admitted by %s", v.Dir)
	}
}

// promotionLines say that a tree's Calico staged policies were evaluated
// as promoted, and what promotion does; none without staged policies.
func promotionLines(v *diffcheck.Verification) []string {
	if v == nil || v.Promotion == nil {
		return nil
	}
	pr := v.Promotion
	out := []string{fmt.Sprintf("  staged policies evaluated as promoted (what the tree enforces once they are): %d set, %d delete",
		len(pr.Set), len(pr.Deleted)+len(pr.Absent))}
	for _, l := range []struct {
		what  string
		names []string
	}{
		{"replaced by the staged policy of the same name", pr.Replaced},
		{"deleted by a staged Delete", pr.Deleted},
		{"deleted by a staged Delete, not in the tree", pr.Absent},
	} {
		if len(l.names) > 0 {
			out = append(out, fmt.Sprintf("    %s: %s", l.what, strings.Join(l.names, ", ")))
		}
	}
	return out
}

// DiffText writes diff's report for the terminal.
func DiffText(w io.Writer, d *diffcheck.Diff) {
	p := textPrinter(w)
	p("flowfence diff: window %s .. %s%s", ts(d.WindowStart), ts(d.WindowEnd), against(d, func(s string) string { return s }))
	for _, l := range promotionLines(d.Verification) {
		p("%s", l)
	}
	t := d.Totals()
	p("  undocumented flows: %d   stale rules: %d   new edges: %d   vanished edges: %d", t.Undocumented, t.Stale, t.NewEdges, t.VanishedEdges)
	for _, n := range d.Namespaces {
		p("")
		p("%s: %d undocumented, %d stale rules, %d new edges, %d vanished edges", nsTitle(n.Namespace), n.Undocumented, n.Stale, n.NewEdges, n.VanishedEdges)
		files := map[string]string{}
		if d.Verification != nil {
			files = d.Verification.Files
		}
		for _, f := range diffcheck.InNamespace(d.Undocumented, n.Namespace) {
			p("  UNDOCUMENTED %s: %s", flowLine(&f), why(&f, files))
		}
		for _, r := range diffcheck.StaleInNamespace(d.Stale, n.Namespace) {
			p("  STALE        %s", staleLine(r))
		}
		for _, f := range diffcheck.InNamespace(d.NewEdges, n.Namespace) {
			p("  NEW          %s", flowLine(&f))
		}
		for _, f := range diffcheck.InNamespace(d.VanishedEdges, n.Namespace) {
			p("  VANISHED     %s", flowLine(&f))
		}
	}
	p("")
	if d.Found() {
		p("FOUND: %d undocumented flows, %d new edges", t.Undocumented, t.NewEdges)
	} else {
		p("NOTHING NEW")
	}
}

func staleLine(r diffcheck.StaleRule) string {
	fromTo := "from"
	if r.Direction == "egress" {
		fromTo = "to"
	}
	s := fmt.Sprintf("%s %s rule %d: %s %s on %s [%s]", r.Policy, r.Direction, r.Rule, fromTo, r.Peer, r.Port, r.File)
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	return s
}

// against names what the observation was compared with; quote formats
// paths.
func against(d *diffcheck.Diff, quote func(string) string) string {
	var parts []string
	if d.Policies != "" {
		n := 0
		if d.Verification != nil {
			n = d.Verification.Policies
		}
		parts = append(parts, fmt.Sprintf("the policies in %s (%d NetworkPolicies)", quote(d.Policies), n))
	}
	if d.Baseline != "" {
		parts = append(parts, "the baseline graph "+quote(d.Baseline))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; against " + strings.Join(parts, " and ")
}

func nsTitle(ns string) string {
	if ns == "" {
		return "(no namespace: between peers that are not pods)"
	}
	return "namespace " + ns
}
