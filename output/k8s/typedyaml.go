package k8s

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The typed fast paths: a NetworkPolicy written as YAML and read back
// without the JSON round trip marshalYAML and unmarshalStrict make through
// a generic tree. They cover the fields NetworkPolicy has (fieldsCovered
// in the tests pins them to k8s.io/api) and only the values emitYAML and
// readYAML take; anything else (a field outside them, a string YAML would
// quote, a number JSON would not type the same) returns ok=false for the
// caller to take the generic path, so results and errors stay those of
// sigs.k8s.io/yaml.

// emitPolicy writes np as marshalYAML (so sigs.k8s.io/yaml.Marshal) writes
// it, walking the struct instead of its JSON. Keys come in yaml.v2's order
// (fixed for the struct's own keys, sortKeys for label maps); the JSON
// encoding decides which fields appear (omitempty: empty strings, slices,
// maps and nil pointers are left out; structs always appear).
//
// The YAML is appended to b.
func emitPolicy(b []byte, np *networkingv1.NetworkPolicy) ([]byte, bool) {
	if !onlyNameNamespaceLabels(&np.ObjectMeta) {
		return nil, false
	}
	e := emitter{b: b}
	if np.APIVersion != "" && !e.keyString(0, "apiVersion", np.APIVersion) {
		return nil, false
	}
	if np.Kind != "" && !e.keyString(0, "kind", np.Kind) {
		return nil, false
	}
	// metadata: labels, name, namespace
	m := &np.ObjectMeta
	if len(m.Labels) == 0 && m.Name == "" && m.Namespace == "" {
		e.b = append(e.b, "metadata: {}\n"...)
	} else {
		e.b = append(e.b, "metadata:\n"...)
		if len(m.Labels) > 0 && !e.keyStringMap(2, "labels", m.Labels) {
			return nil, false
		}
		if m.Name != "" && !e.keyString(2, "name", m.Name) {
			return nil, false
		}
		if m.Namespace != "" && !e.keyString(2, "namespace", m.Namespace) {
			return nil, false
		}
	}
	// spec: egress, ingress, podSelector, policyTypes
	s := &np.Spec
	e.b = append(e.b, "spec:\n"...)
	if len(s.Egress) > 0 {
		e.b = append(e.b, "  egress:\n"...)
		for i := range s.Egress {
			if !e.rule(2, s.Egress[i].Ports, "to", s.Egress[i].To) {
				return nil, false
			}
		}
	}
	if len(s.Ingress) > 0 {
		e.b = append(e.b, "  ingress:\n"...)
		for i := range s.Ingress {
			if !e.rule(2, s.Ingress[i].Ports, "from", s.Ingress[i].From) {
				return nil, false
			}
		}
	}
	if !e.keySelector(2, "podSelector", &s.PodSelector, false) {
		return nil, false
	}
	if len(s.PolicyTypes) > 0 {
		e.b = append(e.b, "  policyTypes:\n"...)
		for _, t := range s.PolicyTypes {
			e.indent(2)
			e.b = append(e.b, "- "...)
			if !e.str(string(t)) {
				return nil, false
			}
			e.b = append(e.b, '\n')
		}
	}
	return e.b, true
}

// onlyNameNamespaceLabels reports object meta with no field set but
// those three (the only ones the typed paths write and read).
func onlyNameNamespaceLabels(m *metav1.ObjectMeta) bool {
	return m.GenerateName == "" && m.SelfLink == "" && m.UID == "" && m.ResourceVersion == "" && m.Generation == 0 &&
		m.CreationTimestamp.IsZero() && m.DeletionTimestamp == nil && m.DeletionGracePeriodSeconds == nil &&
		m.Annotations == nil && m.OwnerReferences == nil && m.Finalizers == nil && m.ManagedFields == nil
}

