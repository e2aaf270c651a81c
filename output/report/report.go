// Package report renders the human-facing parts of the output tree:
// per-namespace FLOWS.md evidence tables and ROLLOUT.md (namespace order,
// readiness, findings, the commands to apply and the one-line rollback).
package report

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/parallel"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// Add writes FLOWS.md for each namespace and ROLLOUT.md into t. format is
// the policy flavor (for the apply commands).
func Add(t output.Tree, set *policy.Set, format string) {
	// each namespace's findings, in the set's order
	byNS := map[string][]policy.Finding{}
	for _, f := range set.Findings {
		byNS[f.Namespace] = append(byNS[f.Namespace], f)
	}
	// written on all cores, added in order
	docs := make([][]byte, len(set.Namespaces))
	parallel.For(len(docs), func(i int) {
		ns := set.Namespaces[i]
		docs[i] = flows(ns, set, byNS[ns.Name])
	})
	for i, ns := range set.Namespaces {
		t[ns.Name+"/FLOWS.md"] = docs[i]
	}
	t["ROLLOUT.md"] = rollout(set, format)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// appendTS appends ts(t).
func appendTS(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, '-')
	}
	return t.UTC().AppendFormat(b, "2006-01-02 15:04:05Z")
}

// flows is a namespace's FLOWS.md; fs are its findings. Every name from
// input is written through escape.MarkdownText or MarkdownCell: it renders
// as text, never as an element, a new row or a new column.
func flows(ns *policy.Namespace, set *policy.Set, fs []policy.Finding) []byte {
	var b bytes.Buffer
	b.Grow(512 + 160*len(ns.Evidence))
	fmt.Fprintf(&b, "# Observed flows: namespace %s\n\n", escape.MarkdownText(ns.Name))
	fmt.Fprintf(&b, "Observation window %s .. %s. Every row is a deduplicated edge learned from request flows;\n", ts(set.WindowStart), ts(set.WindowEnd))
	b.WriteString("the last column names the policy that admits it (or why none does).\n")
	if slices.ContainsFunc(ns.Evidence, func(e policy.Evidence) bool { return e.Via != "" }) {
		b.WriteString("A port \"(via Service …)\" is a pod port that Service translates its own port to (from the inventory):\n")
		b.WriteString("a call to the Service's address is recorded with the pod's port, after the translation.\n")
	}
	b.WriteString("\n| workload | direction | peer | protocol | port | flows | first seen | last seen | admitted by |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range ns.Evidence {
		// "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", written
		// without fmt (one row per edge)
		b.WriteString("| ")
		b.WriteString(escape.MarkdownCell(e.Workload))
		b.WriteString(" | ")
		b.WriteString(escape.MarkdownCell(e.Direction))
		b.WriteString(" | ")
		b.WriteString(escape.MarkdownCell(e.Peer))
		b.WriteString(" | ")
		b.WriteString(escape.MarkdownCell(e.Proto))
		b.WriteString(" | ")
		if e.Port != 0 {
			b.Write(strconv.AppendUint(b.AvailableBuffer(), uint64(e.Port), 10))
		} else {
			b.WriteString("-")
		}
		if e.Via != "" {
			// the pod port a flow through a Service was recorded with
			b.WriteString(" (via ")
			b.WriteString(escape.MarkdownCell(e.Via))
			b.WriteString(")")
		}
		b.WriteString(" | ")
		b.Write(strconv.AppendUint(b.AvailableBuffer(), e.Flows, 10))
		b.WriteString(" | ")
		b.Write(appendTS(b.AvailableBuffer(), e.FirstSeen))
		b.WriteString(" | ")
		b.Write(appendTS(b.AvailableBuffer(), e.LastSeen))
		b.WriteString(" | ")
		b.WriteString(escape.MarkdownCell(e.Rule))
		b.WriteString(" |\n")
	}
	writeBlockers(&b, ns)
	writeUnproven(&b, ns)
	writeSilent(&b, ns)
	writeExisting(&b, ns)
	writeFleetFlows(&b, set, ns.Name)
	if len(fs) > 0 {
		b.WriteString("\n## Findings\n\n")
		writeFindings(&b, fs)
	}
	return b.Bytes()
}

