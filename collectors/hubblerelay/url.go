package hubblerelay

import (
	"fmt"
	"net"
	"strings"
)

// URL schemes.
const (
	Scheme    = "hubble://"
	SchemeTLS = "hubble+tls://"
)

// DefaultAddr is where `cilium hubble port-forward` makes Hubble Relay
// listen.
const DefaultAddr = "localhost:4245"

// DefaultPort is Hubble Relay's port.
const DefaultPort = "4245"

// ParseURL splits hubble://HOST:PORT or hubble+tls://HOST:PORT into the
// address to dial (HOST defaults to localhost, PORT to 4245) and whether
// TLS is used. name is the canonical URL (the source's name in the graph
// and in messages).
func ParseURL(s string) (addr string, useTLS bool, name string, err error) {
	rest, ok := strings.CutPrefix(s, SchemeTLS)
	scheme := SchemeTLS
	useTLS = ok
	if !ok {
		rest, ok = strings.CutPrefix(s, Scheme)
		scheme = Scheme
		if !ok {
			return "", false, "", fmt.Errorf("--from %s: not a hubble:// or hubble+tls:// URL", s)
		}
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@") {
		return "", false, "", fmt.Errorf("--from %s: want %sHOST:PORT (no path, query or user)", s, scheme)
	}
	host, port := rest, DefaultPort
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
	} else if strings.Count(rest, ":") == 1 || (strings.HasPrefix(rest, "[") && strings.Contains(rest, "]:")) {
		return "", false, "", fmt.Errorf("--from %s: %w", s, err)
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = DefaultPort
	}
	addr = net.JoinHostPort(host, port)
	return addr, useTLS, scheme + addr, nil
}
