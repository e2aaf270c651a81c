package oracles

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/verifier"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/kube-network-policies/pkg/api"
	"sigs.k8s.io/kube-network-policies/pkg/network"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

// ---------------------------------------------------------------------------
// The cluster model shared by all oracles.

type containerPort struct {
	Name     string
	Port     int32
	Protocol corev1.Protocol
}

type pod struct {
	Namespace, Name string
	Labels          map[string]string
	IP              netip.Addr
	Ports           []containerPort
}

// universe is a cluster snapshot: namespaces (with the labels the API server
// stores, including kubernetes.io/metadata.name), pods, and peers outside
// the pod network. Every IP is unique, because kube-network-policies finds
// pods by IP.
type universe struct {
	Namespaces map[string]map[string]string
	Pods       []*pod
	Externals  []verifier.Peer
}

func (u *universe) clone() *universe {
	c := &universe{Namespaces: make(map[string]map[string]string, len(u.Namespaces)), Externals: u.Externals}
	for ns, l := range u.Namespaces {
		c.Namespaces[ns] = l
	}
	c.Pods = slices.Clone(u.Pods)
	return c
}

// nsLabels returns labels as the API server stores them for namespace ns.
func nsLabels(ns string, l map[string]string) map[string]string {
	out := map[string]string{verifier.NamespaceNameLabel: ns}
	for k, v := range l {
		if k != verifier.NamespaceNameLabel {
			out[k] = v
		}
	}
	return out
}

func (u *universe) peerOf(p *pod) verifier.Peer {
	named := make(map[string]verifier.NamedPort)
	for _, c := range p.Ports {
		if c.Name != "" {
			named[c.Name] = verifier.NamedPort{Port: c.Port, Protocol: c.Protocol}
		}
	}
	return verifier.Peer{
		IsPod: true, Namespace: p.Namespace, Labels: p.Labels,
		NamespaceLabels: u.Namespaces[p.Namespace], IP: p.IP, NamedPorts: named,
	}
}

// podPeer is peerOf the pod ns/name of the universe.
func (u *universe) podPeer(ns, name string) verifier.Peer {
	i := slices.IndexFunc(u.Pods, func(p *pod) bool { return p.Namespace == ns && p.Name == name })
	return u.peerOf(u.Pods[i])
}

// endpoints lists every pod then every external peer.
func (u *universe) endpoints() []verifier.Peer {
	var out []verifier.Peer
	for _, p := range u.Pods {
		out = append(out, u.peerOf(p))
	}
	return append(out, u.Externals...)
}

// ---------------------------------------------------------------------------
// Oracles.

// oracleSet holds one policy set compiled for every implementation.
type oracleSet struct {
	policies           []*networkingv1.NetworkPolicy // normalized as the API server stores them
	ours               *verifier.Engine
	cyclonus           *matcher.Policy
	cyclonusSimplified *matcher.Policy
	knp                *knpOracle
	hazards            cyclonusHazards
}

func newOracleSet(raw []*networkingv1.NetworkPolicy, u *universe) (*oracleSet, error) {
	var policies []*networkingv1.NetworkPolicy
	for _, np := range raw {
		policies = append(policies, verifier.Normalize(np))
	}
	ours, err := verifier.New(policies, verifier.Options{CNI: verifier.CNIKubernetes})
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	knp, err := newKNPOracle(policies, u)
	if err != nil {
		return nil, fmt.Errorf("kube-network-policies: %w", err)
	}
	return &oracleSet{
		policies: policies,
		ours:     ours,
		// BuildNetworkPolicies keeps references to the policies; give each
		// build its own copies so Simplify cannot affect the other.
		cyclonus:           matcher.BuildNetworkPolicies(false, deepCopies(policies)),
		cyclonusSimplified: matcher.BuildNetworkPolicies(true, deepCopies(policies)),
		knp:                knp,
		hazards:            findCyclonusHazards(policies),
	}, nil
}

func deepCopies(ps []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, len(ps))
	for i, p := range ps {
		out[i] = p.DeepCopy()
	}
	return out
}

// directionOutcome is one oracle's view of one direction.
type directionOutcome struct {
	allowed  bool
	isolated *bool // nil when the oracle does not report isolation
}

