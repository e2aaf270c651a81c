package calico

import (
	"fmt"
	"slices"
	"strings"
)

// expr is a compiled Calico selector expression over one label set.
type expr interface {
	eval(l labelSet) bool
}

// labelSet is what a selector sees: an endpoint's or a namespace's labels.
type labelSet interface {
	get(key string) (string, bool)
	// global is true for objects without a namespace (host endpoints,
	// global network sets); pods are not
	global() bool
}

type (
	allExpr    struct{}
	globalExpr struct{}
	hasExpr    struct{ key string }
	notExpr    struct{ x expr }
	andExpr    struct{ a, b expr }
	orExpr     struct{ a, b expr }
	cmpExpr    struct {
		key, op string
		values  []string
	}
)

func (allExpr) eval(labelSet) bool      { return true }
func (globalExpr) eval(l labelSet) bool { return l.global() }
func (e hasExpr) eval(l labelSet) bool {
	_, ok := l.get(e.key)
	return ok
}
func (e notExpr) eval(l labelSet) bool { return !e.x.eval(l) }
func (e andExpr) eval(l labelSet) bool { return e.a.eval(l) && e.b.eval(l) }
func (e orExpr) eval(l labelSet) bool  { return e.a.eval(l) || e.b.eval(l) }
func (e cmpExpr) eval(l labelSet) bool {
	v, ok := l.get(e.key)
	switch e.op {
	case "==":
		return ok && v == e.values[0]
	case "!=":
		return !ok || v != e.values[0]
	case "in":
		return ok && slices.Contains(e.values, v)
	case "not in":
		return !ok || !slices.Contains(e.values, v)
	case "contains":
		return ok && strings.Contains(v, e.values[0])
	case "starts with":
		return ok && strings.HasPrefix(v, e.values[0])
	case "ends with":
		return ok && strings.HasSuffix(v, e.values[0])
	}
	return false
}

// parseSelector parses Calico's selector language: all(), global(),
// has(k), k == 'v', k != 'v', k in {'a','b'}, k not in {…}, k contains,
// starts with, ends with 'v', !, &&, || and parentheses. An empty
// selector is all().
func parseSelector(s string) (expr, error) {
	p := &parser{src: s}
	p.skip()
	if p.pos == len(p.src) {
		return allExpr{}, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("selector %q: %w", s, err)
	}
	p.skip()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("selector %q: unexpected %q at offset %d", s, p.src[p.pos:], p.pos)
	}
	return e, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) skip() {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\r\n", rune(p.src[p.pos])) {
		p.pos++
	}
}

// accept consumes tok (after spaces) when it comes next.
func (p *parser) accept(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// acceptWord consumes a keyword followed by a non-key character.
func (p *parser) acceptWord(w string) bool {
	p.skip()
	rest := p.src[p.pos:]
	if !strings.HasPrefix(rest, w) || len(rest) > len(w) && isKeyChar(rest[len(w)]) {
		return false
	}
	p.pos += len(w)
	return true
}

func (p *parser) or() (expr, error) {
	return p.binary("||", p.and, func(a, b expr) expr { return orExpr{a, b} })
}

func (p *parser) and() (expr, error) {
	return p.binary("&&", p.unary, func(a, b expr) expr { return andExpr{a, b} })
}

// binary parses operand (op operand)*, joined from the left.
func (p *parser) binary(op string, operand func() (expr, error), join func(a, b expr) expr) (expr, error) {
	a, err := operand()
	if err != nil {
		return nil, err
	}
	for p.accept(op) {
		b, err := operand()
		if err != nil {
			return nil, err
		}
		a = join(a, b)
	}
	return a, nil
}

func (p *parser) unary() (expr, error) {
	switch {
	case p.accept("!") && !strings.HasPrefix(p.src[p.pos:], "="):
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	case p.accept("("):
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, fmt.Errorf("missing ) at offset %d", p.pos)
		}
		return x, nil
	case p.accept("all()"):
		return allExpr{}, nil
	case p.accept("global()"):
		return globalExpr{}, nil
	case p.accept("has("):
		k := p.key()
		if k == "" || !p.accept(")") {
			return nil, fmt.Errorf("has( needs a label key and ) at offset %d", p.pos)
		}
		return hasExpr{k}, nil
	}
	k := p.key()
	if k == "" {
		return nil, fmt.Errorf("expected a label key, all(), has(…), ! or ( at offset %d", p.pos)
	}
	switch {
	case p.accept("=="):
		return p.single(k, "==")
	case p.accept("!="):
		return p.single(k, "!=")
	case p.acceptWord("in"):
		return p.set(k, "in")
	case p.acceptWord("not"):
		if !p.acceptWord("in") {
			return nil, fmt.Errorf("expected 'in' after 'not' at offset %d", p.pos)
		}
		return p.set(k, "not in")
	case p.acceptWord("contains"):
		return p.single(k, "contains")
	case p.acceptWord("starts"):
		if !p.acceptWord("with") {
			return nil, fmt.Errorf("expected 'with' at offset %d", p.pos)
		}
		return p.single(k, "starts with")
	case p.acceptWord("ends"):
		if !p.acceptWord("with") {
			return nil, fmt.Errorf("expected 'with' at offset %d", p.pos)
		}
		return p.single(k, "ends with")
	}
	return nil, fmt.Errorf("expected an operator after %q at offset %d", k, p.pos)
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_./-", c) >= 0
}

func (p *parser) key() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.src) && isKeyChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) str() (string, error) {
	p.skip()
	if p.pos >= len(p.src) || p.src[p.pos] != '\'' && p.src[p.pos] != '"' {
		return "", fmt.Errorf("expected a quoted value at offset %d", p.pos)
	}
	q := p.src[p.pos]
	end := strings.IndexByte(p.src[p.pos+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at offset %d", p.pos)
	}
	v := p.src[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, nil
}

func (p *parser) single(k, op string) (expr, error) {
	v, err := p.str()
	if err != nil {
		return nil, err
	}
	return cmpExpr{key: k, op: op, values: []string{v}}, nil
}

func (p *parser) set(k, op string) (expr, error) {
	if !p.accept("{") {
		return nil, fmt.Errorf("expected { at offset %d", p.pos)
	}
	var vals []string
	if !p.accept("}") {
		for {
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.accept("}") {
				break
			}
			if !p.accept(",") {
				return nil, fmt.Errorf("expected , or } at offset %d", p.pos)
			}
		}
	}
	return cmpExpr{key: k, op: op, values: vals}, nil
}