// writeBlockers lists the observed requests the written policies would
// deny outside the documented classes: why the namespace is blocked, and
// what to do about each.
func writeBlockers(b *bytes.Buffer, ns *policy.Namespace) {
	if len(ns.Blockers) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Blocked: do not enforce %s yet\n\n", escape.MarkdownText(ns.Name))
	b.WriteString("Generate replayed the window against these policies: these observed requests would be denied,\n")
	b.WriteString("and nothing documents why (they are not denied attempts, metadata calls, own-node host traffic or\n")
	b.WriteString("inexpressible protocols). Enforcing now cuts them.\n\n")
	b.WriteString("| workload | direction | peer | port | flows | why it is denied | fix |\n|---|---|---|---|---|---|---|\n")
	for _, k := range ns.Blockers {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %s |\n", escape.MarkdownCell(k.Workload), escape.MarkdownCell(k.Direction), escape.MarkdownCell(k.Peer), escape.MarkdownCell(policy.PortString(k.Proto, k.Port)), k.Flows, escape.MarkdownCell(k.Reason), escape.MarkdownCell(k.Fix))
	}
}

// writeUnproven lists the selectors the inventory's pods disprove.
func writeUnproven(b *bytes.Buffer, ns *policy.Namespace) {
	if len(ns.Unproven) == 0 {
		return
	}
	b.WriteString("\n## Selectors the inventory does not prove\n\n")
	b.WriteString("Each workload selector was checked against every pod of the inventory: these do not select exactly\n")
	b.WriteString("their workload's pods. Enforcing now isolates or admits pods nobody observed.\n\n")
	b.WriteString("| workload | selector | why | fix |\n|---|---|---|---|\n")
	for _, u := range ns.Unproven {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", escape.MarkdownCell(u.Workload), escape.MarkdownCell(u.Selector), escape.MarkdownCell(u.Reason), escape.MarkdownCell(u.Fix))
	}
}

// writeSilent lists the namespace's workloads the inventory knows and the
// window never saw.
func writeSilent(b *bytes.Buffer, ns *policy.Namespace) {
	if len(ns.Silent) == 0 {
		return
	}
	b.WriteString("\n## Never observed\n\n")
	b.WriteString("The inventory lists these workloads; no flow of the window involved them. Never observed: each will be\n")
	if ns.DenyScope == policy.DenyScopeObserved {
		b.WriteString("left alone (deny scope observed: not isolated), but no observed workload's policy admits them.\n\n")
	} else {
		b.WriteString("isolated by default-deny.\n\n")
	}
	writeSilentTable(b, "", ns.Silent)
}

func writeSilentTable(b *bytes.Buffer, namespace string, ws []policy.SilentWorkload) {
	if namespace == "" {
		b.WriteString("| workload | kind | pods | schedule | scheduled runs |\n|---|---|---|---|---|\n")
	}
	for _, w := range ws {
		if namespace != "" {
			fmt.Fprintf(b, "| %s ", escape.MarkdownCell(namespace))
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s |\n", escape.MarkdownCell(w.Name), escape.MarkdownCell(w.Kind), w.Pods,
			escape.MarkdownCell(orDash(w.Schedule)), escape.MarkdownCell(orDash(w.Runs)))
	}
}

// writeExisting lists the NetworkPolicies already in the cluster (the
// inventory's) that select the namespace's observed workloads.
func writeExisting(b *bytes.Buffer, ns *policy.Namespace) {
	if len(ns.Existing) == 0 {
		return
	}
	b.WriteString("\n## Existing policies\n\n")
	b.WriteString("NetworkPolicies the inventory lists that select these observed workloads. NetworkPolicies add up:\n")
	b.WriteString("`kubectl apply` keeps them beside the generated ones (except one of the same name, which it replaces),\n")
	b.WriteString("so whatever they admit stays admitted. Denied flows: named by the flow source, or (possibly) dropped\n")
	b.WriteString("in a direction the policy isolates without a source naming the policy.\n\n")
	b.WriteString("| policy | isolates | selects | denied flows | possibly denied | note |\n|---|---|---|---|---|---|\n")
	for _, e := range ns.Existing {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %s |\n", escape.MarkdownCell(e.Name), escape.MarkdownCell(directions(e.Ingress, e.Egress)),
			escape.MarkdownCell(strings.Join(e.Workloads, ", ")), e.Denied, e.MayHaveDenied, escape.MarkdownCell(existingNote(e)))
	}
}