// str writes a string scalar, if yaml.v2 writes it plain.
func (e *emitter) str(s string) bool {
	if !plainSafe(s) {
		return false
	}
	e.b = append(e.b, s...)
	return true
}

// keyString writes "key: value" at column col.
func (e *emitter) keyString(col int, key, v string) bool {
	e.indent(col)
	e.b = append(e.b, key...)
	e.b = append(e.b, ": "...)
	if !e.str(v) {
		return false
	}
	e.b = append(e.b, '\n')
	return true
}

// keyStringMap writes a non-empty map[string]string under key at column
// col, its keys in yaml.v2's order.
func (e *emitter) keyStringMap(col int, key string, m map[string]string) bool {
	e.indent(col)
	e.b = append(e.b, key...)
	e.b = append(e.b, ":\n"...)
	var buf [8]string
	keys, ok := plainKeys(m, buf[:0])
	if !ok {
		return false
	}
	for _, k := range keys {
		if !e.keyString(col+2, k, m[k]) {
			return false
		}
	}
	return true
}

// keySelector writes a label selector under key at column col; inline
// means the key follows a "- " already written.
func (e *emitter) keySelector(col int, key string, ls *metav1.LabelSelector, inline bool) bool {
	if len(ls.MatchExpressions) > 0 {
		return false
	}
	if !inline {
		e.indent(col)
	}
	e.b = append(e.b, key...)
	if len(ls.MatchLabels) == 0 {
		e.b = append(e.b, ": {}\n"...)
		return true
	}
	e.b = append(e.b, ":\n"...)
	return e.keyStringMap(col+2, "matchLabels", ls.MatchLabels)
}

// rule writes one ingress (peers under "from") or egress ("to") rule as a
// sequence item at column col: keys from, ports, to.
func (e *emitter) rule(col int, ports []networkingv1.NetworkPolicyPort, peersKey string, peers []networkingv1.NetworkPolicyPeer) bool {
	e.indent(col)
	e.b = append(e.b, "- "...)
	if len(ports) == 0 && len(peers) == 0 {
		e.b = append(e.b, "{}\n"...)
		return true
	}
	inline := true
	writePeers := func() bool {
		if !inline {
			e.indent(col + 2)
		}
		inline = false
		e.b = append(e.b, peersKey...)
		e.b = append(e.b, ":\n"...)
		for i := range peers {
			if !e.peer(col+2, &peers[i]) {
				return false
			}
		}
		return true
	}
	if peersKey == "from" && len(peers) > 0 && !writePeers() {
		return false
	}
	if len(ports) > 0 {
		if !inline {
			e.indent(col + 2)
		}
		inline = false
		e.b = append(e.b, "ports:\n"...)
		for i := range ports {
			if !e.port(col+2, &ports[i]) {
				return false
			}
		}
	}
	if peersKey != "from" && len(peers) > 0 && !writePeers() {
		return false
	}
	return true
}

// item starts a sequence item at column col. An empty one is written
// whole, as an empty mapping ("- {}"), and item returns false: there are
// no keys to follow.
func (e *emitter) item(col int, empty bool) bool {
	e.indent(col)
	e.b = append(e.b, "- "...)
	if empty {
		e.b = append(e.b, "{}\n"...)
	}
	return !empty
}

// port writes a port entry as a sequence item: keys endPort, port,
// protocol.
func (e *emitter) port(col int, p *networkingv1.NetworkPolicyPort) bool {
	if !e.item(col, p.EndPort == nil && p.Port == nil && p.Protocol == nil) {
		return true
	}
	inline := true
	key := func(k string) {
		if !inline {
			e.indent(col + 2)
		}
		inline = false
		e.b = append(e.b, k...)
		e.b = append(e.b, ": "...)
	}
	if p.EndPort != nil {
		key("endPort")
		e.b = strconv.AppendInt(e.b, int64(*p.EndPort), 10)
		e.b = append(e.b, '\n')
	}
	if p.Port != nil {
		key("port")
		switch p.Port.Type {
		case intstr.Int:
			e.b = strconv.AppendInt(e.b, int64(p.Port.IntVal), 10)
		case intstr.String:
			if !e.str(p.Port.StrVal) {
				return false
			}
		default:
			return false // IntOrString's own MarshalJSON error
		}
		e.b = append(e.b, '\n')
	}
	if p.Protocol != nil {
		key("protocol")
		if !e.str(string(*p.Protocol)) {
			return false
		}
		e.b = append(e.b, '\n')
	}
	return true
}

