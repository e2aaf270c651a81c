package diffcheck

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/verifier"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
	ciliumeval "github.com/flowfence/flowfence/verifier/cilium"
	"github.com/flowfence/flowfence/verifier/policyset"
)

// Elements are the allow rules of a tree split into their peer × port
// elements (the method of StaleRules, for every flavor), each compiled
// three ways: as written, with its port made "any port" (does its peer
// admit a flow?) and with its peer made "any peer" (does its port?). Stale
// rules use the first; explain uses all three to say which rule admits a
// flow, or which one comes nearest to admitting a denied one and what
// differs.
type Elements struct {
	// List is every element in tree order (policy, direction, rule, peer,
	// port), the DNS bundle's included.
	List []StaleRule
	// group joins the elements that are one peer for people (the /0 nets
	// of "any source"), per List index.
	group []string
	// one compiled set per Variant, and the element's policy key in it
	engines [3]elementEngine
	index   map[string]int
}

// Variant says what an element is matched with.
type Variant int

const (
	// Exact: the element as written.
	Exact Variant = iota
	// AnyPort: the element's peer, with every port.
	AnyPort
	// AnyPeer: the element's port, from or to every peer.
	AnyPeer
)

// elementEngine answers, per direction, which element policies match a
// flow (every matching one: order and tiers play no part).
type elementEngine func(t verifier.Traffic) (egress, ingress []string)

// splitElement is one element of a tree: where it is and its policy object
// per Variant (a *networkingv1.NetworkPolicy, *ciliumeval.Object or
// *calicoeval.Object).
type splitElement struct {
	StaleRule
	group    string
	variants [3]any
}

// Elements splits the checker's tree (every policy but those skip names;
// nil skips none) and compiles its elements.
func (c *Checker) Elements() (*Elements, error) { return c.elements(nil) }

func (c *Checker) elements(skip func(name string) bool) (*Elements, error) {
	if skip == nil {
		skip = func(string) bool { return false }
	}
	var split []splitElement
	switch c.tree.Flavor {
	case policyset.FlavorCilium:
		split = ciliumElements(c.tree, skip)
	case policyset.FlavorCalico:
		split = calicoElements(c.tree, skip)
	default:
		split = k8sElements(c.tree, skip)
	}
	es := &Elements{index: map[string]int{}}
	for i, el := range split {
		es.List = append(es.List, el.StaleRule)
		es.group = append(es.group, el.group)
		es.index[elementKey(el.variants[Exact])] = i
	}
	if len(split) == 0 {
		return es, nil
	}
	for v := Exact; v <= AnyPeer; v++ {
		eng, err := c.compileElements(split, v)
		if err != nil {
			return nil, fmt.Errorf("--policies %s: rule elements: %w", c.tree.Dir, err)
		}
		es.engines[v] = eng
	}
	return es, nil
}

// elementKey is the key an engine names an element policy by.
func elementKey(o any) string {
	switch o := o.(type) {
	case *networkingv1.NetworkPolicy:
		return PolicyKey(o)
	case *ciliumeval.Object:
		return o.Key()
	case *calicoeval.Object:
		return o.Key()
	}
	return ""
}

func (c *Checker) compileElements(split []splitElement, v Variant) (elementEngine, error) {
	switch c.tree.Flavor {
	case policyset.FlavorCilium:
		eng, err := ciliumeval.New(variants[*ciliumeval.Object](split, v))
		if err != nil {
			return nil, err
		}
		return matchedBy(eng), nil
	case policyset.FlavorCalico:
		eng, err := calicoeval.New(variants[*calicoeval.Object](split, v))
		if err != nil {
			return nil, err
		}
		return eng.MatchingAllows, nil
	}
	eng, err := verifier.New(variants[*networkingv1.NetworkPolicy](split, v), verifier.Options{CNI: c.opts.CNI})
	if err != nil {
		return nil, err
	}
	return matchedBy(eng), nil
}

// variants returns variant v of every element, as the flavor's objects O.
func variants[O any](split []splitElement, v Variant) []O {
	out := make([]O, len(split))
	for i := range split {
		out[i] = split[i].variants[v].(O)
	}
	return out
}

// matchedBy lists the Matched policies of an evaluation: with one rule per
// policy and no deny rule, every policy whose element matches.
func matchedBy(eng verifier.Evaluator) elementEngine {
	return func(t verifier.Traffic) (egress, ingress []string) {
		res := eng.Evaluate(t)
		return res.Egress.Matched, res.Ingress.Matched
	}
}

