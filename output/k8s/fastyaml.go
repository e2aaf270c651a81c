package k8s

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	goyaml "go.yaml.in/yaml/v2"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/internal/parallel"
)

// marshalYAML is sigs.k8s.io/yaml.Marshal, byte for byte, without its
// slowest step: that marshals obj to JSON, parses the JSON back with the
// YAML parser (to type numbers as int, not float64) and marshals the
// result as YAML. Here the JSON is parsed by encoding/json with UseNumber
// and the numbers typed as the YAML parser would: an integer that fits an
// int is an int. Anything else (a fraction, an exponent, a huge integer)
// takes sigs.k8s.io/yaml itself.
func marshalYAML(obj any) ([]byte, error) {
	if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
		if b, ok := emitPolicy(make([]byte, 0, sizeHint(np)), np); ok {
			return b, nil
		}
	}
	j, err := json.Marshal(obj)
	if err != nil {
		return yaml.Marshal(obj) // its error, worded as it words it
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return yaml.Marshal(obj)
	}
	if !typeNumbers(&v) {
		return yaml.Marshal(obj)
	}
	if b, ok := emitYAML(v); ok {
		return b, nil
	}
	return goyaml.Marshal(v)
}

// typeNumbers replaces every json.Number in v by the int the YAML parser
// would have made of it; false when one is not a plain int.
func typeNumbers(v *any) bool {
	switch x := (*v).(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil || int64(int(n)) != n || strconv.FormatInt(n, 10) != string(x) {
			return false
		}
		*v = int(n)
	case map[string]any:
		for k, e := range x {
			if !typeNumbers(&e) {
				return false
			}
			x[k] = e
		}
	case []any:
		for i := range x {
			if !typeNumbers(&x[i]) {
				return false
			}
		}
	}
	return true
}

// runAll runs f(0..n-1) on all cores and returns the error of the
// lowest index that failed (what a sequential loop stopping at the first
// error would return).
func runAll(n int, f func(i int) error) error {
	if min(runtime.GOMAXPROCS(0), n) <= 1 {
		for i := 0; i < n; i++ {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	parallel.For(n, func(i int) { errs[i] = f(i) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// --- emitter: yaml.v2's block style for the values marshalYAML makes ---

// emitYAML writes v (maps, slices, strings, ints, bools, nil from JSON) as
// go.yaml.in/yaml/v2 Marshal writes it — block style, 2-space indent,
// sequences not indented under their key, keys in yaml.v2's order — or
// returns ok=false for anything it does not reproduce exactly (a string
// yaml.v2 would quote or fold, a long or odd key, a nested sequence), for
// the caller to hand to yaml.v2.
func emitYAML(v any) ([]byte, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if len(m) == 0 {
		return []byte("{}\n"), true
	}
	e := emitter{b: make([]byte, 0, 1024)}
	if !e.mapping(m, 0, false) {
		return nil, false
	}
	return e.b, true
}

type emitter struct{ b []byte }

func (e *emitter) indent(n int) {
	for i := 0; i < n; i++ {
		e.b = append(e.b, ' ')
	}
}

// mapping writes m's keys at column col; inline means the first key
// follows a "- " already written.
func (e *emitter) mapping(m map[string]any, col int, inline bool) bool {
	keys, ok := plainKeys(m, make([]string, 0, len(m)))
	if !ok {
		return false
	}
	for i, k := range keys {
		if i > 0 || !inline {
			e.indent(col)
		}
		e.b = append(e.b, k...)
		e.b = append(e.b, ':')
		switch x := m[k].(type) {
		case map[string]any:
			if len(x) == 0 {
				e.b = append(e.b, " {}\n"...)
				continue
			}
			e.b = append(e.b, '\n')
			if !e.mapping(x, col+2, false) {
				return false
			}
		case []any:
			if len(x) == 0 {
				e.b = append(e.b, " []\n"...)
				continue
			}
			e.b = append(e.b, '\n')
			if !e.sequence(x, col) {
				return false
			}
		default:
			e.b = append(e.b, ' ')
			if !e.scalar(x) {
				return false
			}
			e.b = append(e.b, '\n')
		}
	}
	return true
}

func (e *emitter) sequence(s []any, col int) bool {
	for _, item := range s {
		e.indent(col)
		e.b = append(e.b, "- "...)
		switch x := item.(type) {
		case map[string]any:
			if len(x) == 0 {
				e.b = append(e.b, "{}\n"...)
				continue
			}
			if !e.mapping(x, col+2, true) {
				return false
			}
		case []any:
			return false
		default:
			if !e.scalar(x) {
				return false
			}
			e.b = append(e.b, '\n')
		}
	}
	return true
}

func (e *emitter) scalar(v any) bool {
	switch x := v.(type) {
	case string:
		if !plainSafe(x) {
			return false
		}
		e.b = append(e.b, x...)
	case int:
		e.b = strconv.AppendInt(e.b, int64(x), 10)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case nil:
		e.b = append(e.b, "null"...)
	default:
		return false
	}
	return true
}

// plainSafe reports strings yaml.v2 certainly writes plain and reads back
// as the same string: a letter then letters, digits and . _ / - (not one
// of YAML 1.1's boolean or null words), or an IPv4 CIDR.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-') {
				return false
			}
		}
		switch s {
		case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
			"false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL":
			return false
		}
		return true
	}
	return isIPv4CIDR(s)
}

// isIPv4CIDR matches d.d.d.d/n (1-3 digits each, 1-2 for n).
func isIPv4CIDR(s string) bool {
	part, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
			if digits > 3 || part == 4 && digits > 2 {
				return false
			}
		case c == '.' && part < 3 && digits > 0:
			part, digits = part+1, 0
		case c == '/' && part == 3 && digits > 0:
			part, digits = 4, 0
		default:
			return false
		}
	}
	return part == 4 && digits > 0
}