type outcome struct {
	allowed         bool
	egress, ingress directionOutcome
}

// ---- cyclonus

func cyclonusPeer(p verifier.Peer) *matcher.TrafficPeer {
	tp := &matcher.TrafficPeer{IP: p.IP.String()}
	if p.IsPod {
		tp.Internal = &matcher.InternalPeer{PodLabels: p.Labels, NamespaceLabels: p.NamespaceLabels, Namespace: p.Namespace}
	}
	return tp
}

// cyclonusTraffic converts a flow; cyclonus matches named ports by the name
// the destination gives the flow's port and protocol, as its probes do.
func cyclonusTraffic(t verifier.Traffic) *matcher.Traffic {
	name := ""
	for n, np := range t.Dst.NamedPorts {
		if np.Port == t.Port && np.Protocol == t.Protocol {
			name = n
		}
	}
	return &matcher.Traffic{
		Source: cyclonusPeer(t.Src), Destination: cyclonusPeer(t.Dst),
		ResolvedPort: int(t.Port), ResolvedPortName: name, Protocol: t.Protocol,
	}
}

func cyclonusOutcome(p *matcher.Policy, t verifier.Traffic) (outcome, []string, []string) {
	r := p.IsTrafficAllowed(cyclonusTraffic(t))
	dir := func(d *matcher.DirectionResult) (directionOutcome, []string) {
		iso := len(d.AllowingTargets)+len(d.DenyingTargets) > 0
		var names []string
		for _, tg := range append(slices.Clone(d.AllowingTargets), d.DenyingTargets...) {
			for _, np := range tg.SourceRules {
				names = append(names, np.Namespace+"/"+np.Name)
			}
		}
		sort.Strings(names)
		return directionOutcome{allowed: d.IsAllowed(), isolated: &iso}, slices.Compact(names)
	}
	eg, egNames := dir(r.Egress)
	in, inNames := dir(r.Ingress)
	return outcome{allowed: r.IsAllowed(), egress: eg, ingress: in}, egNames, inNames
}

// cyclonusHazards are, per policy, the label keys for which cyclonus'
// selector matching deviates from Kubernetes' (see deviations_test.go):
// keys of NotIn requirements and of empty-valued matchLabels. Cyclonus'
// answer can only deviate when a selector holding such a key is evaluated
// against a label set that lacks the key.
type cyclonusHazards []policyHazard

type policyHazard struct {
	namespace       string
	ingress, egress bool
	target          []string // keys in spec.podSelector (evaluated on the selected pod)
	ingressPeers    peerHazard
	egressPeers     peerHazard
}

// peerHazard holds keys of the rules' podSelectors and namespaceSelectors
// (evaluated on the other end of the flow and its namespace).
type peerHazard struct {
	pod, ns []string
}

func hazardKeys(s *metav1.LabelSelector) []string {
	if s == nil {
		return nil
	}
	var keys []string
	for k, v := range s.MatchLabels {
		if v == "" {
			keys = append(keys, k)
		}
	}
	for _, e := range s.MatchExpressions {
		if e.Operator == metav1.LabelSelectorOpNotIn {
			keys = append(keys, e.Key)
		}
	}
	return keys
}

func (h *peerHazard) add(ps []networkingv1.NetworkPolicyPeer) {
	for _, p := range ps {
		h.pod = append(h.pod, hazardKeys(p.PodSelector)...)
		h.ns = append(h.ns, hazardKeys(p.NamespaceSelector)...)
	}
}

func findCyclonusHazards(policies []*networkingv1.NetworkPolicy) cyclonusHazards {
	var out cyclonusHazards
	for _, np := range policies {
		h := policyHazard{namespace: np.Namespace, target: hazardKeys(&np.Spec.PodSelector)}
		for _, t := range np.Spec.PolicyTypes {
			h.ingress = h.ingress || t == networkingv1.PolicyTypeIngress
			h.egress = h.egress || t == networkingv1.PolicyTypeEgress
		}
		for _, r := range np.Spec.Ingress {
			h.ingressPeers.add(r.From)
		}
		for _, r := range np.Spec.Egress {
			h.egressPeers.add(r.To)
		}
		out = append(out, h)
	}
	return out
}

