// This file turns an evaluation into its one-line Reason.

package verifier

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

func reason(r *Result, protocol corev1.Protocol) string {
	var b strings.Builder
	b.Grow(160)
	switch r.Verdict {
	case Inexpressible:
		fmt.Fprintf(&b, "inexpressible: protocol %q cannot be expressed by NetworkPolicy ports", protocol)
	case Allowed:
		b.WriteString("allowed")
	default:
		b.WriteString("denied")
	}
	b.WriteString(": egress ")
	describe(&b, &r.Egress)
	b.WriteString("; ingress ")
	describe(&b, &r.Ingress)
	return b.String()
}

func describe(b *strings.Builder, d *DirectionResult) {
	switch {
	case len(d.Denied) > 0:
		b.WriteString("denied by a deny rule of ")
		b.WriteString(strings.Join(d.Denied, ", "))
	case !d.Isolated && d.Detail != "":
	case !d.Isolated:
		b.WriteString("not isolated")
	case len(d.Matched) > 0:
		b.WriteString("admitted by ")
		b.WriteString(strings.Join(d.Matched, ", "))
	default:
		b.WriteString("isolated by ")
		b.WriteString(strings.Join(d.Policies, ", "))
		b.WriteString(" and no rule admits it")
		if d.UnknownNamedPort {
			b.WriteString(" (a named port is not declared by the destination)")
		}
	}
	if d.Detail != "" {
		if len(d.Denied) > 0 || d.Isolated {
			b.WriteString(": ")
		}
		b.WriteString(d.Detail)
	}
}