// sortKeys orders keys as yaml.v2's keyList does for string keys: runes
// compared one by one, letters before other runes, runs of digits compared
// as numbers.
// plainKeys appends m's keys to keys in yaml.v2's order; false when one
// is longer than 128 bytes or not plain-safe (the emitters write only
// plain keys, and yaml.v2 writes a longer one as "? key").
func plainKeys[V any](m map[string]V, keys []string) ([]string, bool) {
	for k := range m {
		if len(k) > 128 || !plainSafe(k) {
			return nil, false
		}
		keys = append(keys, k)
	}
	sortKeys(keys)
	return keys, true
}

func sortKeys(keys []string) {
	slices.SortFunc(keys, func(a, b string) int {
		if yamlKeyLess(a, b) {
			return -1
		}
		if yamlKeyLess(b, a) {
			return 1
		}
		return 0
	})
}

func yamlKeyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

// --- reader: the same subset, read back ---

// unmarshalStrict is sigs.k8s.io/yaml.UnmarshalStrict into a
// NetworkPolicy, reading the block YAML emitYAML writes (plain strings,
// ints, booleans, null, {}, [], full-line and trailing comments) with a
// small reader instead of the YAML parser; any other input, and any input
// the fast path cannot decode, goes to sigs.k8s.io/yaml itself, so results
// and errors are its own.
func unmarshalStrict(doc []byte, np *networkingv1.NetworkPolicy) error {
	var fresh networkingv1.NetworkPolicy
	if readPolicy(doc, &fresh) {
		*np = fresh
		return nil
	}
	if v, ok := readYAML(doc); ok {
		if j, err := json.Marshal(v); err == nil {
			d := json.NewDecoder(bytes.NewReader(j))
			d.DisallowUnknownFields()
			fresh = networkingv1.NetworkPolicy{}
			if d.Decode(&fresh) == nil {
				*np = fresh
				return nil
			}
		}
	}
	return yaml.UnmarshalStrict(doc, np)
}

type yline struct {
	indent  int
	content string
}

// readYAML parses doc; ok is false for anything outside the subset.
func readYAML(doc []byte) (any, bool) {
	lines, ok := yamlLines(string(doc))
	if !ok {
		return nil, false
	}
	r := yreader{lines: lines}
	m, ok := r.mapping(0)
	if !ok || r.i != len(lines) {
		return nil, false
	}
	return m, true
}