func directions(in, eg bool) string {
	switch {
	case in && eg:
		return "ingress, egress"
	case in:
		return "ingress"
	case eg:
		return "egress"
	}
	return "-"
}

func existingNote(e policy.ExistingPolicy) string {
	var notes []string
	if e.SameName {
		notes = append(notes, "the tree has a policy of this name: apply replaces it")
	}
	if !e.Exact {
		notes = append(notes, "matched by its matchLabels only (it has matchExpressions)")
	}
	if len(notes) == 0 {
		return "-"
	}
	return strings.Join(notes, "; ")
}

// writeExistingRollout warns where existing NetworkPolicies select
// workloads the tree also selects.
func writeExistingRollout(b *bytes.Buffer, set *policy.Set) {
	n := 0
	for _, ns := range set.Namespaces {
		n += len(ns.Existing)
	}
	if n == 0 {
		return
	}
	b.WriteString("\n## Existing policies overlap the tree\n\n")
	fmt.Fprintf(b, "The cluster already has NetworkPolicies (%d) that select workloads these policies also select. They add up:\n", n)
	b.WriteString("`kubectl apply` keeps both, so the union is enforced: anything an existing policy admits stays admitted\n")
	b.WriteString("(the tree does not make it least-privilege), and a policy of the same name is replaced. Review or delete\n")
	b.WriteString("them as part of the rollout (each namespace's FLOWS.md lists them, with the denied flows attributed to them):\n\n")
	for _, ns := range set.Namespaces {
		if len(ns.Existing) == 0 {
			continue
		}
		names := make([]string, len(ns.Existing))
		for i, e := range ns.Existing {
			names[i] = escape.MarkdownText(e.Name)
		}
		fmt.Fprintf(b, "- %s: %s\n", escape.MarkdownText(ns.Name), strings.Join(names, ", "))
	}
}

// writeInventory is ROLLOUT.md's account of the inventory: what was read,
// and every silent workload of the application namespaces.
func writeInventory(b *bytes.Buffer, set *policy.Set) {
	if set.Inventory == "" {
		return
	}
	b.WriteString("\n## Inventory\n\n")
	fmt.Fprintf(b, "Read %s: a snapshot at one time, while the window is a range (%s .. %s). Workloads deleted\n", escape.MarkdownText(set.Inventory), ts(set.WindowStart), ts(set.WindowEnd))
	b.WriteString("before the snapshot appear only in the flows; every selector written was checked against every pod it lists.\n")
	writeEndpoints(b, set)
	n := 0
	for _, ns := range set.Namespaces {
		n += len(ns.Silent)
	}
	if n == 0 {
		b.WriteString("\nEvery workload of the application namespaces was observed.\n")
		return
	}
	what := "each will be isolated by default-deny"
	if set.DenyScope == policy.DenyScopeObserved {
		what = "each is left alone (deny scope observed), but no observed workload's policy admits it"
	}
	fmt.Fprintf(b, "\n%s never observed: %s (readiness **silent workloads**).\n\n", plural(n, "workload"), what)
	b.WriteString("| namespace | workload | kind | pods | schedule | scheduled runs |\n|---|---|---|---|---|---|\n")
	for _, ns := range set.Namespaces {
		writeSilentTable(b, ns.Name, ns.Silent)
	}
}