func missing(keys []string, labels map[string]string) string {
	for _, k := range keys {
		if _, ok := labels[k]; !ok {
			return k
		}
	}
	return ""
}

// hit returns why cyclonus' answer may deviate for t, or "" when it cannot:
// a hazardous selector of a policy of the source's namespace (egress) or of
// the destination's namespace (ingress) meets a label set without its key.
func (hs cyclonusHazards) hit(t verifier.Traffic) string {
	check := func(h *policyHazard, self, other verifier.Peer, peers peerHazard) string {
		if k := missing(h.target, self.Labels); k != "" {
			return "pod label " + k
		}
		if !other.IsPod {
			return ""
		}
		if k := missing(peers.pod, other.Labels); k != "" {
			return "pod label " + k
		}
		if k := missing(peers.ns, other.NamespaceLabels); k != "" {
			return "namespace label " + k
		}
		return ""
	}
	for i := range hs {
		h := &hs[i]
		if t.Src.IsPod && h.egress && h.namespace == t.Src.Namespace {
			if r := check(h, t.Src, t.Dst, h.egressPeers); r != "" {
				return r
			}
		}
		if t.Dst.IsPod && h.ingress && h.namespace == t.Dst.Namespace {
			if r := check(h, t.Dst, t.Src, h.ingressPeers); r != "" {
				return r
			}
		}
	}
	return ""
}

// ---- kube-network-policies

// knpOracle runs kube-network-policies' StandardNetworkPolicy evaluator in
// its PolicyEngine, fed from informer indexers filled directly (the
// informers are never started: evaluation only reads the listers).
type knpOracle struct {
	engine *networkpolicy.PolicyEngine
	std    *networkpolicy.StandardNetworkPolicy
	byIP   map[string]*api.PodInfo
}

type fakeInformer struct{ inf cache.SharedIndexInformer }

func (f fakeInformer) Informer() cache.SharedIndexInformer { return f.inf }

type npInformer struct{ fakeInformer }

func (f npInformer) Lister() networkinglisters.NetworkPolicyLister {
	return networkinglisters.NewNetworkPolicyLister(f.inf.GetIndexer())
}

type podInformer struct{ fakeInformer }

func (f podInformer) Lister() corelisters.PodLister {
	return corelisters.NewPodLister(f.inf.GetIndexer())
}

type nsInformer struct{ fakeInformer }

func (f nsInformer) Lister() corelisters.NamespaceLister {
	return corelisters.NewNamespaceLister(f.inf.GetIndexer())
}

var (
	_ networkinginformers.NetworkPolicyInformer = npInformer{}
	_ coreinformers.PodInformer                 = podInformer{}
	_ coreinformers.NamespaceInformer           = nsInformer{}
)

