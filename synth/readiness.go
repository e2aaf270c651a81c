package synth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/policy"
)

// ClaimedBlockers are the blockers synth itself knows of in a namespace:
// its evidence rows that no rule admits and no documented class explains.
// generate replaces them with what its replay of the window against the
// written tree finds (ApplyReplay); without an evaluator for the flavor
// they stand.
func ClaimedBlockers(ns *policy.Namespace) []policy.Blocker {
	var out []policy.Blocker
	for _, ev := range ns.Evidence {
		if ev.Admitted || ev.Documented != "" {
			continue
		}
		out = append(out, BlockerOf(ev, ""))
	}
	SortBlockers(out)
	return out
}

// BlockerOf is the blocker of an evidence row; reason replaces the row's
// own reason when it is not empty (the replay's verdict).
func BlockerOf(ev policy.Evidence, reason string) policy.Blocker {
	why := strings.TrimPrefix(ev.Rule, "blocked: ")
	if reason != "" && (ev.Admitted || ev.Fix == "") {
		why = reason
	}
	fix := ev.Fix
	if fix == "" {
		fix = "admit it yourself (a policy of your own beside the generated ones), or find why flowfence wrote no rule for it"
	}
	return policy.Blocker{Workload: ev.Workload, Direction: ev.Direction, Peer: ev.Peer, Proto: ev.Proto, Port: ev.Port, Flows: ev.Flows,
		Reason: why, Fix: fix, SrcID: ev.SrcID, DstID: ev.DstID}
}

// SortBlockers orders blockers deterministically.
func SortBlockers(bs []policy.Blocker) {
	slices.SortFunc(bs, func(a, b policy.Blocker) int {
		return cmp.Or(cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Peer, b.Peer),
			cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port), cmp.Compare(a.SrcID, b.SrcID), cmp.Compare(a.DstID, b.DstID))
	})
}

// ApplyReplay sets each namespace's blockers to those the replay of the
// window against the written tree found (by namespace name; a namespace
// absent from blockers has none), keeping the blockers of traffic that is
// no edge of the graph (no SrcID: peers without an address, which the
// replay cannot see), and judges its readiness again.
func ApplyReplay(set *policy.Set, blockers map[string][]policy.Blocker) {
	for _, ns := range set.Namespaces {
		var kept []policy.Blocker
		for _, b := range ns.Blockers {
			if b.SrcID == "" && b.DstID == "" {
				kept = append(kept, b)
			}
		}
		ns.Blockers = append(kept, blockers[ns.Name]...)
		SortBlockers(ns.Blockers)
		Judge(ns)
	}
}

// Judge sets a namespace's readiness: what its traffic says, unless
// blockers hold it back (docs/DESIGN.md rule 10: never stable while an observed
// request would be denied outside the documented classes).
func Judge(ns *policy.Namespace) {
	if len(ns.Blockers) == 0 {
		ns.Readiness = ns.Traffic
		judgeInventory(ns)
		return
	}
	b := ns.Blockers[0]
	var sb strings.Builder
	n := len(ns.Blockers)
	if n == 1 {
		sb.WriteString("1 observed request the written policies deny: ")
	} else {
		fmt.Fprintf(&sb, "%d observed requests the written policies deny, first: ", n)
	}
	sb.WriteString(DescribeBlocker(b))
	var fixes []string
	for _, b := range ns.Blockers {
		if !slices.Contains(fixes, b.Fix) {
			fixes = append(fixes, b.Fix)
		}
	}
	ns.Readiness = policy.Readiness{State: policy.Blocked, Evidence: sb.String(), Fix: strings.Join(fixes, "; ")}
}

// DescribeBlocker is one line for reports: who, which way, whom, why.
func DescribeBlocker(b policy.Blocker) string {
	port := policy.PortString(b.Proto, b.Port)
	arrow := " -> "
	if b.Direction == "ingress" {
		arrow = " <- "
	}
	return b.Workload + arrow + b.Peer + " " + port + " (" + b.Direction + "): " + b.Reason
}

// judgeInventory holds back a namespace that no observed request blocks
// when the inventory disproves a selector (blocked) or lists workloads the
// window never saw (silent workloads); the traffic's own verdict follows
// in the evidence when it is not stable.
func judgeInventory(ns *policy.Namespace) {
	var evidence, fix string
	state := policy.Silent
	switch {
	case len(ns.Unproven) > 0:
		u := ns.Unproven[0]
		state = policy.Blocked
		evidence = fmt.Sprintf("%s the inventory does not prove exact, first %s {%s}: it %s", count(len(ns.Unproven), "selector"), u.Workload, u.Selector, u.Reason)
		var fixes []string
		for _, u := range ns.Unproven {
			if !slices.Contains(fixes, u.Fix) {
				fixes = append(fixes, u.Fix)
			}
		}
		fix = strings.Join(fixes, "; ")
	case len(ns.Silent) > 0:
		w := ns.Silent[0]
		evidence = fmt.Sprintf("%s of the inventory never observed in the window, first %s %s: default-deny isolates them", count(len(ns.Silent), "workload"), w.Kind, w.Name)
		fix = SilentFix
		if ns.DenyScope == policy.DenyScopeObserved {
			evidence = fmt.Sprintf("%s of the inventory never observed in the window, first %s %s: not isolated (deny scope observed), but the observed workloads' policies deny whatever they call or are called by", count(len(ns.Silent), "workload"), w.Kind, w.Name)
			fix = SilentObservedFix
		}
	default:
		return
	}
	if ns.Traffic.State != policy.Stable {
		evidence += "; traffic alone: " + ns.Traffic.State + " (" + ns.Traffic.Evidence + ")"
	}
	ns.Readiness = policy.Readiness{State: state, Evidence: evidence, Fix: fix}
}

// SilentFix is what to do about silent workloads.
const SilentFix = "learn a window in which they talk (for a CronJob, one that covers a scheduled run), or admit them with a policy of your own, before enforcing"

// SilentObservedFix is what to do about silent workloads in deny scope
// observed.
const SilentObservedFix = "learn a window in which they talk (for a CronJob, one that covers a scheduled run) before enforcing: their pods stay open, but no observed workload's policy admits them"

// count is "1 word" or "n words".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
