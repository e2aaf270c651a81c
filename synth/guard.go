package synth

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/flowfence/flowfence/policy"
)

// Cloud profiles for the metadata guard (docs/DESIGN.md rule 7).
const (
	CloudGeneric = "generic"
	CloudAWS     = "aws"
	CloudGCP     = "gcp"
	CloudAzure   = "azure"
	CloudOCI     = "oci"
	CloudAlibaba = "alibaba"
)

// Clouds lists the profiles.
func Clouds() []string {
	return []string{CloudGeneric, CloudAWS, CloudGCP, CloudAzure, CloudOCI, CloudAlibaba}
}

// NewGuard returns the guard of a cloud profile. "generic" guards the
// addresses of every profile (the safe default when the cloud is unknown).
func NewGuard(cloud string, optIns []policy.OptIn) (policy.Guard, error) {
	type a = policy.GuardedAddress
	imds := a{Addr: netip.MustParseAddr("169.254.169.254"), What: "instance metadata (IMDS)", DNSPorts: []uint16{53}}
	profiles := map[string][]a{
		CloudAWS: {imds, {Addr: netip.MustParseAddr("fd00:ec2::254"), What: "AWS IMDS (IPv6)"},
			{Addr: netip.MustParseAddr("169.254.170.23"), What: "EKS Pod Identity agent"},
			{Addr: netip.MustParseAddr("fd00:ec2::23"), What: "EKS Pod Identity agent (IPv6)"}},
		CloudGCP: {imds, {Addr: netip.MustParseAddr("fd20:ce::254"), What: "GCE metadata (IPv6)"},
			{Addr: netip.MustParseAddr("169.254.169.252"), What: "GKE Workload Identity metadata server"}},
		CloudAzure:   {imds, {Addr: netip.MustParseAddr("168.63.129.16"), What: "Azure WireServer", DNSPorts: []uint16{53}}},
		CloudOCI:     {imds, {Addr: netip.MustParseAddr("fd00:c1::a9fe:a9fe"), What: "OCI metadata (IPv6)"}},
		CloudAlibaba: {imds, {Addr: netip.MustParseAddr("100.100.100.200"), What: "Alibaba Cloud metadata"}},
	}
	var addrs []a
	switch cloud {
	case CloudGeneric, "":
		cloud = CloudGeneric
		for _, c := range Clouds()[1:] {
			for _, ad := range profiles[c] {
				if !slices.ContainsFunc(addrs, func(x a) bool { return x.Addr == ad.Addr }) {
					addrs = append(addrs, ad)
				}
			}
		}
	default:
		p, ok := profiles[cloud]
		if !ok {
			return policy.Guard{}, fmt.Errorf("--cloud %q: unknown cloud profile (one of %v)", cloud, Clouds())
		}
		addrs = slices.Clone(p)
	}
	slices.SortFunc(addrs, func(x, y a) int { return x.Addr.Compare(y.Addr) })
	g := policy.Guard{Cloud: cloud, Addresses: addrs}
	linkLocal4 := netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6 := netip.MustParsePrefix("fe80::/10")
	g.ExceptV4 = []netip.Prefix{linkLocal4}
	g.ExceptV6 = []netip.Prefix{linkLocal6}
	for _, ad := range addrs {
		p := netip.PrefixFrom(ad.Addr, ad.Addr.BitLen())
		if ad.Addr.Is4() && !linkLocal4.Contains(ad.Addr) {
			g.ExceptV4 = append(g.ExceptV4, p)
		}
		if ad.Addr.Is6() && !linkLocal6.Contains(ad.Addr) {
			g.ExceptV6 = append(g.ExceptV6, p)
		}
	}
	sortPrefixes(g.ExceptV4)
	sortPrefixes(g.ExceptV6)
	for i, o := range optIns {
		if o.Namespace == "" || o.Workload == "" || o.Address == "" {
			return policy.Guard{}, fmt.Errorf("config metadata.allow[%d]: namespace, workload and address are required", i)
		}
		if _, err := netip.ParseAddr(o.Address); err != nil {
			return policy.Guard{}, fmt.Errorf("config metadata.allow[%d]: address: %w", i, err)
		}
	}
	g.OptIns = slices.Clone(optIns)
	return g, nil
}

func sortPrefixes(p []netip.Prefix) {
	slices.SortFunc(p, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
}

// optedIn reports whether config allows ns/workload to reach addr:port.
func optedIn(g *policy.Guard, ns, workload string, addr netip.Addr, port uint16) bool {
	for _, o := range g.OptIns {
		a, _ := netip.ParseAddr(o.Address)
		if o.Namespace == ns && o.Workload == workload && a == addr && (o.Port == 0 || o.Port == port) {
			return true
		}
	}
	return false
}

// broadExcepts returns the except list for a broad prefix: the guard's
// excepts that lie strictly inside it.
func broadExcepts(g *policy.Guard, p netip.Prefix) []netip.Prefix {
	var src []netip.Prefix
	if p.Addr().Is4() {
		src = g.ExceptV4
	} else {
		src = g.ExceptV6
	}
	var out []netip.Prefix
	for _, e := range src {
		if p.Bits() < e.Bits() && p.Contains(e.Addr()) {
			out = append(out, e)
		}
	}
	return out
}