// Match returns the indexes in List of the elements that match t in their
// own direction (an egress element the source's egress, an ingress one the
// destination's ingress) as the variant compiles them, in List order.
// Whether the rest of the tree admits t plays no part.
func (e *Elements) Match(t verifier.Traffic, v Variant) []int {
	if len(e.List) == 0 {
		return nil
	}
	eg, in := e.engines[v](t)
	var out []int
	for _, k := range eg {
		if i, ok := e.index[k]; ok && e.List[i].Direction == "egress" {
			out = append(out, i)
		}
	}
	for _, k := range in {
		if i, ok := e.index[k]; ok && e.List[i].Direction == "ingress" {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// Group is the key joining the elements of List that are one peer for
// people: the 0.0.0.0/0 and ::/0 halves of "any source", per port.
func (e *Elements) Group(i int) string { return e.group[i] }

// k8sElements splits the NetworkPolicies of a tree (splitPolicy); the
// variants drop the element's ports or peers.
func k8sElements(t *Tree, skip func(string) bool) []splitElement {
	var out []splitElement
	for _, np := range t.Policies {
		if skip(np.Name) {
			continue
		}
		for _, el := range splitPolicy(verifier.Normalize(np), t.Files[PolicyKey(np)]) {
			// element names unique across the tree
			el.np.Name = fmt.Sprintf("e%d-%s", len(out), np.Name)
			anyPort, anyPeer := el.np.DeepCopy(), el.np.DeepCopy()
			for i := range anyPort.Spec.Ingress {
				anyPort.Spec.Ingress[i].Ports = nil
				anyPeer.Spec.Ingress[i].From = nil
			}
			for i := range anyPort.Spec.Egress {
				anyPort.Spec.Egress[i].Ports = nil
				anyPeer.Spec.Egress[i].To = nil
			}
			out = append(out, splitElement{StaleRule: el.StaleRule, group: el.group, variants: [3]any{el.np, anyPort, anyPeer}})
		}
	}
	return out
}

// ciliumElements splits the allow rules of a Cilium tree: one element per
// peer (endpoint selector, entity, CIDR, CIDRSet entry, FQDN selector) and
// per port or ICMP field. "Any peer" is the entity all; "any port" a rule
// without toPorts and icmps.
func ciliumElements(t *Tree, skip func(string) bool) []splitElement {
	var out []splitElement
	for _, o := range t.set.Cilium {
		if skip(o.Name) {
			continue
		}
		for si := range o.Rules {
			r := &o.Rules[si]
			add := func(dir string, ri, pi, qi int, peer, port string, rules [3]ciliumeval.Rule) {
				sr := StaleRule{Policy: o.Key(), Namespace: o.Namespace, File: t.Files[o.Key()], Direction: dir,
					Rule: ri, PeerIndex: pi, PortIndex: qi, Peer: peer, Port: port}
				if len(o.Rules) > 1 {
					sr.Note = fmt.Sprintf("specs[%d]", si)
				}
				name := fmt.Sprintf("e%d-%s", len(out), o.Name)
				var vs [3]any
				for v := range rules {
					vs[v] = &ciliumeval.Object{Kind: o.Kind, Namespace: o.Namespace, Name: name, Rules: []ciliumeval.Rule{rules[v]}}
				}
				out = append(out, splitElement{StaleRule: sr, group: fmt.Sprintf("%s|%s|%d|%d|%d|%d", o.Key(), dir, si, ri, pi, qi), variants: vs})
			}
			all := []string{"all"}
			for ri, in := range r.Ingress {
				peers := ciliumIngressPeers(&in, o.Namespace)
				ports := ciliumPorts(in.ToPorts, in.ICMPs)
				if len(peers) == 0 && len(ports) == 0 {
					continue // `{}`: admits nothing by design
				}
				eachElement(peers, ports, func(pi, qi int, peer, port string, p elementPeer, q elementPort) {
					add("ingress", ri, pi, qi, peer, port, ciliumVariants(pi < 0, p.ingress, q.applyIngress,
						func(x *ciliumeval.IngressRule) { x.FromEntities = all },
						func(x ciliumeval.IngressRule) ciliumeval.Rule {
							return ciliumeval.Rule{EndpointSelector: r.EndpointSelector, Ingress: []ciliumeval.IngressRule{x}}
						}))
				})
			}
			for ri, eg := range r.Egress {
				peers := ciliumEgressPeers(&eg, o.Namespace)
				ports := ciliumPorts(eg.ToPorts, eg.ICMPs)
				if len(peers) == 0 && len(ports) == 0 {
					continue
				}
				// a DNS-proxy rule is a port property: it stays with the port
				eachElement(peers, ports, func(pi, qi int, peer, port string, p elementPeer, q elementPort) {
					add("egress", ri, pi, qi, peer, port, ciliumVariants(pi < 0, p.egress, q.applyEgress,
						func(x *ciliumeval.EgressRule) { x.ToEntities = all },
						func(x ciliumeval.EgressRule) ciliumeval.Rule {
							return ciliumeval.Rule{EndpointSelector: r.EndpointSelector, Egress: []ciliumeval.EgressRule{x}}
						}))
				})
			}
		}
	}
	return out
}

// ciliumVariants builds the three rules of one Cilium element, for
// ingress or egress rules R: the element (peer and port), any port (the
// peer alone; the entity all when the rule lists no peer) and any peer
// (the entity all with the port). wrap puts a rule into a Rule.
func ciliumVariants[R any](noPeer bool, peer, port func(*R), allEntities func(*R), wrap func(R) ciliumeval.Rule) [3]ciliumeval.Rule {
	var el, anyPort, anyPeer R
	peer(&el)
	port(&el)
	peer(&anyPort)
	if noPeer {
		allEntities(&anyPort)
	}
	allEntities(&anyPeer)
	port(&anyPeer)
	return [3]ciliumeval.Rule{wrap(el), wrap(anyPort), wrap(anyPeer)}
}

// calicoElements splits the Allow rules of a Calico tree: one element per
// rule and destination port (the rule's source or destination is one
// peer). "Any port" drops the protocol, ICMP and port matches; "any peer"
// the selectors and nets of the peer side.
func calicoElements(t *Tree, skip func(string) bool) []splitElement {
	var out []splitElement
	promoted, _ := t.set.CalicoPromoted()
	for _, o := range promoted {
		if o.Policy == nil || skip(o.Name) {
			continue
		}
		for _, dir := range []string{"ingress", "egress"} {
			rules := o.Policy.Ingress
			typ := "Ingress"
			if dir == "egress" {
				rules, typ = o.Policy.Egress, "Egress"
			}
			for ri, r := range rules {
				if r.Action != "Allow" {
					continue
				}
				ports := []int{-1}
				if r.Destination != nil && len(r.Destination.Ports) > 0 {
					ports = ports[:0]
					for i := range r.Destination.Ports {
						ports = append(ports, i)
					}
				}
				for _, qi := range ports {
					rc := r
					port := "any port"
					if qi >= 0 {
						d := *r.Destination
						d.Ports = d.Ports[qi : qi+1]
						rc.Destination = &d
						port = calicoProto(r) + "/" + strings.Trim(string(d.Ports[0]), `"`)
					} else if p := calicoProto(r); p != "" {
						port = p
					}
					anyPort := rc
					anyPort.Protocol, anyPort.NotProtocol, anyPort.ICMP, anyPort.NotICMP = nil, nil, nil, nil
					if rc.Destination != nil {
						d := *rc.Destination
						d.Ports, d.NotPorts = nil, nil
						anyPort.Destination = &d
					}
					anyPeer := rc
					if dir == "ingress" {
						anyPeer.Source = nil
					} else if rc.Destination != nil {
						anyPeer.Destination = &calicoeval.EntityRule{Ports: rc.Destination.Ports, NotPorts: rc.Destination.NotPorts}
					}
					name := fmt.Sprintf("e%d-%s", len(out), o.Name)
					var vs [3]any
					for v, rule := range [3]calicoeval.Rule{rc, anyPort, anyPeer} {
						spec := calicoeval.PolicySpec{Selector: o.Policy.Selector, NamespaceSelector: o.Policy.NamespaceSelector, Types: []string{typ}}
						if dir == "ingress" {
							spec.Ingress = []calicoeval.Rule{rule}
						} else {
							spec.Egress = []calicoeval.Rule{rule}
						}
						vs[v] = &calicoeval.Object{Kind: o.Kind, Namespace: o.Namespace, Name: name, Policy: &spec}
					}
					peerSide := r.Source
					if dir == "egress" {
						peerSide = r.Destination
					}
					group := fmt.Sprintf("%s|%s|%d|%d", o.Key(), dir, ri, qi)
					if anySource(peerSide) {
						group = fmt.Sprintf("%s|%s|any|%s", o.Key(), dir, port)
					}
					out = append(out, splitElement{StaleRule: StaleRule{Policy: o.Key(), Namespace: o.Namespace, File: t.Files[o.Key()], Direction: dir,
						Rule: ri, PeerIndex: -1, PortIndex: qi, Peer: describeCalicoPeer(peerSide, o.Namespace), Port: port}, group: group, variants: vs})
				}
			}
		}
	}
	return out
}

// skipCalicoStale: the default-deny and DNS bundle of a Calico tree, named
// with the tier prefix or without.
func skipCalicoStale(name string) bool {
	return skipStale(name) || strings.HasSuffix(name, "."+policy.NameDNS) || strings.HasSuffix(name, "."+policy.NameDefaultDeny)
}
