package output

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/policy"
)

// The one place a YAML comment is written. Comment text says where a policy
// came from and carries input text (namespaces, workloads, DNS names,
// entities, config opt-ins): every byte of it goes through
// escape.YAMLComment here, so no string, whoever passes it, can end the
// comment and start YAML.

// AppendComment appends a full-line comment "# <prefix><text>\n" to b.
// prefix is the writer's own constant text ("", "NOTE: "); text may be
// anything.
func AppendComment(b []byte, prefix, text string) []byte {
	b = append(b, "# "...)
	b = append(b, escape.YAMLComment(prefix)...)
	b = append(b, escape.YAMLComment(text)...)
	return append(b, '\n')
}

// AppendTrailingComment appends line (without its line break) followed by
// " # <text>\n": a comment after a value on the same line.
func AppendTrailingComment(b, line []byte, text string) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	b = append(b, line...)
	b = append(b, " # "...)
	b = append(b, escape.YAMLComment(text)...)
	return append(b, '\n')
}

// Header appends the header every policy file starts with: the provenance
// comment lines, one "NOTE: " line per note, then generated (a constant
// line saying the file is written by flowfence).
func Header(b []byte, comment, notes []string, generated string) []byte {
	for _, c := range comment {
		b = AppendComment(b, "", c)
	}
	for _, n := range notes {
		b = AppendComment(b, "NOTE: ", n)
	}
	return AppendComment(b, "", generated)
}

// Marshal renders obj (named kind and name in errors) as YAML after
// Header(comment, notes, generated). annotate, when not nil, sees every
// line of the body in order (with its line break) and returns the text of
// a trailing comment for it, or false for none.
func Marshal(obj any, kind, name string, comment, notes []string, generated string, annotate func(line string) (string, bool)) ([]byte, error) {
	body, err := yaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("marshal %s %s: %w", kind, name, err)
	}
	b := Header(make([]byte, 0, len(body)+256), comment, notes, generated)
	if annotate == nil {
		return append(b, body...), nil
	}
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if text, ok := annotate(line); ok {
			b = AppendTrailingComment(b, []byte(line), text)
			continue
		}
		b = append(b, line...)
	}
	return b, nil
}

// EachNamedCIDR calls fn for every CIDR of p's peers (ingress, then egress)
// that carry the DNS names observed for them: the source of the DNS-name
// comments every flavor writes.
func EachNamedCIDR(p *policy.Policy, fn func(c policy.CIDR, names []string)) {
	for _, rs := range [][]policy.Rule{p.IngressRules, p.EgressRules} {
		for _, r := range rs {
			for _, pe := range r.Peers {
				if len(pe.Names) == 0 {
					continue
				}
				for _, c := range pe.CIDRs {
					fn(c, pe.Names)
				}
			}
		}
	}
}

// CIDRNames maps the CIDRs of p's peers to the DNS names observed for
// them ("a, b"), for the trailing comments; nil when there are none.
func CIDRNames(p *policy.Policy) map[string]string {
	var out map[string]string
	EachNamedCIDR(p, func(c policy.CIDR, names []string) {
		if out == nil {
			out = map[string]string{}
		}
		out[c.Prefix.String()] = strings.Join(names, ", ")
	})
	return out
}