func newIndexInformer(obj runtime.Object) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(&cache.ListWatch{}, obj, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

func newKNPOracle(policies []*networkingv1.NetworkPolicy, u *universe) (*knpOracle, error) {
	nps := npInformer{fakeInformer{newIndexInformer(&networkingv1.NetworkPolicy{})}}
	pods := podInformer{fakeInformer{newIndexInformer(&corev1.Pod{})}}
	nss := nsInformer{fakeInformer{newIndexInformer(&corev1.Namespace{})}}
	for _, np := range policies {
		if err := nps.inf.GetIndexer().Add(np.DeepCopy()); err != nil {
			return nil, fmt.Errorf("add policy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	k := &knpOracle{byIP: map[string]*api.PodInfo{}}
	for _, p := range u.Pods {
		kp := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels}}
		c := corev1.Container{Name: "main"}
		for _, cp := range p.Ports {
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		kp.Spec.Containers = []corev1.Container{c}
		kp.Status.PodIP = p.IP.String()
		if err := pods.inf.GetIndexer().Add(kp); err != nil {
			return nil, fmt.Errorf("add pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		k.byIP[p.IP.String()] = api.NewPodInfo(kp, u.Namespaces[p.Namespace], nil, "")
	}
	k.std = networkpolicy.NewStandardNetworkPolicy("node", nss, pods, nps)
	k.engine = networkpolicy.NewPolicyEngine(k, []api.PolicyEvaluator{k.std})
	return k, nil
}

// GetPodInfoByIP implements api.PodInfoProvider.
func (k *knpOracle) GetPodInfoByIP(ip string) (*api.PodInfo, bool) {
	p, ok := k.byIP[ip]
	return p, ok
}

func (k *knpOracle) outcome(t verifier.Traffic) (outcome, error) {
	family := corev1.IPv4Protocol
	if t.Dst.IP.Is6() {
		family = corev1.IPv6Protocol
	}
	p := &network.Packet{
		Family: family, SrcIP: net.IP(t.Src.IP.AsSlice()), DstIP: net.IP(t.Dst.IP.AsSlice()),
		Proto: t.Protocol, SrcPort: 40000, DstPort: int(t.Port),
	}
	ctx := context.Background()
	allowed, err := k.engine.EvaluatePacket(ctx, p)
	if err != nil {
		return outcome{}, fmt.Errorf("EvaluatePacket: %w", err)
	}
	srcPod, _ := k.GetPodInfoByIP(p.SrcIP.String())
	dstPod, _ := k.GetPodInfoByIP(p.DstIP.String())
	ev, err := k.std.EvaluateEgress(ctx, p, srcPod, dstPod)
	if err != nil {
		return outcome{}, fmt.Errorf("EvaluateEgress: %w", err)
	}
	iv, err := k.std.EvaluateIngress(ctx, p, srcPod, dstPod)
	if err != nil {
		return outcome{}, fmt.Errorf("EvaluateIngress: %w", err)
	}
	return outcome{
		allowed: allowed,
		egress:  directionOutcome{allowed: ev != api.VerdictDeny},
		ingress: directionOutcome{allowed: iv != api.VerdictDeny},
	}, nil
}

// ---------------------------------------------------------------------------
// Comparison.

// tally counts flows compared with, or skipped for, each oracle.
type tally struct {
	flows           int
	allowed         int
	denied          int
	inexpressible   int
	cyclonus        int
	cyclonusSkipped map[string]int // by reason
	knp             int
}

func newTally() *tally { return &tally{cyclonusSkipped: map[string]int{}} }

func (t *tally) add(o *tally) {
	t.flows += o.flows
	t.allowed += o.allowed
	t.denied += o.denied
	t.inexpressible += o.inexpressible
	t.cyclonus += o.cyclonus
	t.knp += o.knp
	for k, v := range o.cyclonusSkipped {
		t.cyclonusSkipped[k] += v
	}
}

func (t *tally) String() string {
	skipped := 0
	for _, v := range t.cyclonusSkipped {
		skipped += v
	}
	return fmt.Sprintf("%d flows (verifier: %d allowed, %d denied, %d inexpressible); compared with cyclonus: %d (x2: plain and simplified), cyclonus skipped for NotIn/empty-value selector keys: %d; compared with kube-network-policies: %d",
		t.flows, t.allowed, t.denied, t.inexpressible, t.cyclonus, skipped, t.knp)
}

// compare evaluates one flow with every oracle and returns the
// disagreements. For protocols NetworkPolicy cannot express, the oracles'
// answer is compared with the verifier's per-direction Allowed (rules
// without ports admit every protocol in both oracles) and the verdict must
// be Inexpressible exactly when a direction is isolated.
func (s *oracleSet) compare(t verifier.Traffic, tl *tally) []string {
	var diffs []string
	tl.flows++
	r := s.ours.Evaluate(t)
	switch r.Verdict {
	case verifier.Allowed:
		tl.allowed++
	case verifier.Denied:
		tl.denied++
	case verifier.Inexpressible:
		tl.inexpressible++
	}
	portful := t.Protocol == corev1.ProtocolTCP || t.Protocol == corev1.ProtocolUDP || t.Protocol == corev1.ProtocolSCTP
	ours := outcome{
		allowed: r.Verdict == verifier.Allowed,
		egress:  directionOutcome{allowed: r.Egress.Allowed, isolated: &r.Egress.Isolated},
		ingress: directionOutcome{allowed: r.Ingress.Allowed, isolated: &r.Ingress.Isolated},
	}
	if !portful {
		isolated := r.Egress.Isolated || r.Ingress.Isolated
		if (r.Verdict == verifier.Inexpressible) != isolated || (r.Verdict == verifier.Allowed) == isolated {
			diffs = append(diffs, fmt.Sprintf("verifier: verdict %v with isolation egress=%v ingress=%v", r.Verdict, r.Egress.Isolated, r.Ingress.Isolated))
		}
		ours.allowed = r.Egress.Allowed && r.Ingress.Allowed
	}
	if reason := s.hazards.hit(t); reason != "" {
		tl.cyclonusSkipped[reason]++
	} else {
		tl.cyclonus++
		for _, c := range []struct {
			name string
			p    *matcher.Policy
		}{{"cyclonus", s.cyclonus}, {"cyclonus(simplified)", s.cyclonusSimplified}} {
			got, egNames, inNames := cyclonusOutcome(c.p, t)
			diffs = append(diffs, diffOutcome(c.name, ours, got)...)
			if c.p == s.cyclonus {
				if !slices.Equal(egNames, r.Egress.Policies) {
					diffs = append(diffs, fmt.Sprintf("cyclonus: egress policies %v, verifier %v", egNames, r.Egress.Policies))
				}
				if !slices.Equal(inNames, r.Ingress.Policies) {
					diffs = append(diffs, fmt.Sprintf("cyclonus: ingress policies %v, verifier %v", inNames, r.Ingress.Policies))
				}
			}
		}
	}
	tl.knp++
	got, err := s.knp.outcome(t)
	if err != nil {
		diffs = append(diffs, "kube-network-policies: "+err.Error())
	} else {
		diffs = append(diffs, diffOutcome("kube-network-policies", ours, got)...)
	}
	return diffs
}

func diffOutcome(name string, ours, theirs outcome) []string {
	var diffs []string
	if ours.allowed != theirs.allowed {
		diffs = append(diffs, fmt.Sprintf("%s: allowed=%v, verifier %v", name, theirs.allowed, ours.allowed))
	}
	for _, d := range []struct {
		dir        string
		ours, them directionOutcome
	}{{"egress", ours.egress, theirs.egress}, {"ingress", ours.ingress, theirs.ingress}} {
		if d.ours.allowed != d.them.allowed {
			diffs = append(diffs, fmt.Sprintf("%s: %s allowed=%v, verifier %v", name, d.dir, d.them.allowed, d.ours.allowed))
		}
		if d.them.isolated != nil && *d.them.isolated != *d.ours.isolated {
			diffs = append(diffs, fmt.Sprintf("%s: %s isolated=%v, verifier %v", name, d.dir, *d.them.isolated, *d.ours.isolated))
		}
	}
	return diffs
}

// describeFlow renders a flow for failure messages.
func describeFlow(t verifier.Traffic) string {
	peer := func(p verifier.Peer) string {
		if !p.IsPod {
			kind := "external"
			if p.IsNode {
				kind = "node"
			}
			return fmt.Sprintf("%s %s", kind, p.IP)
		}
		return fmt.Sprintf("pod %s%v ns%v %s ports%v", p.Namespace, p.Labels, p.NamespaceLabels, p.IP, p.NamedPorts)
	}
	return fmt.Sprintf("%s -> %s %s/%d", peer(t.Src), peer(t.Dst), t.Protocol, t.Port)
}

// checkFlows compares flows and fails t with context on the first few
// disagreements.
func checkFlows(t *testing.T, label string, s *oracleSet, flows []verifier.Traffic, tl *tally) {
	t.Helper()
	failures := 0
	for _, f := range flows {
		diffs := s.compare(f, tl)
		if len(diffs) == 0 {
			continue
		}
		failures++
		if failures <= 3 {
			t.Errorf("%s: %s:\n  %s\n  policies:\n%s", label, describeFlow(f), strings.Join(diffs, "\n  "), dumpPolicies(s.policies))
		}
	}
	if failures > 3 {
		t.Errorf("%s: %d more disagreeing flows", label, failures-3)
	}
}

func dumpPolicies(ps []*networkingv1.NetworkPolicy) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "    %s/%s %s\n", p.Namespace, p.Name, p.Spec.String())
	}
	return b.String()
}
