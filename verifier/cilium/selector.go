package cilium

import (
	"fmt"
	"slices"
	"strings"

	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/verifier"
)

// Label keys of Cilium's pod identities (pkg/k8s/apis/cilium.io).
const (
	namespaceKey       = "io.kubernetes.pod.namespace"
	namespaceLabelsKey = "io.cilium.k8s.namespace.labels."
)

// source is where a label comes from: Kubernetes (pod labels and the
// labels Cilium derives from the pod's namespace) or a reserved identity.
type source uint8

const (
	srcAny source = iota
	srcK8s
	srcReserved
)

type requirement struct {
	src    source
	key    string
	op     string // In, NotIn, Exists, DoesNotExist
	values []string
}

// selector is a compiled api.EndpointSelector: every requirement must hold.
type selector []requirement

// identity is what Cilium's selectors see of a peer: the Kubernetes-source
// labels of a pod (its labels, its namespace, its namespace's labels) or the
// reserved labels of an entity.
type identity struct {
	pod      bool
	ns       string
	labels   map[string]string
	nsLabels map[string]string
	reserved []string
}

func (id *identity) k8s(key string) (string, bool) {
	if !id.pod {
		return "", false
	}
	if key == namespaceKey {
		return id.ns, true
	}
	if rest, ok := strings.CutPrefix(key, namespaceLabelsKey); ok {
		if rest == verifier.NamespaceNameLabel {
			if v, ok := id.nsLabels[rest]; ok {
				return v, true
			}
			return id.ns, true
		}
		v, ok := id.nsLabels[rest]
		return v, ok
	}
	v, ok := id.labels[key]
	return v, ok
}

func (id *identity) lookup(src source, key string) (string, bool) {
	switch src {
	case srcK8s:
		return id.k8s(key)
	case srcReserved:
		return "", slices.Contains(id.reserved, key)
	}
	if v, ok := id.k8s(key); ok {
		return v, true
	}
	return "", slices.Contains(id.reserved, key)
}

// identityOf returns the identity Cilium gives a peer: a pod's labels, or
// the reserved labels of its entity (an address outside the cluster is
// world).
func identityOf(p *verifier.Peer) identity {
	if p.IsPod {
		ns := p.Namespace
		if ns == "" {
			ns = verifier.DefaultNamespace
		}
		return identity{pod: true, ns: ns, labels: p.Labels, nsLabels: p.NamespaceLabels}
	}
	switch e := entityOf(p); e {
	case ciliumout.EntityKubeAPIServer:
		if p.IsNode {
			// an API server on a cluster node: Cilium's identity 7
			// (kube-apiserver) is also a remote node
			return identity{reserved: []string{e, ciliumout.EntityRemoteNode}}
		}
		return identity{reserved: []string{e}}
	case ciliumout.EntityWorld:
		fam := "world-ipv4"
		if p.IP.Is6() && !p.IP.Is4In6() {
			fam = "world-ipv6"
		}
		return identity{reserved: []string{"world", fam}}
	default:
		return identity{reserved: []string{e}}
	}
}

// entityOf is the reserved entity of a peer that is not a pod: its Entity,
// world for an address with none (or unknown: Cilium gives any address
// it has no identity for a world CIDR identity).
func entityOf(p *verifier.Peer) string {
	switch p.Entity {
	case "", "unknown", ciliumout.EntityWorld:
		if p.IsNode {
			return ciliumout.EntityRemoteNode
		}
		return ciliumout.EntityWorld
	}
	return p.Entity
}