// yamlLines splits doc into its lines with content (not blank, not a
// comment), or returns false for a tab or carriage return anywhere or a
// document that does not start with a key at column 0.
func yamlLines(doc string) ([]yline, bool) {
	lines := make([]yline, 0, strings.Count(doc, "\n")+1)
	for len(doc) > 0 {
		raw, rest, _ := strings.Cut(doc, "\n")
		doc = rest
		if strings.ContainsAny(raw, "\t\r") || !yamlPrintable(raw) {
			return nil, false
		}
		content := strings.TrimLeft(raw, " ")
		if content == "" || content[0] == '#' {
			continue
		}
		lines = append(lines, yline{indent: len(raw) - len(content), content: content})
	}
	if len(lines) == 0 || lines[0].indent != 0 || strings.HasPrefix(lines[0].content, "- ") {
		return nil, false
	}
	return lines, true
}

// yamlPrintable reports whether the YAML parser accepts every character
// of the line: it refuses control characters, DEL, a byte-order mark and
// invalid UTF-8 anywhere in a document, comments included.
func yamlPrintable(line string) bool {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return false
		} else if c >= 0x80 {
			for _, r := range line[i:] {
				if r < 0x80 {
					if r < 0x20 || r == 0x7f {
						return false
					}
					continue
				}
				if r == utf8.RuneError || r == 0xfeff || !(r == 0x85 || r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000) {
					return false
				}
			}
			return true
		}
	}
	return true
}

type yreader struct {
	lines []yline
	i     int
}

// mapping reads the keys at column col.
func (r *yreader) mapping(col int) (map[string]any, bool) {
	m := map[string]any{}
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		if l.indent < col || (l.indent == col && strings.HasPrefix(l.content, "- ")) {
			break
		}
		if l.indent != col {
			return nil, false
		}
		key, rest, found := strings.Cut(l.content, ":")
		if !found || !plainSafe(key) || len(key) > 128 {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		r.i++
		if rest == "" {
			// a nested block: a mapping two columns in, or a sequence at col
			if r.i >= len(r.lines) {
				return nil, false
			}
			next := r.lines[r.i]
			switch {
			case next.indent == col && strings.HasPrefix(next.content, "- "):
				s, ok := r.sequence(col)
				if !ok {
					return nil, false
				}
				m[key] = s
			case next.indent == col+2 && !strings.HasPrefix(next.content, "- "):
				v, ok := r.mapping(col + 2)
				if !ok {
					return nil, false
				}
				m[key] = v
			default:
				return nil, false
			}
			continue
		}
		if rest[0] != ' ' {
			return nil, false
		}
		v, ok := yscalar(rest[1:])
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	return m, true
}

// sequence reads the "- " items at column col.
func (r *yreader) sequence(col int) ([]any, bool) {
	var s []any
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		if l.indent != col || !strings.HasPrefix(l.content, "- ") {
			if l.indent > col {
				return nil, false
			}
			break
		}
		item := l.content[2:]
		if k, _, found := strings.Cut(item, ":"); found && plainSafe(k) {
			// a mapping whose first key follows the dash
			r.lines[r.i] = yline{indent: col + 2, content: item}
			m, ok := r.mapping(col + 2)
			if !ok {
				return nil, false
			}
			s = append(s, m)
			continue
		}
		v, ok := yscalar(item)
		if !ok {
			return nil, false
		}
		s = append(s, v)
		r.i++
	}
	return s, true
}

// yscalar reads a value written on the key's line, and an optional
// trailing comment.
func yscalar(s string) (any, bool) {
	tok, ok := scalarToken(s)
	if !ok {
		return nil, false
	}
	switch tok {
	case "{}":
		return map[string]any{}, true
	case "[]":
		return []any{}, true
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	}
	if plainSafe(tok) {
		return tok, true
	}
	n, ok := yint(tok)
	if !ok {
		return nil, false
	}
	return n, true
}

// scalarToken is a value written on the key's line without its optional
// trailing comment.
func scalarToken(s string) (string, bool) {
	tok, comment, _ := strings.Cut(s, " ")
	if comment = strings.TrimLeft(comment, " "); comment != "" && comment[0] != '#' {
		return "", false
	}
	return tok, true
}

// yint reads a decimal int, as YAML reads it (no sign but '-', no leading
// zero).
func yint(tok string) (int, bool) {
	digits := strings.TrimPrefix(tok, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || (digits == "0" && tok != "0") {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || int64(int(n)) != n {
		return 0, false
	}
	return int(n), true
}
