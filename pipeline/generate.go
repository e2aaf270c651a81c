package pipeline

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/output/k8s"
	"github.com/flowfence/flowfence/output/report"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// Formatter returns the output formatter for a --format value.
func Formatter(name string) (output.Formatter, error) {
	switch name {
	case k8s.FormatName, "kubernetes":
		return k8s.Formatter{}, nil
	case caliout.FormatName:
		return caliout.Formatter{}, nil
	case cilium.FormatName:
		return cilium.Formatter{}, nil
	}
	return nil, fmt.Errorf("--format %q: unknown policy flavor (this build writes: k8s, cilium, calico)", name)
}

// Render synthesises and renders the complete output tree for a graph.
func Render(g *learner.Graph, sopts synth.Options, format string) (*policy.Set, output.Tree, error) {
	f, err := Formatter(format)
	if err != nil {
		return nil, nil, err
	}
	return RenderWith(g, sopts, f)
}

// RenderWith synthesises and renders the complete output tree for a graph
// with a configured formatter (NewFormatter).
func RenderWith(g *learner.Graph, sopts synth.Options, f output.Formatter) (*policy.Set, output.Tree, error) {
	return renderWith(g, sopts, f, nil, nil)
}

// renderWith is RenderWith; cutShort names the live windows that ended
// early (ROLLOUT.md says so).
// clusters are the graphs of a fleet's clusters (generate --fleet): the
// reports say what only one of them observed.
func renderWith(g *learner.Graph, sopts synth.Options, f output.Formatter, cutShort []string, clusters map[string]*learner.Graph) (*policy.Set, output.Tree, error) {
	if !synth.IsCanonical(g) {
		g = synth.Canonical(g) // nothing below changes g: a canonical graph is used as it is
	}
	sopts, err := synth.ForFlavor(sopts, f.Name())
	if err != nil {
		return nil, nil, err
	}
	set, err := synth.Synthesize(g, sopts)
	if err != nil {
		return nil, nil, err
	}
	tree, err := f.Render(set)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckIntegrity(f, set, tree); err != nil {
		return nil, nil, err
	}
	// readiness follows from the replay of the window against the tree
	if err := Replay(g, set, tree); err != nil {
		return nil, nil, err
	}
	set.CutShort = cutShort
	set.Fleet = FleetOnly(g, clusters)
	report.Add(tree, set, f.Name())
	if n, ok := f.(output.RolloutNoter); ok {
		tree["ROLLOUT.md"] = append(tree["ROLLOUT.md"], n.RolloutNotes(set)...)
	}
	return set, tree, nil
}

// summaryPrinter prints one line of the run summary. Names in it came from
// input (namespaces, workloads, peers, drop reasons, relay node names,
// paths), so the whole line goes through escape.Terminal: no name can move
// the cursor, recolour, set a title or add a line.
func summaryPrinter(w io.Writer) func(format string, a ...any) {
	return func(format string, a ...any) {
		fmt.Fprintln(w, escape.Terminal(fmt.Sprintf(format, a...)))
	}
}

// PrintSummary writes the run summary (stderr in the CLI). Its "learned"
// is ROLLOUT.md's flow total (set.Flows): each learned request flow once,
// on its edge.
func PrintSummary(w io.Writer, sum *Summary, g *learner.Graph, set *policy.Set, out string) {
	in := &sum.Input
	p := summaryPrinter(w)
	p("flowfence run summary")
	p("  input:     %d files, %d lines, %d flow events, %d saved graphs", in.Files, in.Lines, in.FlowEvents, sum.Graphs)
	printLive(w, sum)
	if in.Malformed+in.Truncated+in.LostEvents > 0 {
		p("  problems:  %d malformed lines skipped, %d truncated last lines, %d events lost at the source", in.Malformed, in.Truncated, in.LostEvents)
	}
	if sum.SizeWarning != "" {
		p("  warning:   %s", sum.SizeWarning)
	}
	st := g.Stats
	learned := fmt.Sprintf("%d learned", st.Learned)
	if set != nil && set.Flows != st.Learned {
		// --learn-dropped: the graph also counts the policy drops it
		// learned, and a connection dropped at the server shows up at both
		// ends (forwarded at the client, dropped at the server)
		learned = fmt.Sprintf("%d learned (%d counting the drops --learn-dropped learned)", set.Flows, st.Learned)
	}
	p("  flows:     %d requests, %d replies, %s, %d denied attempts, %d duplicates dropped", st.Requests, st.Replies, learned, st.DeniedFlows, st.Duplicates)
	skipped := map[string]uint64{}
	maps.Copy(skipped, in.Skipped)
	for k, v := range st.Skipped {
		skipped[k] += v
	}
	if sum.OutOfWindow > 0 {
		skipped["outside --since/--until"] += sum.OutOfWindow
	}
	for _, k := range slices.Sorted(maps.Keys(skipped)) {
		p("  skipped:   %d %s", skipped[k], k)
	}
	var workloads, externals, entities int
	for _, n := range g.Nodes {
		switch n.Kind {
		case learner.NodeWorkload:
			workloads++
		case learner.NodeExternal:
			externals++
		default:
			entities++
		}
	}
	if set != nil && set.Inventory != "" {
		p("  inventory: %s", set.Inventory)
		if len(set.Unmanaged) > 0 {
			p("  unmanaged: %d running pods without a CiliumEndpoint, first %s: Cilium does not manage them (no policy isolates them, no selector matches them); restart them",
				len(set.Unmanaged), escape.Terminal(set.Unmanaged[0]))
		}
	}
	p("  graph:     %d workloads, %d external IPs, %d node/entity peers, %d edges, %d denied edges; window %s .. %s",
		workloads, externals, entities, len(g.Edges), len(g.Denied), fmtT(g.First), fmtT(g.Last))
	if set != nil {
		policies := 0
		for _, ns := range set.Namespaces {
			policies += len(ns.Policies)
		}
		p("  policies:  %d in %d namespaces (system, peers only: %s)", policies, len(set.Namespaces), orNone(set.System))
		kinds := map[string]int{}
		for _, f := range set.Findings {
			kinds[f.Kind]++
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
		p("  findings:  %s", orNone(parts))
		for _, ns := range set.Namespaces {
			switch ns.Readiness.State {
			case policy.Blocked:
				p("  ! namespace %s is blocked: %s. Fix: %s", escape.Terminal(ns.Name), escape.Terminal(ns.Readiness.Evidence), escape.Terminal(ns.Readiness.Fix))
			case policy.Silent:
				p("  ! namespace %s has silent workloads: %s. Fix: %s", escape.Terminal(ns.Name), escape.Terminal(ns.Readiness.Evidence), escape.Terminal(ns.Readiness.Fix))
			}
		}
		for _, f := range set.Findings {
			if f.Kind == policy.FindMetadata {
				p("  ! %s/%s called %s %s/%d: %s", f.Namespace, f.Workload, f.Peer, f.Proto, f.Port, f.Message)
			}
			if f.Kind == policy.FindDeniedAdmitted {
				p("  ! %s", escape.Terminal(f.Message))
			}
		}
	}
	if set != nil && set.Fleet != nil {
		var parts []string
		for _, c := range set.Fleet {
			parts = append(parts, fmt.Sprintf("%s (%d only there)", c.Cluster, len(c.Edges)))
		}
		p("  fleet:     %d clusters merged, edges only one observed: %s", len(set.Fleet), strings.Join(parts, ", "))
	}
	if out != "" {
		p("  written:   %s (see %s/ROLLOUT.md)", out, out)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
