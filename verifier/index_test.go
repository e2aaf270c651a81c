package verifier

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A rule's peer index finds a matching peer exactly when scanning every
// peer does, and Verdict stays Evaluate's verdict, on rules with long peer
// lists of every kind (pod selectors of one and more pairs, namespace
// selectors by name and by expression, selectors of every pod, ipBlocks).
func TestPeerIndexIsScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	apps := []string{"a", "b", "c", "d", "e"}
	nss := []string{"ns-0", "ns-1", "ns-2"}
	selector := func() *metav1.LabelSelector {
		switch r.IntN(8) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return expr("tier", metav1.LabelSelectorOpIn, "web")
		case 2:
			return ml("app", apps[r.IntN(len(apps))], "tier", "web")
		}
		return ml("app", apps[r.IntN(len(apps))])
	}
	peer := func() networkingv1.NetworkPolicyPeer {
		switch r.IntN(6) {
		case 0:
			return ipPeer(fmt.Sprintf("10.%d.0.0/16", r.IntN(3)))
		case 1:
			return nsPeer(ml(NamespaceNameLabel, nss[r.IntN(len(nss))]))
		case 2:
			return networkingv1.NetworkPolicyPeer{PodSelector: selector(), NamespaceSelector: ml(NamespaceNameLabel, nss[r.IntN(len(nss))])}
		case 3:
			return networkingv1.NetworkPolicyPeer{PodSelector: selector(), NamespaceSelector: expr("team", metav1.LabelSelectorOpExists)}
		}
		return podPeer(selector())
	}
	var policies []*networkingv1.NetworkPolicy
	for i := 0; i < 60; i++ {
		var peers []networkingv1.NetworkPolicyPeer
		for j := r.IntN(30); j >= 0; j-- {
			peers = append(peers, peer())
		}
		ns := nss[r.IntN(len(nss))]
		policies = append(policies, policy(ns, fmt.Sprintf("p%d", i), selector(), bothTypes, from(peers...), to(peers...)))
	}
	pod := func() Peer {
		ns := r.IntN(len(nss))
		l := map[string]string{"app": apps[r.IntN(len(apps))]}
		if r.IntN(2) == 0 {
			l["tier"] = "web"
		}
		nl := map[string]string{}
		if r.IntN(2) == 0 {
			nl["team"] = "x"
		}
		if r.IntN(4) == 0 {
			nl[NamespaceNameLabel] = nss[r.IntN(len(nss))] // usually the namespace's own name
		}
		return Peer{IsPod: true, Namespace: nss[ns], Labels: l, NamespaceLabels: nl, IP: netip.AddrFrom4([4]byte{10, byte(r.IntN(3)), 0, 1})}
	}
	for _, cni := range []CNI{CNIKubernetes, CNICilium} {
		e := mustNew(t, policies, Options{CNI: cni})
		indexed, matched := 0, 0
		for _, nsp := range e.byNamespace {
			for _, cp := range append(append([]*compiledPolicy{}, nsp.ingress...), nsp.egress...) {
				for _, rules := range [][]compiledRule{cp.ingressRules, cp.egressRules} {
					for i := range rules {
						rule := &rules[i]
						if rule.peerIdx != nil {
							indexed++
						}
						for k := 0; k < 50; k++ {
							p := pod()
							if k%5 == 0 {
								p = Peer{IP: p.IP}
							}
							got, want := e.rulePeersMatch(rule, cp.namespace, &p), e.anyPeerMatches(rule.peers, cp.namespace, &p)
							if got != want {
								t.Fatalf("%s %s: peer %+v: index says %v, scan %v", cni, cp.key, p, got, want)
							}
							if got {
								matched++
							}
						}
					}
				}
			}
		}
		if indexed < 20 || matched < 500 {
			t.Fatalf("%s: %d indexed rules, %d matches: the test does not exercise the index", cni, indexed, matched)
		}
		for i := 0; i < 5000; i++ {
			tr := Traffic{Src: pod(), Dst: pod(), Protocol: corev1.ProtocolTCP, Port: 80}
			if i%7 == 0 {
				tr.Src = Peer{IP: tr.Src.IP}
			}
			if got, want := e.Verdict(tr), e.Evaluate(tr).Verdict; got != want {
				t.Fatalf("%s flow %+v: Verdict %v, Evaluate %v", cni, tr, got, want)
			}
		}
	}
}
