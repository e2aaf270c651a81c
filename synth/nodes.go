package synth

import (
	"net/netip"

	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/learner"
)

// NodeSet is every address synth knows to be a node's, from both places
// that say so: the prefixes of config nodes.cidrs, and the inventory's
// nodes — their InternalIP and ExternalIP addresses, the addresses of
// hostNetwork pods (spec.hostNetwork: a node's own address), and the
// addresses of their pod CIDRs that no pod has (the node's router or
// tunnel address). It is the one home of "is this caller a node, which
// one, and which ipBlock admits it": both sources are one set, so a node
// address inside nodes.cidrs is admitted by that prefix alone, never by
// the prefix and its /32 besides.
type NodeSet struct {
	// cidrs are config nodes.cidrs
	cidrs []netip.Prefix
	// addrs maps the inventory's node addresses to their node
	addrs map[netip.Addr]string
	// podCIDRs are the inventory nodes' pod CIDRs
	podCIDRs []nodeCIDR
	// pods are the addresses of pods on the pod network
	pods map[netip.Addr]bool
}

type nodeCIDR struct {
	prefix netip.Prefix
	node   string
}

// NewNodeSet returns the node set of config nodes.cidrs and the inventory
// (either may be empty; nil when both are: a nil set knows no node).
func NewNodeSet(cidrs []netip.Prefix, inv *inventory.Snapshot) *NodeSet {
	hasNodes := inv != nil && len(inv.Nodes) > 0
	if len(cidrs) == 0 && !hasNodes {
		return nil
	}
	ns := &NodeSet{cidrs: cidrs}
	if !hasNodes {
		return ns
	}
	ns.addrs, ns.pods = map[netip.Addr]string{}, map[netip.Addr]bool{}
	for _, n := range inv.Nodes {
		for _, a := range n.Addresses {
			ns.addrs[a.Unmap()] = n.Name
		}
		for _, c := range n.PodCIDRs {
			ns.podCIDRs = append(ns.podCIDRs, nodeCIDR{prefix: c, node: n.Name})
		}
	}
	for _, p := range inv.Pods {
		for _, a := range p.IPs {
			a = a.Unmap()
			switch {
			case !p.HostNetwork:
				ns.pods[a] = true
			case p.NodeName != "":
				// a hostNetwork pod has its node's address: traffic from
				// it is the node's, whatever address the node lists
				if _, ok := ns.addrs[a]; !ok {
					ns.addrs[a] = p.NodeName
				}
			}
		}
	}
	return ns
}

// known reports whether node addresses are known at all (nodes.cidrs, or
// an inventory with nodes).
func (ns *NodeSet) known() bool { return ns != nil }

// configured reports whether config nodes.cidrs is set.
func (ns *NodeSet) configured() bool { return ns != nil && len(ns.cidrs) > 0 }

// node returns the inventory's node whose address a is ("" when none).
func (ns *NodeSet) node(a netip.Addr) string {
	if ns == nil || ns.addrs == nil {
		return ""
	}
	a = a.Unmap()
	if n, ok := ns.addrs[a]; ok {
		return n
	}
	if ns.pods[a] {
		return ""
	}
	for _, c := range ns.podCIDRs {
		if c.prefix.Contains(a) {
			return c.node
		}
	}
	return ""
}

// configuredCIDR returns the nodes.cidrs prefix that holds a.
func (ns *NodeSet) configuredCIDR(a netip.Addr) (netip.Prefix, bool) {
	if ns == nil || !a.IsValid() {
		return netip.Prefix{}, false
	}
	for _, c := range ns.cidrs {
		if c.Contains(a.Unmap()) {
			return c, true
		}
	}
	return netip.Prefix{}, false
}

// isNode reports whether a is a node's address: the inventory's, or in
// nodes.cidrs.
func (ns *NodeSet) isNode(a netip.Addr) bool {
	if ns.node(a) != "" {
		return true
	}
	_, ok := ns.configuredCIDR(a)
	return ok
}

// prefixes are the ipBlocks that admit the node at address a: the
// nodes.cidrs prefix that holds it, else its own address (the inventory's
// node address, or the address observed). A node whose address was not
// observed is admitted by every nodes.cidrs prefix (none without them).
// Never wider than nodes.cidrs, never one address twice.
func (ns *NodeSet) prefixes(a netip.Addr) []netip.Prefix {
	if c, ok := ns.configuredCIDR(a); ok {
		return []netip.Prefix{c}
	}
	if a.IsValid() {
		a = a.Unmap()
		return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
	}
	if ns == nil {
		return nil
	}
	return ns.cidrs
}

// OwnNode reports a request from a plain address (no pod, no entity) that
// the inventory names as node's, to a workload, that only that node
// observed: the node calling its own pods (kubelet probes), which every
// CNI admits without a rule (docs/DESIGN.md rule 8). It returns the node.
// synth writes no rule for it, and verify counts it as host traffic.
func (ns *NodeSet) OwnNode(src, dst *learner.Node, e *learner.Edge) (string, bool) {
	if src == nil || dst == nil || src.Kind != learner.NodeExternal || dst.Kind != learner.NodeWorkload {
		return "", false
	}
	a := src.NodeAddr()
	if !a.IsValid() {
		return "", false
	}
	node := ns.node(a)
	if node == "" || !ownNodeOnly(e, node) {
		return "", false
	}
	return node, true
}

// ownNodeOnly reports an edge from node's address that only node itself
// observed: the node calling its own pods (kubelet probes), which every
// CNI admits without a rule.
func ownNodeOnly(e *learner.Edge, node string) bool {
	if len(e.NodesSeen) == 0 {
		return false
	}
	for _, n := range e.NodesSeen {
		if n != node {
			return false
		}
	}
	return true
}