// writeEndpoints says what the inventory's CiliumEndpoints showed: the
// running pods Cilium does not manage, or that nothing was checked.
func writeEndpoints(b *bytes.Buffer, set *policy.Set) {
	switch {
	case set.CiliumEndpoints == 0:
		b.WriteString("\nThe inventory has no CiliumEndpoint, so pods the CNI does not manage were not checked (on Cilium:\n")
		b.WriteString("list `ciliumendpoints.cilium.io` too; with CiliumEndpointSlices there are none to list).\n")
	case len(set.Unmanaged) == 0:
		fmt.Fprintf(b, "\nEvery running pod on the pod network has a CiliumEndpoint (%s read): Cilium manages them all.\n", plural(set.CiliumEndpoints, "CiliumEndpoint"))
	default:
		fmt.Fprintf(b, "\n%s without a CiliumEndpoint (%s read): Cilium does not manage them, so no policy\n", plural(len(set.Unmanaged), "running pod"), plural(set.CiliumEndpoints, "CiliumEndpoint"))
		b.WriteString("isolates them and no selector matches them; the namespaces whose flows need them are blocked (findings\n")
		b.WriteString("`unmanaged`). Restart them so that Cilium manages them:\n\n")
		for _, p := range set.Unmanaged {
			fmt.Fprintf(b, "- %s\n", escape.MarkdownText(p))
		}
	}
}

// writeDenyScope says what an observed-scope tree isolates and what it
// leaves alone (nothing for namespace scope, the default).
func writeDenyScope(b *bytes.Buffer, set *policy.Set, format string) {
	if set.DenyScope != policy.DenyScopeObserved {
		return
	}
	b.WriteString("\n## Deny scope: observed\n\n")
	b.WriteString("No namespace-wide default-deny: each observed workload is isolated by its own policies, written even\n")
	b.WriteString("when they admit nothing (`<workload>-ingress`, `<workload>-egress`, and `<workload>-dns`, the DNS bundle\n")
	b.WriteString("for its pods). Every other pod of the namespace is left alone: not isolated, and admitted by no\n")
	b.WriteString("observed workload's policy.")
	if set.Inventory == "" {
		b.WriteString(" Without an inventory (`--inventory`) flowfence cannot list those pods: check\n")
		b.WriteString("`kubectl get pods -n <namespace>` for workloads the window did not show before enforcing.\n")
	} else {
		b.WriteString(" The inventory's workloads the window never saw are listed below.\n")
	}
	if format == "k8s" {
		b.WriteString("The cloud metadata guard of this flavor is the isolation itself (broad ipBlocks exclude the credential\n")
		b.WriteString("endpoints): pods no policy selects can reach them. `--guardrails` adds a cluster-wide guard.\n")
	}
}

