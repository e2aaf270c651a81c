package explain

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/jsondoc"
	"github.com/flowfence/flowfence/policy"
)

// Output formats of explain.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Version of the JSON document; a change of a field's name or meaning
// bumps it.
const Version = 1

// Doc is the JSON document: the version, the kind (flow or rule) and one
// report.
type Doc struct {
	Version int         `json:"flowfenceExplain"`
	Kind    string      `json:"kind"`
	Flow    *FlowReport `json:"flow,omitempty"`
	Rule    *RuleReport `json:"rule,omitempty"`
}

// JSON renders a report (*FlowReport or *RuleReport) as the versioned
// document, indented, with a final newline.
func JSON(report any) ([]byte, error) {
	doc := Doc{Version: Version}
	switch r := report.(type) {
	case *FlowReport:
		doc.Kind, doc.Flow = "flow", r
	case *RuleReport:
		doc.Kind, doc.Rule = "rule", r
	default:
		return nil, fmt.Errorf("explain: no JSON document for %T", report)
	}
	b, err := jsondoc.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render JSON: %w", err)
	}
	return b, nil
}

// t escapes every name from the tree or the graph for a terminal.
func t(s string) string { return escape.Terminal(s) }

// stagedNote says staged policies were evaluated as promoted.
func stagedNote(staged string) string {
	if staged == "" {
		return ""
	}
	return " (staged policies evaluated as " + t(staged) + ")"
}

// FlowText writes the flow report for people; every name from the tree or
// the graph is escaped for a terminal.
func FlowText(w io.Writer, r *FlowReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s -> %s %s/%d: %s\n", t(r.Source.Name), t(r.Destination.Name), r.Protocol, r.Port, strings.ToUpper(r.Verdict))
	fmt.Fprintf(&b, "  tree         %s policies%s, %s semantics\n", t(r.Flavor), stagedNote(r.Staged), t(r.CNI))
	fmt.Fprintf(&b, "  source       %s\n", peerText(r.Source))
	fmt.Fprintf(&b, "  destination  %s\n", peerText(r.Destination))
	if o := r.Observed; o != nil {
		fmt.Fprintf(&b, "  observed     %d flows, %s .. %s, nodes %s\n", o.Flows, stamp(o.FirstSeen), stamp(o.LastSeen), t(strings.Join(o.Nodes, ", ")))
	} else {
		b.WriteString("  observed     never (not an edge of the graph)\n")
	}
	fmt.Fprintf(&b, "  reason       %s\n", t(r.Reason))
	directionText(&b, "egress of "+r.Source.Name, &r.Egress)
	directionText(&b, "ingress of "+r.Destination.Name, &r.Ingress)
	_, err := io.WriteString(w, b.String())
	return err
}

func peerText(p Peer) string {
	var parts []string
	parts = append(parts, t(p.Name))
	if p.Labels != nil || p.Namespace != "" {
		parts = append(parts, "pod labels "+t(labelString(p.Labels)))
		if p.LabelSets > 1 {
			parts = append(parts, fmt.Sprintf("(one of %d label sets)", p.LabelSets))
		}
		parts = append(parts, "namespace labels "+t(labelString(namespaceLabels(p.NamespaceLabels, p.Namespace))))
	}
	if p.Entity != "" && !strings.HasPrefix(p.Name, p.Entity) {
		parts = append(parts, "entity "+t(p.Entity))
	}
	if len(p.DNSNames) > 0 && !strings.Contains(p.Name, "(") {
		parts = append(parts, "DNS "+t(strings.Join(p.DNSNames, ", ")))
	}
	return strings.Join(parts, ", ")
}

