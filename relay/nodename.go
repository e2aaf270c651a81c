package relay

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Node name filters as Hubble reads them (its filters package): a pattern
// is CLUSTER/NODE or NODE (every cluster); each part is canonicalized
// (spaces around and one trailing dot trimmed, lower-cased) and is a glob
// of lower-case letters, digits, '-', '_' and '.' matched as they are and
// '*' matching any run of lower-case letters, digits, '-' and '.'; an
// empty part matches any name. A flow's node name without a cluster is compared
// as "default/NAME". A pattern outside this grammar fails the request.

// nodeNameAtom is a character of a name part; an empty part matches one
// or more dot-separated runs of them, and '*' any run of nodeNameStar.
const (
	nodeNameAtom = `[-_0-9a-z]`
	nodeNameStar = `[-.0-9a-z]*`
)

// compileNodeNames returns the regular expression of the patterns.
func compileNodeNames(patterns []string) (*regexp.Regexp, error) {
	var sb strings.Builder
	sb.WriteString(`\A(?:`)
	for i, p := range patterns {
		if i > 0 {
			sb.WriteByte('|')
		}
		if err := nodeNameRegexp(&sb, p); err != nil {
			return nil, fmt.Errorf("node_name pattern %q: %w", p, err)
		}
	}
	sb.WriteString(`)\z`)
	return regexp.Compile(sb.String())
}

func nodeNameRegexp(sb *strings.Builder, pattern string) error {
	if pattern == "" {
		return errors.New("empty pattern")
	}
	cluster, node, ok := strings.Cut(pattern, "/")
	if !ok {
		cluster, node = "", pattern
	} else if strings.Contains(node, "/") {
		return errors.New("more than one '/'")
	}
	for i, part := range []string{cluster, node} {
		if i == 1 {
			sb.WriteByte('/')
		}
		if part == "" {
			sb.WriteString(`(?:` + nodeNameAtom + `+(?:\.` + nodeNameAtom + `+)*)`)
			continue
		}
		part = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(part), "."))
		switch {
		case part == "":
			return errors.New("empty pattern")
		case strings.HasSuffix(part, "."):
			return errors.New("more than one trailing '.'")
		}
		for _, r := range part {
			switch {
			case r == '.':
				sb.WriteString(`\.`)
			case r == '*':
				sb.WriteString(nodeNameStar)
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z':
				sb.WriteRune(r)
			default:
				return fmt.Errorf("%q: invalid character", r)
			}
		}
	}
	return nil
}

// matchNodeName reports whether a flow's node name matches re (a name
// without a cluster is the default cluster's; an empty one never matches).
func matchNodeName(re *regexp.Regexp, node string) bool {
	if node == "" {
		return false
	}
	if !strings.Contains(node, "/") {
		node = "default/" + node
	}
	return re.MatchString(node)
}
