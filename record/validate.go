package record

import (
	"fmt"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/k8svalid"
)

// The identity rules every reader applies to what it ingests (flow files,
// live streams, saved graphs): a namespace, pod or workload name that is
// not a valid Kubernetes name cannot be a real pod's, and nothing from such
// a record may reach a file path or a policy document. Labels and DNS names
// that break their syntax are dropped from an otherwise good record.

// ValidNamespace reports whether s is a valid namespace name (a DNS-1123
// label).
func ValidNamespace(s string) bool { return k8svalid.DNS1123Label(s) }

// ValidName reports whether s is a valid pod, workload or cluster name (a
// DNS-1123 subdomain).
func ValidName(s string) bool { return k8svalid.DNS1123Subdomain(s) }

// ValidLabel reports whether key=value is a valid Kubernetes label.
func ValidLabel(key, value string) bool {
	return k8svalid.LabelKey(key) && k8svalid.LabelValue(value)
}

// ValidDNSName reports whether s is a host name as a resolver returns it
// and Cilium's toFQDNs accepts it: at most 253 bytes of labels of ASCII
// letters, digits, '-' and '_' (1–63 bytes each) joined by '.', with an
// optional trailing '.'.
func ValidDNSName(s string) bool {
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "" || len(s) > 253 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			n = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		if n++; n > 63 {
			return false
		}
	}
	return n > 0
}

// IdentityError is an endpoint identity that breaks Kubernetes' name rules.
type IdentityError struct {
	Field string // "source namespace", "destination pod", …
	Value string
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("%s %s is not a valid Kubernetes name", e.Field, escape.Snippet(e.Value, 64))
}

// SkipInvalidIdentity is the skip reason counted for records rejected by
// CheckIdentity.
const SkipInvalidIdentity = "records with an invalid namespace, pod or workload name"

// SkipInvalidDropped is the reason counted for the invalid labels and DNS
// names Check dropped from records it kept (one per label or name).
const SkipInvalidDropped = "invalid labels or DNS names dropped from records (the records kept)"

// CheckIdentity returns an *IdentityError for the first of the endpoint's
// names that is not a valid Kubernetes name; side names the end ("source",
// "destination").
func (e *Endpoint) CheckIdentity(side string) error {
	switch {
	case e.Namespace != "" && !ValidNamespace(e.Namespace):
		return &IdentityError{side + " namespace", e.Namespace}
	case e.Pod != "" && !validPod(e.Pod, e.Aggregated):
		return &IdentityError{side + " pod", e.Pod}
	case e.WorkloadName != "" && !ValidName(e.WorkloadName):
		return &IdentityError{side + " workload", e.WorkloadName}
	case e.WorkloadKind != "" && !validKind(e.WorkloadKind):
		return &IdentityError{side + " workload kind", e.WorkloadKind}
	case e.Cluster != "" && !ValidName(e.Cluster):
		return &IdentityError{side + " cluster", e.Cluster}
	}
	return nil
}

// validPod accepts a pod name and, for an endpoint that aggregates pods,
// Calico's name prefix ("frontend-6b7d9c4f5-*"): the start of a valid
// name followed by '*'.
func validPod(s string, aggregated bool) bool {
	if aggregated && len(s) > 1 && s[len(s)-1] == '*' {
		return ValidName(s[:len(s)-1] + "x")
	}
	return ValidName(s)
}

// validKind accepts a Kubernetes kind: ASCII letters and digits, starting
// with a letter, at most 63 bytes.
func validKind(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Clean drops the endpoint's labels and DNS names that break their syntax
// and returns how many it dropped. It allocates only when something is
// dropped: a map or slice shared with other records is never changed in
// place.
func (e *Endpoint) Clean() (dropped int) {
	for k, v := range e.Labels {
		if !ValidLabel(k, v) {
			dropped++
		}
	}
	for k, v := range e.NamespaceLabels {
		if !ValidLabel(k, v) {
			dropped++
		}
	}
	if dropped > 0 {
		e.Labels = validLabels(e.Labels)
		e.NamespaceLabels = validLabels(e.NamespaceLabels)
	}
	bad := 0
	for _, n := range e.Names {
		if !ValidDNSName(n) {
			bad++
		}
	}
	if bad > 0 {
		names := make([]string, 0, len(e.Names)-bad)
		for _, n := range e.Names {
			if ValidDNSName(n) {
				names = append(names, n)
			}
		}
		e.Names = names
	}
	return dropped + bad
}

func validLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if ValidLabel(k, v) {
			out[k] = v
		}
	}
	return out
}

// Check applies the identity rules to a record: an error (an
// *IdentityError) rejects it; otherwise invalid labels and DNS names are
// dropped from it (the count is returned), including a DNS query name and
// the name of the policy that denied it.
func (r *Record) Check() (dropped int, err error) {
	if err := r.Src.CheckIdentity("source"); err != nil {
		return 0, err
	}
	if err := r.Dst.CheckIdentity("destination"); err != nil {
		return 0, err
	}
	dropped = r.Src.Clean() + r.Dst.Clean()
	if r.DNSQuery != "" && !ValidDNSName(r.DNSQuery) {
		r.DNSQuery = ""
		dropped++
	}
	if r.DeniedBy != "" && !ValidPolicyName(r.DeniedBy) {
		r.DeniedBy = ""
		dropped++
	}
	return dropped, nil
}

// ValidPortName reports an IANA service name as Kubernetes accepts it for
// a container port (and a NetworkPolicy port): 1–15 lower-case letters,
// digits and '-', with a letter, no leading, trailing or double '-'.
func ValidPortName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return letter
}