// peer writes a peer as a sequence item: keys ipBlock,
// namespaceSelector, podSelector.
func (e *emitter) peer(col int, p *networkingv1.NetworkPolicyPeer) bool {
	if !e.item(col, p.IPBlock == nil && p.NamespaceSelector == nil && p.PodSelector == nil) {
		return true
	}
	inline := true
	if ib := p.IPBlock; ib != nil {
		inline = false
		e.b = append(e.b, "ipBlock:\n"...)
		if !e.keyString(col+4, "cidr", ib.CIDR) {
			return false
		}
		if len(ib.Except) > 0 {
			e.indent(col + 4)
			e.b = append(e.b, "except:\n"...)
			for _, x := range ib.Except {
				e.indent(col + 4)
				e.b = append(e.b, "- "...)
				if !e.str(x) {
					return false
				}
				e.b = append(e.b, '\n')
			}
		}
	}
	if p.NamespaceSelector != nil {
		if !e.keySelector(col+2, "namespaceSelector", p.NamespaceSelector, inline) {
			return false
		}
		inline = false
	}
	if p.PodSelector != nil && !e.keySelector(col+2, "podSelector", p.PodSelector, inline) {
		return false
	}
	return true
}

// --- reading: the same subset, straight into the struct ---

// readPolicy decodes doc as sigs.k8s.io/yaml.UnmarshalStrict would into a
// zero np, reading the lines as readYAML reads them (the same subset, the
// same structure) but filling the struct as encoding/json fills it from
// that tree: `{}` and `[]` make empty maps and slices, an object makes the
// pointer it fills. It returns false for anything it does not decode
// exactly that way: a key not spelled as the field's JSON name
// (encoding/json would match it case-insensitively, or reject it as
// unknown), a field outside NetworkPolicy's own, null, a number or boolean
// where a string belongs (sigs.k8s.io/yaml would turn it into a string),
// an int that does not fit, anything readYAML does not read.
func readPolicy(doc []byte, np *networkingv1.NetworkPolicy) bool {
	lines, ok := yamlLines(string(doc))
	if !ok {
		return false
	}
	p := &preader{lines: lines}
	return p.mapping(0, func(key, val string, col int) bool {
		switch key {
		case "apiVersion":
			np.APIVersion, ok = p.str(val)
		case "kind":
			np.Kind, ok = p.str(val)
		case "metadata":
			ok = p.object(val, col, func(key, val string, col int) bool {
				switch key {
				case "name":
					np.Name, ok = p.str(val)
				case "namespace":
					np.Namespace, ok = p.str(val)
				case "labels":
					np.Labels, ok = p.stringMap(val, col)
				default:
					return false
				}
				return ok
			})
		case "spec":
			ok = p.object(val, col, func(key, val string, col int) bool { return p.spec(&np.Spec, key, val, col) })
		default:
			return false
		}
		return ok
	}) && p.i == len(lines)
}

// preader reads typed values from the lines of one document.
type preader struct {
	lines []yline
	i     int
}