func (s selector) matches(id *identity) bool {
	for i := range s {
		r := &s[i]
		v, ok := id.lookup(r.src, r.key)
		switch r.op {
		case ciliumout.OpIn:
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case ciliumout.OpNotIn:
			if ok && slices.Contains(r.values, v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		}
	}
	return true
}

// splitKey parses a selector key's source prefix ("k8s:app" → k8s, "app").
func splitKey(k string) (source, string, error) {
	src, key, found := strings.Cut(k, ":")
	if !found {
		return srcAny, k, nil
	}
	switch src {
	case "k8s":
		return srcK8s, key, nil
	case "any", "unspec":
		return srcAny, key, nil
	case "reserved":
		return srcReserved, key, nil
	}
	return 0, "", fmt.Errorf("label key %q: source %q is not evaluated (k8s, any, reserved)", k, src)
}

// compileSelector compiles a label selector as written.
func compileSelector(s *ciliumout.Selector) (selector, error) {
	var out selector
	for _, k := range sortedKeys(s.MatchLabels) {
		src, key, err := splitKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, requirement{src: src, key: key, op: ciliumout.OpIn, values: []string{s.MatchLabels[k]}})
	}
	for i, e := range s.MatchExpressions {
		src, key, err := splitKey(e.Key)
		if err != nil {
			return nil, err
		}
		switch e.Operator {
		case ciliumout.OpIn, ciliumout.OpNotIn:
			if len(e.Values) == 0 {
				return nil, fmt.Errorf("matchExpressions[%d]: operator %s needs values", i, e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) > 0 {
				return nil, fmt.Errorf("matchExpressions[%d]: operator %s takes no values", i, e.Operator)
			}
		default:
			return nil, fmt.Errorf("matchExpressions[%d]: unknown operator %q", i, e.Operator)
		}
		out = append(out, requirement{src: src, key: key, op: e.Operator, values: e.Values})
	}
	return out, nil
}

func (s selector) has(pred func(r *requirement) bool) bool {
	for i := range s {
		if pred(&s[i]) {
			return true
		}
	}
	return false
}

// peerSelector compiles a fromEndpoints/toEndpoints selector as Cilium's
// getEndpointSelector scopes it: as written when it names a reserved
// label; else, without the namespace label, limited to the policy's
// namespace (a namespaced policy whose selector names no namespace
// labels) or to pods (a clusterwide policy).
func peerSelector(s *ciliumout.Selector, policyNS string) (selector, error) {
	sel, err := compileSelector(s)
	if err != nil {
		return nil, err
	}
	if sel.has(func(r *requirement) bool { return r.src == srcReserved }) {
		return sel, nil
	}
	if sel.has(func(r *requirement) bool { return r.src != srcReserved && r.key == namespaceKey }) {
		return sel, nil
	}
	switch {
	case policyNS == "":
		sel = append(sel, requirement{src: srcK8s, key: namespaceKey, op: "Exists"})
	case !sel.has(func(r *requirement) bool { return r.src != srcReserved && strings.HasPrefix(r.key, namespaceLabelsKey) }):
		sel = append(sel, requirement{src: srcK8s, key: namespaceKey, op: ciliumout.OpIn, values: []string{policyNS}})
	}
	return sel, nil
}

// subjectSelector compiles a rule's endpointSelector: a namespaced policy
// selects pods of its own namespace only (Cilium replaces any namespace the
// selector names).
func subjectSelector(s *ciliumout.Selector, policyNS string) (selector, error) {
	sel, err := compileSelector(s)
	if err != nil {
		return nil, err
	}
	if policyNS != "" {
		sel = slices.DeleteFunc(sel, func(r requirement) bool {
			return r.src != srcReserved && r.key == namespaceKey && r.op == ciliumout.OpIn
		})
		sel = append(sel, requirement{src: srcK8s, key: namespaceKey, op: ciliumout.OpIn, values: []string{policyNS}})
	}
	return sel, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// validEntity reports an entity Cilium accepts (pkg/policy/api/entity.go).
func validEntity(e string) bool {
	switch e {
	case "all", "world", "world-ipv4", "world-ipv6", "cluster", "host", "remote-node",
		"kube-apiserver", "health", "init", "unmanaged", "ingress", "none":
		return true
	}
	return false
}

// entityMatches reports whether entity e selects the identity.
func entityMatches(e string, id *identity) bool {
	switch e {
	case "all":
		return true
	case "none":
		return false
	case "cluster":
		if id.pod {
			return true
		}
		for _, r := range id.reserved {
			switch r {
			case "host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver":
				return true
			}
		}
		return false
	}
	return slices.Contains(id.reserved, e)
}
