package oracles

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/verifier"
	"github.com/mattfenwick/cyclonus/pkg/generator"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// cyclonusProtocols and cyclonusPorts are cyclonus' default server
// containers: every pod serves 80 and 81 on TCP, UDP and SCTP, on container
// ports named serve-<port>-<protocol>.
var (
	cyclonusProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	cyclonusPorts     = []int32{80, 81}
)

func cyclonusContainers() []containerPort {
	var out []containerPort
	for _, port := range cyclonusPorts {
		for _, p := range cyclonusProtocols {
			out = append(out, containerPort{Name: fmt.Sprintf("serve-%d-%s", port, strings.ToLower(string(p))), Port: port, Protocol: p})
		}
	}
	return out
}

// cyclonusUniverse is cyclonus' default cluster: namespaces x, y, z labelled
// ns=<name>, pods a, b, c labelled pod=<name>. Pod IPs are chosen so that
// the generator's ipBlock cases (z/c's IP with the last 8 bits zeroed,
// except the last 4 bits zeroed) split the pods: 10.1.1.0/24 holds y and z,
// 10.1.1.32/28 holds only y/c and z/c. External peers sit inside and
// outside those blocks, plus a node and an IPv6 host.
func cyclonusUniverse() *universe {
	u := &universe{Namespaces: map[string]map[string]string{}}
	ips := map[string][]string{
		"x": {"10.1.0.10", "10.1.0.11", "10.1.0.12"},
		"y": {"10.1.1.10", "10.1.1.20", "10.1.1.47"},
		"z": {"10.1.1.30", "10.1.1.50", "10.1.1.42"},
	}
	for _, ns := range []string{"x", "y", "z"} {
		u.Namespaces[ns] = nsLabels(ns, map[string]string{"ns": ns})
		for i, name := range []string{"a", "b", "c"} {
			u.Pods = append(u.Pods, &pod{
				Namespace: ns, Name: name, Labels: map[string]string{"pod": name},
				IP: netip.MustParseAddr(ips[ns][i]), Ports: cyclonusContainers(),
			})
		}
	}
	u.Externals = []verifier.Peer{
		{IP: netip.MustParseAddr("10.1.1.44")},
		{IP: netip.MustParseAddr("192.0.2.1")},
		{IP: netip.MustParseAddr("2001:db8::1")},
		{IP: netip.MustParseAddr("172.16.0.1"), IsNode: true},
	}
	return u
}

// clusterState applies a cyclonus test case's actions as a cluster would.
type clusterState struct {
	u        *universe
	policies []*networkingv1.NetworkPolicy
	nextIP   int
}

func (s *clusterState) policyIndex(ns, name string) int {
	return slices.IndexFunc(s.policies, func(p *networkingv1.NetworkPolicy) bool {
		return p.Namespace == ns && p.Name == name
	})
}

func (s *clusterState) podIndex(ns, name string) int {
	return slices.IndexFunc(s.u.Pods, func(p *pod) bool { return p.Namespace == ns && p.Name == name })
}

