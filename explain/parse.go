package explain

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/record"
)

// End is one end of a FLOW argument: a workload (Namespace and Workload)
// or an address.
type End struct {
	Namespace string
	Workload  string
	IP        netip.Addr
}

// String is how the argument named it: "ns/workload" or the address.
func (e End) String() string {
	if e.IP.IsValid() {
		return e.IP.String()
	}
	return e.Namespace + "/" + e.Workload
}

// FlowQuery is a parsed FLOW argument: "SRC -> DST:PORT/PROTO".
type FlowQuery struct {
	Src, Dst End
	// Protocol is TCP, UDP or SCTP.
	Protocol string
	Port     uint16
}

// RuleQuery is a parsed RULE argument: "ns/policy", optionally narrowed
// to one direction ("#ingress", "#egress") and one rule of it ("#ingress
// 2", the index in the policy's ingress or egress list, from 0).
type RuleQuery struct {
	// Policy is "namespace/name", or the name of a cluster-scoped policy.
	Policy    string
	Direction string // "", ingress or egress
	Rule      int    // -1: every rule
}

// IsFlow tells a FLOW argument (it has "->") from a RULE.
func IsFlow(arg string) bool { return strings.Contains(arg, "->") }

// ParseFlow parses "ns/workload -> ns/workload:port/proto"; either end may
// be an address (IPv6 in brackets before a port: "[2001:db8::1]:443/TCP").
// The protocol defaults to TCP. Errors name the argument.
func ParseFlow(arg string) (FlowQuery, error) {
	bad := func(format string, a ...any) (FlowQuery, error) {
		return FlowQuery{}, fmt.Errorf("FLOW %q: %s (want SRC -> DST:PORT/PROTO, each end ns/workload or an IP address, e.g. 'shop/frontend -> shop/cart:8080/TCP')", arg, fmt.Sprintf(format, a...))
	}
	src, dst, ok := strings.Cut(arg, "->")
	if !ok {
		return bad("no '->'")
	}
	src, dst = strings.TrimSpace(src), strings.TrimSpace(dst)
	if strings.Contains(dst, "->") {
		return bad("more than one '->'")
	}
	var q FlowQuery
	q.Protocol = "TCP"
	if !strings.Contains(dst, ":") {
		return bad("the destination has no :PORT")
	}
	if i := strings.LastIndexByte(dst, '/'); i > strings.LastIndexByte(dst, ':') {
		p := strings.ToUpper(dst[i+1:])
		switch p {
		case "TCP", "UDP", "SCTP":
			q.Protocol = p
		default:
			return bad("protocol %q: one of TCP, UDP, SCTP", dst[i+1:])
		}
		dst = dst[:i]
	}
	i := strings.LastIndexByte(dst, ':')
	if i < 0 {
		return bad("the destination has no :PORT")
	}
	port, err := strconv.ParseUint(dst[i+1:], 10, 16)
	if err != nil || port == 0 {
		return bad("port %q: a number from 1 to 65535", dst[i+1:])
	}
	q.Port = uint16(port)
	host := dst[:i]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if q.Src, err = parseEnd(src); err != nil {
		return bad("source: %v", err)
	}
	if q.Dst, err = parseEnd(host); err != nil {
		return bad("destination: %v", err)
	}
	return q, nil
}

func parseEnd(s string) (End, error) {
	if s == "" {
		return End{}, fmt.Errorf("empty")
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return End{IP: a.Unmap()}, nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return End{}, fmt.Errorf("%q is neither ns/workload nor an IP address", s)
	}
	if !record.ValidNamespace(ns) {
		return End{}, fmt.Errorf("namespace %q is not a valid namespace name", ns)
	}
	if !record.ValidName(name) {
		return End{}, fmt.Errorf("workload %q is not a valid workload name", name)
	}
	return End{Namespace: ns, Workload: name}, nil
}

// ParseRule parses "ns/policy", "ns/policy#ingress", "ns/policy#egress 1"
// (also "#egress:1" and "#egress[1]"); a name without a namespace is a
// cluster-scoped policy. Errors name the argument.
func ParseRule(arg string) (RuleQuery, error) {
	bad := func(format string, a ...any) (RuleQuery, error) {
		return RuleQuery{}, fmt.Errorf("RULE %q: %s (want ns/policy, ns/policy#ingress or ns/policy#egress N, e.g. 'data/postgres-ingress#ingress 0')", arg, fmt.Sprintf(format, a...))
	}
	q := RuleQuery{Rule: -1}
	name, frag, hasFrag := strings.Cut(strings.TrimSpace(arg), "#")
	if ns, n, ok := strings.Cut(name, "/"); ok {
		if !record.ValidNamespace(ns) {
			return bad("namespace %q is not a valid namespace name", ns)
		}
		if !record.ValidName(n) {
			return bad("policy %q is not a valid policy name", n)
		}
	} else if !record.ValidName(name) {
		return bad("policy %q is not a valid policy name", name)
	}
	q.Policy = name
	if !hasFrag {
		return q, nil
	}
	frag = strings.TrimSpace(frag)
	for _, d := range []string{"ingress", "egress"} {
		if !strings.HasPrefix(strings.ToLower(frag), d) {
			continue
		}
		q.Direction = d
		rest := strings.TrimSpace(frag[len(d):])
		rest = strings.TrimPrefix(rest, ":")
		if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
			rest = rest[1 : len(rest)-1]
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return q, nil
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n > 1<<20 {
			return bad("rule index %q: a number from 0", rest)
		}
		q.Rule = n
		return q, nil
	}
	return bad("%q after '#': ingress or egress", frag)
}

// TreeGraphFile is where a tree keeps the graph it was generated from
// (generate --out DIR writes DIR/.flowfence/graph.json): explain reads it
// when no --graph is given.
func TreeGraphFile(dir string) string {
	return filepath.Join(dir, filepath.FromSlash(output.GraphFile))
}
