package cilium

import (
	"regexp"
	"strings"
)

// Cilium's validation patterns for FQDNSelector (pkg/policy/api/fqdn.go).
var (
	fqdnNameRE    = regexp.MustCompile(`^([-a-zA-Z0-9_]+[.]?)+$`)
	fqdnPatternRE = regexp.MustCompile(`^([-a-zA-Z0-9_*]+[.]?)+$`)
)

func validFQDN(n string) bool        { return len(n) <= 255 && fqdnNameRE.MatchString(n) }
func validFQDNPattern(p string) bool { return len(p) <= 255 && fqdnPatternRE.MatchString(p) }

// MatchPattern reports whether a Cilium matchPattern matches a DNS name:
// "*" alone matches every name; elsewhere "*" matches any run of the
// characters allowed in one label (never a dot), so "*.stripe.com" matches
// "api.stripe.com" but neither "stripe.com" nor "a.b.stripe.com". Case and
// a trailing dot are ignored.
func MatchPattern(pattern, name string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if pattern == "*" {
		return true
	}
	var re strings.Builder
	re.WriteString("^")
	for i, part := range strings.Split(pattern, "*") {
		if i > 0 {
			re.WriteString("[-a-z0-9_]*")
		}
		re.WriteString(regexp.QuoteMeta(part))
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), name)
	return ok
}
