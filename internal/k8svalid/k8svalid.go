// Package k8svalid answers, without regular expressions, whether a string
// passes apimachinery's name and label validation: the same verdicts as
// k8s.io/apimachinery/pkg/util/validation (checked against it in the
// tests), for fast paths that need only the verdict and call apimachinery
// for the messages when it is false.
package k8svalid

import "strings"

// LabelKey reports whether validation.IsQualifiedName(s) has no error: an
// optional DNS-1123 subdomain prefix and '/', then a name of at most 63
// alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
func LabelKey(s string) bool {
	name := s
	if prefix, rest, found := strings.Cut(s, "/"); found {
		if prefix == "" || !DNS1123Subdomain(prefix) || strings.Contains(rest, "/") {
			return false
		}
		name = rest
	}
	return name != "" && LabelValue(name)
}

// LabelValue reports whether validation.IsValidLabelValue(s) has no
// error: empty, or at most 63 alphanumerics, '-', '_' and '.', starting
// and ending alphanumeric.
func LabelValue(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// DNS1123Subdomain reports whether validation.IsDNS1123Subdomain(s) has no
// error: at most 253 characters, DNS-1123 labels joined by '.'.
func DNS1123Subdomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for {
		label, rest, more := strings.Cut(s, ".")
		if !dnsLabel(label) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// DNS1123Label reports whether validation.IsDNS1123Label(s) has no error:
// at most 63 lower-case alphanumerics and '-', starting and ending
// alphanumeric.
func DNS1123Label(s string) bool {
	return len(s) <= 63 && dnsLabel(s)
}

// dnsLabel matches [a-z0-9]([-a-z0-9]*[a-z0-9])? (any length).
func dnsLabel(s string) bool {
	if s == "" || !lowerAlnum(s[0]) || !lowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !lowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func lowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