// shellWord returns s as one word for a POSIX shell: as it is when it holds
// only letters, digits and "._/-" (every valid namespace), else single-
// quoted, so that a command a reader copies from ROLLOUT.md runs nothing
// but kubectl whatever the name.
func shellWord(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-'
	}
	if plain && s[0] != '-' {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// rollout is ROLLOUT.md. Its flow total is the run summary's "learned":
// every learned request flow once, on its edge (set.Flows); a namespace's
// readiness evidence counts the flows of every edge touching it, so an
// edge between two namespaces counts in both rows, never in the total
// twice. The namespace table is one line per namespace and the findings
// one row per group (writeFindings), so a cluster of 50 namespaces reads
// on a screen or two.
func rollout(set *policy.Set, format string) []byte {
	var b bytes.Buffer
	b.WriteString("# Rollout plan\n\n")
	fmt.Fprintf(&b, "Generated by flowfence (format %s, CNI semantics %s) from %d request flows learned %s .. %s:\n",
		escape.MarkdownText(format), escape.MarkdownText(set.CNI), set.Flows, ts(set.WindowStart), ts(set.WindowEnd))
	b.WriteString("each flow once, on its edge (the run summary's \"learned\"). A namespace's evidence counts the flows of\n")
	b.WriteString("every edge that touches it, so a flow between two namespaces counts in both.\n\n")
	for _, c := range set.CutShort {
		fmt.Fprintf(&b, "> **Window cut short:** %s. These policies admit only what was observed before it ended: learn a complete window before enforcing them.\n\n", escape.MarkdownText(c))
	}
	b.WriteString("Enforce one namespace at a time, in this order (fewest dependents first: a namespace that\n")
	b.WriteString("nobody else calls breaks nothing else if a flow was missed). Watch drops after each step\n")
	b.WriteString("(`hubble observe --verdict DROPPED -n <namespace>`, or Calico's denied flow logs).\n\n")
	b.WriteString("| # | namespace | dependents | readiness | evidence | apply | roll back |\n|---|---|---|---|---|---|---|\n")
	for i, ns := range set.Namespaces {
		evidence := ns.Readiness.Evidence
		if ns.Readiness.Fix != "" {
			evidence += ". Fix: " + ns.Readiness.Fix
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %s | %s | %s |\n",
			i+1, escape.MarkdownCell(ns.Name), ns.Dependents, escape.MarkdownCell(ns.Readiness.State), escape.MarkdownCell(evidence),
			escape.MarkdownCodeCell("kubectl apply -k "+shellWord(ns.Name)), escape.MarkdownCodeCell("kubectl delete -k "+shellWord(ns.Name)))
	}
	b.WriteString("\nReadiness: **stable** = no new edge touching the namespace appeared in the quiet part of the\n")
	b.WriteString("window; **still learning** = keep observing before enforcing; **too little traffic** = the window\n")
	b.WriteString("saw too few flows to judge; **blocked** = generate's replay of the window against the written policies\n")
	b.WriteString("denies an observed request that nothing documents (see the namespace's FLOWS.md): fix it first.\n")
	if set.Inventory != "" {
		b.WriteString("With an inventory, **blocked** also means a selector the inventory's pods disprove, and **silent workloads**\n")
		if set.DenyScope == policy.DenyScopeObserved {
			b.WriteString("that the inventory lists workloads no flow showed, which no observed workload's policy admits.\n")
		} else {
			b.WriteString("that the inventory lists workloads no flow showed, which default-deny would isolate.\n")
		}
	}
	b.WriteString("Rolling back removes every policy of the namespace at once.\n")
	writeDenyScope(&b, set, format)
	writeInventory(&b, set)
	writeExistingRollout(&b, set)
	b.WriteString("\n## DNS\n\n")
	for _, r := range set.Resolvers {
		state := "observed"
		if !r.Observed {
			state = "not observed; the kube-dns default"
		}
		if len(r.Unmanaged) > 0 {
			state += "; NOT managed by the CNI: " + strings.Join(r.Unmanaged, ", ") +
				" (no selector matches its pods: restart them so the CNI manages them; every namespace that uses it is blocked until then)"
		}
		var ports []string
		for _, p := range r.Ports {
			ports = append(ports, p.String())
		}
		fmt.Fprintf(&b, "- %s (%s): %s\n", escape.MarkdownText(r.Kind), state, escape.MarkdownText(strings.Join(ports, ", ")))
	}
	b.WriteString("\n## Cloud metadata guard\n\n")
	fmt.Fprintf(&b, "Profile %s. These credential endpoints are never admitted, even when observed, unless config\n", escape.MarkdownCode(set.Guard.Cloud))
	b.WriteString("`metadata.allow` names the workload; every broad ipBlock excludes them and 169.254.0.0/16:\n\n")
	for _, a := range set.Guard.Addresses {
		fmt.Fprintf(&b, "- %s — %s\n", a.Addr, escape.MarkdownText(a.What))
	}
	if len(set.System) > 0 {
		b.WriteString("\n## Namespaces without policies\n\n")
		sys := make([]string, len(set.System))
		for i, n := range set.System {
			sys[i] = escape.MarkdownText(n)
		}
		b.WriteString("System namespaces get no policies (their pods appear only as peers): " + strings.Join(sys, ", ") + ".\n")
	}
	writeFleetRollout(&b, set)
	if len(set.Findings) > 0 {
		b.WriteString("\n## Findings\n\n")
		writeFindings(&b, set.Findings)
	}
	return b.Bytes()
}