// mapping calls f for each key of the block mapping at column col, with
// the text after "key: " (empty when the value is a block on the next
// lines, which f must read with object, stringMap or list at col), as
// yreader.mapping reads it. Duplicate keys are refused.
func (p *preader) mapping(col int, f func(key, val string, col int) bool) bool {
	seen := make([]string, 0, 8)
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < col || (l.indent == col && strings.HasPrefix(l.content, "- ")) {
			break
		}
		if l.indent != col {
			return false
		}
		key, rest, found := strings.Cut(l.content, ":")
		if !found || !plainSafe(key) || len(key) > 128 || slices.Contains(seen, key) {
			return false
		}
		seen = append(seen, key)
		p.i++
		if rest != "" {
			if rest[0] != ' ' {
				return false
			}
			rest = rest[1:]
			if rest == "" {
				return false // "key: " with nothing after: not written by emitYAML
			}
		}
		if !f(key, rest, col) {
			return false
		}
	}
	return true
}

// block reports how the value of a key at column col continues: a
// mapping two columns in, a sequence at col, or neither.
func (p *preader) block(col int) (mapping, sequence bool) {
	if p.i >= len(p.lines) {
		return false, false
	}
	next := p.lines[p.i]
	dash := strings.HasPrefix(next.content, "- ")
	return next.indent == col+2 && !dash, next.indent == col && dash
}

// object reads a mapping value of a key at column col: `{}` or a block
// mapping; f gets its keys.
func (p *preader) object(val string, col int, f func(key, val string, col int) bool) bool {
	if val != "" {
		tok, ok := scalarToken(val)
		return ok && tok == "{}"
	}
	if m, _ := p.block(col); !m {
		return false
	}
	return p.mapping(col+2, f)
}

// str reads a string value written on the key's line.
func (p *preader) str(val string) (string, bool) {
	tok, ok := scalarToken(val)
	if !ok || !plainSafe(tok) {
		return "", false
	}
	return tok, true
}

// int32 reads an int value encoding/json decodes into an int32.
func (p *preader) int32(val string) (int32, bool) {
	tok, ok := scalarToken(val)
	if !ok {
		return 0, false
	}
	n, ok := yint(tok)
	if !ok || int(int32(n)) != n {
		return 0, false
	}
	return int32(n), true
}

// stringMap reads a map[string]string value.
func (p *preader) stringMap(val string, col int) (map[string]string, bool) {
	out := map[string]string{}
	ok := p.object(val, col, func(key, val string, col int) bool {
		s, ok := p.str(val)
		out[key] = s
		return ok
	})
	return out, ok
}

// list reads a sequence value of a key at column col: `[]` or a block
// sequence; item gets each item, a mapping (item reads its keys with
// mapping at the column given) or a scalar (val).
func (p *preader) list(val string, col int, item func(val string, col int) bool) bool {
	if val != "" {
		tok, ok := scalarToken(val)
		return ok && tok == "[]"
	}
	if _, s := p.block(col); !s {
		return false
	}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent != col || !strings.HasPrefix(l.content, "- ") {
			if l.indent > col {
				return false
			}
			break
		}
		it := l.content[2:]
		if k, _, found := strings.Cut(it, ":"); found && plainSafe(k) {
			// a mapping whose first key follows the dash
			p.lines[p.i] = yline{indent: col + 2, content: it}
			if !item("", col+2) {
				return false
			}
			continue
		}
		p.i++
		if !item(it, col+2) {
			return false
		}
	}
	return true
}

// listOf reads a sequence value (list) into *out, made empty first (an
// empty list, not nil, as the API decoder gives for `[]`); item reads one
// element into a zero T, appended even when item fails.
func listOf[T any](p *preader, val string, col int, out *[]T, item func(it *T, val string, col int) bool) bool {
	*out = []T{}
	return p.list(val, col, func(val string, col int) bool {
		var it T
		ok := item(&it, val, col)
		*out = append(*out, it)
		return ok
	})
}

// structItem reads a sequence item that is a struct: a mapping (at col)
// or `{}`.
func (p *preader) structItem(val string, col int, f func(key, val string, col int) bool) bool {
	if val != "" {
		tok, ok := scalarToken(val)
		return ok && tok == "{}"
	}
	return p.mapping(col, f)
}

