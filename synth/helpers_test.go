package synth

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// t0 starts every test window; windows are windowHours long.
var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

const windowHours = 100

func hour(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// graph builds a learned graph by hand.
type graph struct{ *learner.Graph }

func newGraph() *graph {
	g := learner.NewGraph()
	g.First, g.Last = t0, hour(windowHours)
	return &graph{g}
}

// workload adds a workload node whose pods all carry labels (nil: masked).
func (g *graph) workload(ns, name string, labels map[string]string) string {
	id := "pod:" + ns + "/" + name
	n := &learner.Node{ID: id, Kind: learner.NodeWorkload, Namespace: ns, Name: name, WorkloadKind: learner.KindDeployment,
		Pods: []string{name + "-5b8c7d9f4-x2x7q"}, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns},
		FirstSeen: t0, LastSeen: hour(windowHours)}
	if labels != nil {
		n.Labels = maps.Clone(labels)
		n.LabelSets = []map[string]string{maps.Clone(labels)}
	}
	g.Nodes[id] = n
	return id
}

// external adds an external IP with the DNS names seen for it.
func (g *graph) external(ip string, names ...string) string {
	id := "ip:" + ip
	g.Nodes[id] = &learner.Node{ID: id, Kind: learner.NodeExternal, Entity: "world", IP: ip, Names: names, FirstSeen: t0, LastSeen: t0}
	return id
}

// entity adds a reserved entity, by IP when ip is not empty.
func (g *graph) entity(e record.Entity, ip string) string {
	id := "entity:" + string(e)
	if ip != "" {
		id += "/" + ip
	}
	g.Nodes[id] = &learner.Node{ID: id, Kind: learner.NodeEntity, Entity: string(e), IP: ip, FirstSeen: t0, LastSeen: t0}
	return id
}

func tcp(p uint16) policy.Port { return policy.Port{Proto: record.TCP, Port: p} }
func udp(p uint16) policy.Port { return policy.Port{Proto: record.UDP, Port: p} }
func icmp() policy.Port        { return policy.Port{Proto: record.ICMPv4} }

// edge adds a learned edge first seen at hour first, last seen at hour last.
func (g *graph) edge(src, dst string, p policy.Port, flows uint64, first, last int) {
	e := &learner.Edge{Src: src, Dst: dst, Proto: p.Proto.String(), Port: p.Port, Flows: flows,
		FirstSeen: hour(first), LastSeen: hour(last), NodesSeen: []string{"node-a"}}
	g.Edges[e.Key()] = e
}

func synthesize(t *testing.T, g *graph, opts Options) *policy.Set {
	t.Helper()
	set, err := Synthesize(g.Graph, opts)
	if err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	return set
}

func namespaceOf(set *policy.Set, ns string) *policy.Namespace {
	for _, n := range set.Namespaces {
		if n.Name == ns {
			return n
		}
	}
	return nil
}

// findPolicy returns the named policy of ns, or nil.
func findPolicy(set *policy.Set, ns, name string) *policy.Policy {
	if n := namespaceOf(set, ns); n != nil {
		for _, p := range n.Policies {
			if p.Name == name {
				return p
			}
		}
	}
	return nil
}

// policyOf returns the named policy of ns, failing the test when missing.
func policyOf(t *testing.T, set *policy.Set, ns, name string) *policy.Policy {
	t.Helper()
	p := findPolicy(set, ns, name)
	if p == nil {
		var names []string
		if n := namespaceOf(set, ns); n != nil {
			for _, p := range n.Policies {
				names = append(names, p.Name)
			}
		}
		t.Fatalf("no policy %s/%s (have %v)", ns, name, names)
	}
	return p
}

// findingsOf returns the findings of a kind.
func findingsOf(set *policy.Set, kind string) []policy.Finding {
	var out []policy.Finding
	for _, f := range set.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// hasFinding reports a finding of kind about ns/workload on port.
func hasFinding(set *policy.Set, kind, ns, workload string, port uint16) bool {
	return slices.ContainsFunc(set.Findings, func(f policy.Finding) bool {
		return f.Kind == kind && f.Namespace == ns && f.Workload == workload && f.Port == port
	})
}

// portsFor returns the ports the rules admit for peers matching pred.
func portsFor(rules []policy.Rule, pred func(policy.Peer) bool) []policy.Port {
	var out []policy.Port
	for _, r := range rules {
		if slices.ContainsFunc(r.Peers, pred) {
			for _, p := range r.Ports {
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	slices.SortFunc(out, policy.ComparePorts)
	return out
}

// cidrPeerOf matches peers with exactly one ipBlock, prefix p.
func cidrPeerOf(p string) func(policy.Peer) bool {
	pf := netip.MustParsePrefix(p)
	return func(pe policy.Peer) bool { return len(pe.CIDRs) == 1 && pe.CIDRs[0].Prefix == pf }
}

// podPeerOf matches pod peers in namespace ns ("" = own) with selector sel.
func podPeerOf(ns string, sel map[string]string) func(policy.Peer) bool {
	return func(pe policy.Peer) bool {
		return pe.Pods != nil && pe.Pods.Namespace == ns && maps.Equal(pe.Pods.Selector, sel)
	}
}

// coversAddr reports whether any ipBlock of the rules admits addr.
func coversAddr(rules []policy.Rule, addr netip.Addr) bool {
	for _, r := range rules {
		for _, pe := range r.Peers {
			for _, c := range pe.CIDRs {
				if !c.Prefix.Contains(addr) {
					continue
				}
				if !slices.ContainsFunc(c.Except, func(e netip.Prefix) bool { return e.Contains(addr) }) {
					return true
				}
			}
		}
	}
	return false
}

// workloadRules returns the rules of every per-workload policy of a set.
func workloadRules(set *policy.Set) (ingress, egress []policy.Rule) {
	for _, n := range set.Namespaces {
		for _, p := range n.Policies {
			switch p.Kind {
			case policy.KindIngress:
				ingress = append(ingress, p.IngressRules...)
			case policy.KindEgress:
				egress = append(egress, p.EgressRules...)
			}
		}
	}
	return ingress, egress
}

// checkLeastPrivilege fails when a per-workload rule admits a peer on a port
// that no learned edge between them used.
func checkLeastPrivilege(t *testing.T, g *graph, set *policy.Set) {
	t.Helper()
	for _, n := range set.Namespaces {
		for _, p := range n.Policies {
			self := "pod:" + p.Namespace + "/" + p.Workload
			for _, dir := range []struct {
				rules   []policy.Rule
				ingress bool
			}{{p.IngressRules, true}, {p.EgressRules, false}} {
				if p.Kind != policy.KindIngress && p.Kind != policy.KindEgress {
					continue
				}
				for _, r := range dir.rules {
					if len(r.Ports) == 0 {
						t.Errorf("%s/%s: a rule without ports admits every port", p.Namespace, p.Name)
					}
					for _, pe := range r.Peers {
						if pe.Workload == "" {
							continue // world ingress: checked on its own
						}
						for _, port := range r.Ports {
							src, dst := pe.Workload, self
							if !dir.ingress {
								src, dst = self, pe.Workload
							}
							k := learner.EdgeKey{Src: src, Dst: dst, Proto: port.Proto, Port: port.Port}
							if g.Edges[k] == nil {
								t.Errorf("%s/%s admits %s on %s: never seen", p.Namespace, p.Name, pe.Workload, port)
							}
						}
					}
				}
			}
		}
	}
}
