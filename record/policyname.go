package record

import (
	"strings"

	"github.com/flowfence/flowfence/internal/k8svalid"
)

// ValidPolicyName reports whether s is a network policy name as flow
// records carry it: an optional `namespace/` (a DNS-1123 label), an
// optional `staged:` marker (Calico staged policies), then a DNS-1123
// subdomain (Calico's `tier.name`, Kubernetes' `knp.default.name`, a
// NetworkPolicy or CiliumNetworkPolicy name). Anything else (control
// characters, spaces, markup, YAML syntax) is not a policy's name: readers
// drop it rather than carry it to a report.
func ValidPolicyName(s string) bool {
	if ns, rest, ok := strings.Cut(s, "/"); ok {
		if !k8svalid.DNS1123Label(ns) {
			return false
		}
		s = rest
	}
	s = strings.TrimPrefix(s, "staged:")
	return k8svalid.DNS1123Subdomain(s)
}

// PolicyName is the name a record carries for policy name in namespace ns
// (`ns/name`; name alone for a cluster-wide policy, ns empty), or "" when
// that is not a valid policy name: a name read from input is never passed
// on unchecked.
func PolicyName(ns, name string) string {
	if ns != "" {
		name = ns + "/" + name
	}
	if !ValidPolicyName(name) {
		return ""
	}
	return name
}