func (p *preader) selector(val string, col int) (*metav1.LabelSelector, bool) {
	ls := &metav1.LabelSelector{}
	ok := p.object(val, col, func(key, val string, col int) bool {
		if key != "matchLabels" {
			return false
		}
		var ok bool
		ls.MatchLabels, ok = p.stringMap(val, col)
		return ok
	})
	return ls, ok
}

func (p *preader) spec(s *networkingv1.NetworkPolicySpec, key, val string, col int) bool {
	ok := false
	switch key {
	case "podSelector":
		var ls *metav1.LabelSelector
		if ls, ok = p.selector(val, col); ok {
			s.PodSelector = *ls
		}
	case "policyTypes":
		ok = listOf(p, val, col, &s.PolicyTypes, func(t *networkingv1.PolicyType, val string, _ int) bool {
			v, ok := p.str(val)
			*t = networkingv1.PolicyType(v)
			return ok
		})
	case "ingress":
		ok = listOf(p, val, col, &s.Ingress, func(r *networkingv1.NetworkPolicyIngressRule, val string, col int) bool {
			return p.rule(val, col, "from", &r.Ports, &r.From)
		})
	case "egress":
		ok = listOf(p, val, col, &s.Egress, func(r *networkingv1.NetworkPolicyEgressRule, val string, col int) bool {
			return p.rule(val, col, "to", &r.Ports, &r.To)
		})
	}
	return ok
}

func (p *preader) rule(val string, col int, peersKey string, ports *[]networkingv1.NetworkPolicyPort, peers *[]networkingv1.NetworkPolicyPeer) bool {
	return p.structItem(val, col, func(key, val string, col int) bool {
		switch key {
		case "ports":
			return listOf(p, val, col, ports, func(pt *networkingv1.NetworkPolicyPort, val string, col int) bool {
				return p.structItem(val, col, func(key, val string, _ int) bool { return p.port(pt, key, val) })
			})
		case peersKey:
			return listOf(p, val, col, peers, func(pe *networkingv1.NetworkPolicyPeer, val string, col int) bool {
				return p.structItem(val, col, func(key, val string, col int) bool { return p.peer(pe, key, val, col) })
			})
		}
		return false
	})
}

func (p *preader) port(pt *networkingv1.NetworkPolicyPort, key, val string) bool {
	switch key {
	case "protocol":
		s, ok := p.str(val)
		proto := corev1.Protocol(s)
		pt.Protocol = &proto
		return ok
	case "port":
		// IntOrString.UnmarshalJSON: a JSON string is a name, anything
		// else an int32
		if s, ok := p.str(val); ok {
			pt.Port = &intstr.IntOrString{Type: intstr.String, StrVal: s}
			return true
		}
		n, ok := p.int32(val)
		pt.Port = &intstr.IntOrString{Type: intstr.Int, IntVal: n}
		return ok
	case "endPort":
		n, ok := p.int32(val)
		pt.EndPort = &n
		return ok
	}
	return false
}

func (p *preader) peer(pe *networkingv1.NetworkPolicyPeer, key, val string, col int) bool {
	ok := false
	switch key {
	case "podSelector":
		pe.PodSelector, ok = p.selector(val, col)
	case "namespaceSelector":
		pe.NamespaceSelector, ok = p.selector(val, col)
	case "ipBlock":
		ib := &networkingv1.IPBlock{}
		pe.IPBlock = ib
		ok = p.object(val, col, func(key, val string, col int) bool {
			ok := false
			switch key {
			case "cidr":
				ib.CIDR, ok = p.str(val)
			case "except":
				ok = listOf(p, val, col, &ib.Except, func(s *string, val string, _ int) bool {
					var ok bool
					*s, ok = p.str(val)
					return ok
				})
			}
			return ok
		})
	}
	return ok
}
