// Package k8s renders the policy model as Kubernetes NetworkPolicy
// (networking.k8s.io/v1) YAML: one file per object, a kustomization per
// namespace, every object validated as the API server would before it is
// written.
package k8s

import (
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
)

// FormatName is the --format value.
const FormatName = "k8s"

// NamespaceLabel selects namespaces by name.
const NamespaceLabel = "kubernetes.io/metadata.name"

// Formatter renders NetworkPolicy YAML.
type Formatter struct{}

// Name returns "k8s".
func (Formatter) Name() string { return FormatName }

// Render returns <ns>/<file>.yaml and <ns>/kustomization.yaml for every
// namespace.
func (Formatter) Render(set *policy.Set) (output.Tree, error) {
	// build, validate and marshal every policy on all cores, then assemble
	// the tree in order
	var all []*policy.Policy
	for _, ns := range set.Namespaces {
		all = append(all, ns.Policies...)
	}
	docs := make([][]byte, len(all))
	err := runAll(len(all), func(i int) error {
		p := all[i]
		np, notes := Build(p)
		if err := Validate(np); err != nil {
			return fmt.Errorf("generated policy %s/%s is invalid: %w", p.Namespace, p.Name, err)
		}
		b, err := Marshal(np, p, notes)
		docs[i] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	t := output.Tree{}
	i := 0
	err = output.AddNamespaces(t, set, "", func(*policy.Namespace, *policy.Policy) ([]byte, error) {
		i++
		return docs[i-1], nil
	})
	return t, err
}

// Build converts one policy into a NetworkPolicy. Rules that cannot be
// expressed (ICMP, entities without IPs) are dropped whole — never
// rendered with an empty peer or port list, which would admit everything —
// and listed in notes.
func Build(p *policy.Policy) (*networkingv1.NetworkPolicy, []string) {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: output.ManagedLabels()},
	}
	if len(p.Subject) > 0 {
		np.Spec.PodSelector.MatchLabels = p.Subject
	}
	var notes []string
	if p.Ingress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		for _, r := range rules(p.IngressRules, &notes) {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: r.peers, Ports: r.ports})
		}
	}
	if p.Egress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		for _, r := range rules(p.EgressRules, &notes) {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: r.peers, Ports: r.ports})
		}
	}
	return np, notes
}

// peersPorts is one rendered rule of either direction.
type peersPorts struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

// rules renders the model rules of one direction, in order, leaving out
// those rule drops and appending its notes.
func rules(rs []policy.Rule, notes *[]string) []peersPorts {
	var out []peersPorts
	for _, r := range rs {
		peers, ports, ok, note := rule(r)
		if note != "" {
			*notes = append(*notes, note)
		}
		if ok {
			out = append(out, peersPorts{peers, ports})
		}
	}
	return out
}

func rule(r policy.Rule) ([]networkingv1.NetworkPolicyPeer, []networkingv1.NetworkPolicyPort, bool, string) {
	var ports []networkingv1.NetworkPolicyPort
	var dropped []string
	for _, p := range r.Ports {
		var proto corev1.Protocol
		switch p.Proto {
		case record.TCP:
			proto = corev1.ProtocolTCP
		case record.UDP:
			proto = corev1.ProtocolUDP
		case record.SCTP:
			proto = corev1.ProtocolSCTP
		default:
			dropped = append(dropped, p.String())
			continue
		}
		np := networkingv1.NetworkPolicyPort{Protocol: &proto}
		switch {
		case p.Name != "":
			// every pod the port can reach names it so (synth proves it)
			v := intstr.FromString(p.Name)
			np.Port = &v
		case p.Port != 0:
			v := intstr.FromInt32(int32(p.Port))
			np.Port = &v
		}
		ports = append(ports, np)
	}
	var peers []networkingv1.NetworkPolicyPeer
	var noIP []string
	for _, pe := range r.Peers {
		switch {
		case pe.Pods != nil:
			peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: pe.Pods.Selector}}
			if pe.Pods.Namespace != "" {
				peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: pe.Pods.Namespace}}
			}
			peers = append(peers, peer)
		case len(pe.CIDRs) > 0:
			for _, c := range pe.CIDRs {
				ib := &networkingv1.IPBlock{CIDR: c.Prefix.String()}
				for _, e := range c.Except {
					ib.Except = append(ib.Except, e.String())
				}
				peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: ib})
			}
		default:
			noIP = append(noIP, string(pe.Entity))
		}
	}
	var notes []string
	if len(dropped) > 0 {
		notes = append(notes, "not expressible in NetworkPolicy: "+strings.Join(dropped, ", "))
	}
	if len(noIP) > 0 {
		notes = append(notes, "peers without an address cannot be ipBlocks: "+strings.Join(noIP, ", "))
	}
	ok := len(peers) > 0 && (len(ports) > 0 || len(r.Ports) == 0)
	return peers, ports, ok, strings.Join(notes, "; ")
}

// Marshal renders the object with its provenance header and DNS-name
// comments on ipBlocks (every comment written by output.AppendComment or
// output.AppendTrailingComment, which make input text inert).
func Marshal(np *networkingv1.NetworkPolicy, p *policy.Policy, notes []string) ([]byte, error) {
	names := output.CIDRNames(p)
	b := make([]byte, 0, sizeHint(np))
	b = output.Header(b, p.Comment, notes, output.Generated)
	if len(names) == 0 {
		if out, ok := emitPolicy(b, np); ok {
			return out, nil
		}
	}
	body, err := marshalYAML(np)
	if err != nil {
		return nil, fmt.Errorf("marshal %s/%s: %w", np.Namespace, np.Name, err)
	}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		if cidr, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("cidr: ")); ok {
			if n, ok := names[string(cidr)]; ok {
				b = output.AppendTrailingComment(b, line, n)
				continue
			}
		}
		b = append(b, line...)
	}
	return b, nil
}

// sizeHint is about the size of a policy's file, to allocate it once.
func sizeHint(np *networkingv1.NetworkPolicy) int {
	n := 512
	for _, r := range np.Spec.Ingress {
		n += 48*len(r.Ports) + 128*len(r.From)
	}
	for _, r := range np.Spec.Egress {
		n += 48*len(r.Ports) + 128*len(r.To)
	}
	return n
}