func (s *clusterState) apply(a *generator.Action) error {
	s.u = s.u.clone()
	switch {
	case a.CreatePolicy != nil:
		p := a.CreatePolicy.Policy
		if s.policyIndex(p.Namespace, p.Name) >= 0 {
			return fmt.Errorf("create policy %s/%s: exists", p.Namespace, p.Name)
		}
		s.policies = append(s.policies, p)
	case a.UpdatePolicy != nil:
		p := a.UpdatePolicy.Policy
		i := s.policyIndex(p.Namespace, p.Name)
		if i < 0 {
			return fmt.Errorf("update policy %s/%s: not found", p.Namespace, p.Name)
		}
		s.policies[i] = p
	case a.DeletePolicy != nil:
		i := s.policyIndex(a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		if i < 0 {
			return fmt.Errorf("delete policy %s/%s: not found", a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		}
		s.policies = slices.Delete(s.policies, i, i+1)
	case a.CreateNamespace != nil:
		s.u.Namespaces[a.CreateNamespace.Namespace] = nsLabels(a.CreateNamespace.Namespace, a.CreateNamespace.Labels)
	case a.SetNamespaceLabels != nil:
		ns := a.SetNamespaceLabels.Namespace
		if _, ok := s.u.Namespaces[ns]; !ok {
			return fmt.Errorf("set labels of namespace %s: not found", ns)
		}
		s.u.Namespaces[ns] = nsLabels(ns, a.SetNamespaceLabels.Labels)
	case a.DeleteNamespace != nil:
		ns := a.DeleteNamespace.Namespace
		delete(s.u.Namespaces, ns)
		s.u.Pods = slices.DeleteFunc(s.u.Pods, func(p *pod) bool { return p.Namespace == ns })
		s.policies = slices.DeleteFunc(slices.Clone(s.policies), func(p *networkingv1.NetworkPolicy) bool { return p.Namespace == ns })
	case a.ReadNetworkPolicies != nil:
		// Reading policies back from the cluster changes nothing here.
	case a.CreatePod != nil:
		c := a.CreatePod
		if _, ok := s.u.Namespaces[c.Namespace]; !ok {
			return fmt.Errorf("create pod %s/%s: no namespace", c.Namespace, c.Pod)
		}
		s.nextIP++
		s.u.Pods = append(s.u.Pods, &pod{Namespace: c.Namespace, Name: c.Pod, Labels: c.Labels,
			IP: netip.AddrFrom4([4]byte{10, 1, 2, byte(s.nextIP)}), Ports: cyclonusContainers()})
	case a.SetPodLabels != nil:
		c := a.SetPodLabels
		i := s.podIndex(c.Namespace, c.Pod)
		if i < 0 {
			return fmt.Errorf("set labels of pod %s/%s: not found", c.Namespace, c.Pod)
		}
		p := *s.u.Pods[i]
		p.Labels = c.Labels
		s.u.Pods[i] = &p
	case a.DeletePod != nil:
		i := s.podIndex(a.DeletePod.Namespace, a.DeletePod.Pod)
		if i < 0 {
			return fmt.Errorf("delete pod %s/%s: not found", a.DeletePod.Namespace, a.DeletePod.Pod)
		}
		s.u.Pods = slices.Delete(s.u.Pods, i, i+1)
	default:
		return fmt.Errorf("unknown action %+v", a)
	}
	return nil
}

// allFlows enumerates every flow between the universe's endpoints with at
// least one pod end: cyclonus' ports (80, 81) plus an unserved one (82) on
// TCP, UDP and SCTP, and one ICMP flow per pair.
func allFlows(u *universe) []verifier.Traffic {
	eps := u.endpoints()
	var out []verifier.Traffic
	for _, src := range eps {
		for _, dst := range eps {
			if !src.IsPod && !dst.IsPod {
				continue
			}
			for _, proto := range cyclonusProtocols {
				for _, port := range []int32{80, 81, 82} {
					out = append(out, verifier.Traffic{Src: src, Dst: dst, Protocol: proto, Port: port})
				}
			}
			icmp := corev1.Protocol("ICMPv4")
			if dst.IP.Is6() {
				icmp = "ICMPv6"
			}
			out = append(out, verifier.Traffic{Src: src, Dst: dst, Protocol: icmp})
		}
	}
	return out
}

// TestCyclonusGeneratedCases replays every test case of cyclonus' generator
// (its full conformance suite: targets, rules, peers, ports/protocols,
// examples, actions, conflicts, namespaces and the upstream e2e cases)
// against cyclonus' default universe, step by step, and compares every flow
// after every step with both oracles.
func TestCyclonusGeneratedCases(t *testing.T) {
	base := cyclonusUniverse()
	zc := base.Pods[slices.IndexFunc(base.Pods, func(p *pod) bool { return p.Namespace == "z" && p.Name == "c" })]
	gen := generator.NewTestCaseGenerator(false, zc.IP.String(), []string{"x", "y", "z"}, nil, nil)
	cases := gen.GenerateTestCases()
	if len(cases) < 100 {
		t.Fatalf("cyclonus generated only %d test cases", len(cases))
	}
	total := newTally()
	steps := 0
	for i, tc := range cases {
		state := &clusterState{u: base}
		for j, step := range tc.Steps {
			for _, a := range step.Actions {
				if err := state.apply(a); err != nil {
					t.Fatalf("case %d (%s) step %d: %v", i, tc.Description, j, err)
				}
			}
			set, err := newOracleSet(state.policies, state.u)
			if err != nil {
				t.Fatalf("case %d (%s) step %d: %v", i, tc.Description, j, err)
			}
			tl := newTally()
			checkFlows(t, fmt.Sprintf("case %d %q step %d", i, tc.Description, j), set, allFlows(state.u), tl)
			total.add(tl)
			steps++
		}
	}
	t.Logf("cyclonus generator: %d test cases, %d steps; %s", len(cases), steps, total)
	if total.cyclonus == 0 || total.knp == 0 {
		t.Fatal("no flow was compared")
	}
}