func directionText(b *strings.Builder, title string, d *Direction) {
	fmt.Fprintf(b, "\n%s: ", t(title))
	switch {
	case !d.Applies:
		b.WriteString("no policy (not a pod)\n")
		return
	case !d.Isolated && d.Allowed:
		b.WriteString("allowed (no policy selects it in this direction)\n")
	case d.Allowed:
		b.WriteString("allowed\n")
	default:
		b.WriteString("DENIED\n")
	}
	for i, p := range d.Policies {
		label := "selected by "
		if i > 0 {
			label = "            "
		}
		fmt.Fprintf(b, "  %s %s (%s)\n", label, t(p.Policy), t(p.File))
	}
	for _, p := range d.DeniedBy {
		fmt.Fprintf(b, "  deny rule of %s (%s)\n", t(p.Policy), t(p.File))
	}
	for _, r := range d.Admitted {
		fmt.Fprintf(b, "  admitted by  %s\n", ruleText(r.Policy, r))
	}
	if d.Detail != "" {
		fmt.Fprintf(b, "  decided      %s\n", t(d.Detail))
	}
	if d.Allowed || len(d.Admitted) > 0 {
		return
	}
	if d.Nearest == nil {
		b.WriteString("  nearest rule none: the selecting policies have no allow rule in this direction (default-deny)\n")
		return
	}
	fmt.Fprintf(b, "  nearest rule %s\n", ruleText(d.Nearest.Policy, d.Nearest.RuleRef))
	for _, df := range d.Nearest.Differs {
		verb := "differs"
		if strings.HasSuffix(df.What, "s") {
			verb = "differ"
		}
		fmt.Fprintf(b, "    %s %s: the rule admits %s; the flow has %s\n", df.What, verb, t(df.Rule), t(df.Flow))
	}
}

// ruleText: "shop/cart-ingress ingress rule 0: from shop/{app=frontend} on TCP/8080 (shop/cart-ingress.yaml)".
func ruleText(policy string, r RuleRef) string {
	dir := "to"
	if r.Direction == "ingress" {
		dir = "from"
	}
	s := fmt.Sprintf("%s %s rule %d: %s %s on %s (%s)", t(policy), r.Direction, r.Rule, dir, t(r.Peer), t(r.Port), t(r.File))
	if r.Note != "" {
		s += " [" + t(r.Note) + "]"
	}
	return s
}

// RuleText writes the rule report for people.
func RuleText(w io.Writer, r *RuleReport) error {
	var b strings.Builder
	what := "every rule"
	switch {
	case r.Direction != "" && r.Rule >= 0:
		what = fmt.Sprintf("%s rule %d", r.Direction, r.Rule)
	case r.Direction != "":
		what = "every " + r.Direction + " rule"
	}
	fmt.Fprintf(&b, "policy %s (%s), %s: %s policies%s\n", t(r.Policy), t(r.File), what, t(r.Flavor), stagedNote(r.Staged))
	fmt.Fprintf(&b, "  window %s .. %s\n", stamp(r.WindowStart), stamp(r.WindowEnd))
	for _, el := range r.Elements {
		dir := "to"
		if el.Direction == "ingress" {
			dir = "from"
		}
		fmt.Fprintf(&b, "\n%s rule %d: %s %s on %s", el.Direction, el.Rule, dir, t(el.Peer), t(el.Port))
		if el.Note != "" {
			fmt.Fprintf(&b, " [%s]", t(el.Note))
		}
		if el.Stale {
			b.WriteString("\n  no observed flow (stale)\n")
			continue
		}
		fmt.Fprintf(&b, "\n  %d flows, %s .. %s, nodes %s\n", el.Flows, stamp(*el.FirstSeen), stamp(*el.LastSeen), t(strings.Join(el.Nodes, ", ")))
		for _, e := range el.Edges {
			fmt.Fprintf(&b, "    %s -> %s %s: %d flows, %s .. %s, nodes %s", t(e.Source), t(e.Destination), t(policy.PortString(e.Protocol, e.Port)), e.Flows, stamp(e.FirstSeen), stamp(e.LastSeen), t(strings.Join(e.Nodes, ", ")))
			if len(e.DNSNames) > 0 {
				fmt.Fprintf(&b, ", DNS %s", t(strings.Join(e.DNSNames, ", ")))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stamp(ts time.Time) string {
	if ts.IsZero() {
		return "?"
	}
	return ts.UTC().Format(time.RFC3339)
}
