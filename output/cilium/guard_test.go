package cilium

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// testPod is a pod as a cluster-wide selector sees it.
type testPod struct {
	ns     string
	labels map[string]string
}

// selects evaluates a selector the way Kubernetes (and Cilium) label
// selectors do, for keys with the k8s: source prefix and the namespace key.
func selects(s Selector, p testPod) bool {
	value := func(k string) (string, bool) {
		if k == NamespaceKey {
			return p.ns, true
		}
		v, ok := p.labels[strings.TrimPrefix(k, SourcePrefix)]
		return v, ok
	}
	for k, v := range s.MatchLabels {
		if got, ok := value(k); !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		got, ok := value(r.Key)
		switch r.Operator {
		case OpIn:
			if !ok || !slices.Contains(r.Values, got) {
				return false
			}
		case OpNotIn:
			if ok && slices.Contains(r.Values, got) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func guardSet(t *testing.T, cloud string, optIns []policy.OptIn, sels map[string]map[string]string) *policy.Set {
	t.Helper()
	g, err := synth.NewGuard(cloud, optIns)
	if err != nil {
		t.Fatal(err)
	}
	g.OptInSelectors = sels
	return &policy.Set{Guard: g}
}

// denied returns, per rule that selects the pod, the ports it leaves open on
// addr (nil = the address is not denied to the pod at all).
func deniedPorts(obj *Object, p testPod, addr string) (denied bool, open []uint16) {
	for _, r := range rules(obj) {
		if !selects(r.EndpointSelector, p) {
			continue
		}
		for _, d := range r.EgressDeny {
			if !slices.ContainsFunc(d.ToCIDR, func(c string) bool { return strings.HasPrefix(c, addr+"/") }) {
				continue
			}
			denied = true
			if len(d.ToPorts) == 0 {
				return true, nil
			}
			for port := 1; port <= 65535; port++ {
				in := false
				for _, pr := range d.ToPorts {
					for _, pp := range pr.Ports {
						lo := 0
						fmt.Sscan(pp.Port, &lo)
						hi := int(pp.EndPort)
						if hi == 0 {
							hi = lo
						}
						if port >= lo && port <= hi {
							in = true
						}
					}
				}
				if !in {
					open = append(open, uint16(port))
				}
			}
			return true, open
		}
	}
	return denied, nil
}

func rules(o *Object) []Rule {
	if o.Spec != nil {
		return []Rule{*o.Spec}
	}
	return o.Specs
}

// TestGuard checks the metadata CiliumClusterwideNetworkPolicy: only
// denies, never default-deny; every guarded address denied to every pod;
// DNS ports of GKE Cloud DNS / Azure DNS left open; each opt-in — several,
// in different namespaces, with multi-label selectors — takes exactly its
// workload out of the deny of its address (and only that port when it
// names one), and no other pod, not even one with the same labels in
// another namespace.
func TestGuard(t *testing.T) {
	fraud := map[string]string{"app": "fraud", "tier": "backend"}
	catalog := map[string]string{"app.kubernetes.io/name": "catalog"}
	backup := map[string]string{"app": "backup"}
	optIns := []policy.OptIn{
		{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
		{Namespace: "shop", Workload: "catalog", Address: "169.254.169.254"},
		{Namespace: "payments", Workload: "batch", Address: "169.254.169.254", Port: 8080},
		{Namespace: "data", Workload: "backup", Address: "fd20:ce::254", Port: 80},
		{Namespace: "data", Workload: "ghost", Address: "169.254.169.254"}, // never observed: no selector
	}
	sels := map[string]map[string]string{"payments/fraud": fraud, "shop/catalog": catalog, "data/backup": backup, "payments/batch": {"app": "batch"}}
	pods := []testPod{
		{"payments", fraud},
		{"payments", map[string]string{"app": "fraud"}},              // lacks tier: not the opted-in workload
		{"payments", map[string]string{"app": "fraud", "tier": "x"}}, // other tier
		{"payments", map[string]string{"app": "batch"}},
		{"payments", map[string]string{}},
		{"shop", fraud}, // fraud's labels in another namespace
		{"shop", catalog},
		{"shop", map[string]string{"app.kubernetes.io/name": "frontend"}},
		{"data", backup},
		{"data", map[string]string{"app": "ghost"}},
		{"kube-system", map[string]string{"k8s-app": "kube-dns"}},
		{"default", nil},
	}
	obj, comment, err := Guard(guardSet(t, "gcp", optIns, sels))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(obj); err != nil {
		t.Fatal(err)
	}
	if obj.Kind != KindCiliumClusterwideNetworkPolicy || obj.Metadata.Name != GuardName || obj.Metadata.Namespace != "" {
		t.Errorf("object %s %s/%s", obj.Kind, obj.Metadata.Namespace, obj.Metadata.Name)
	}
	for _, r := range rules(obj) {
		if r.EnableDefaultDeny == nil || *r.EnableDefaultDeny.Ingress || *r.EnableDefaultDeny.Egress {
			t.Errorf("rule %q: enableDefaultDeny must be false both ways", r.Description)
		}
		if len(r.Ingress)+len(r.Egress) != 0 {
			t.Errorf("rule %q allows something", r.Description)
		}
	}
	if !strings.Contains(strings.Join(comment, "\n"), "data/ghost") {
		t.Errorf("the unselectable opt-in is not in the header: %v", comment)
	}
	isOptIn := func(p testPod, addr string) (bool, uint16) {
		for _, o := range optIns {
			sel, ok := sels[o.Namespace+"/"+o.Workload]
			if ok && o.Namespace == p.ns && o.Address == addr && selects(PeerSelector(&policy.PodPeer{Namespace: p.ns, Selector: sel}), p) {
				return true, o.Port
			}
		}
		return false, 0
	}
	for _, addr := range []string{"169.254.169.254", "169.254.169.252", "fd20:ce::254"} {
		for _, p := range pods {
			t.Run(fmt.Sprintf("%s %s/%v", addr, p.ns, p.labels), func(t *testing.T) {
				denied, open := deniedPorts(obj, p, addr)
				opted, port := isOptIn(p, addr)
				var want []uint16
				if addr == "169.254.169.254" {
					want = []uint16{53} // GKE Cloud DNS
				}
				switch {
				case opted && port == 0:
					if denied {
						t.Errorf("opted in for every port, but denied (open %v)", open)
					}
					return
				case opted:
					want = append(want, port)
					slices.Sort(want)
				}
				if !denied {
					t.Fatalf("not denied")
				}
				if !slices.Equal(open, want) {
					t.Errorf("open ports %v, want %v", open, want)
				}
			})
		}
	}
}

func TestGuardWithoutOptIns(t *testing.T) {
	for _, cloud := range synth.Clouds() {
		obj, _, err := Guard(guardSet(t, cloud, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if obj.Spec == nil || len(obj.Specs) != 0 {
			t.Fatalf("%s: want a single spec", cloud)
		}
		if len(obj.Spec.EndpointSelector.MatchLabels)+len(obj.Spec.EndpointSelector.MatchExpressions) != 0 {
			t.Errorf("%s: selector %+v, want every endpoint", cloud, obj.Spec.EndpointSelector)
		}
		g, _ := synth.NewGuard(cloud, nil)
		var got []string
		for _, d := range obj.Spec.EgressDeny {
			got = append(got, d.ToCIDR...)
		}
		slices.Sort(got)
		var want []string
		for _, a := range g.Addresses {
			want = append(want, netip.PrefixFrom(a.Addr, a.Addr.BitLen()).String())
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: denied %v, want %v", cloud, got, want)
		}
	}
}

func TestPortRanges(t *testing.T) {
	tests := []struct {
		open []uint16
		want string
	}{
		{nil, "1-65535"},
		{[]uint16{53}, "1-52,54-65535"},
		{[]uint16{53, 80}, "1-52,54-79,81-65535"},
		{[]uint16{1, 2, 65535}, "3-65534"},
		{[]uint16{54, 53}, "1-52,55-65535"},
		{[]uint16{2}, "1,3-65535"},
	}
	for _, tt := range tests {
		open := slices.Clone(tt.open)
		slices.Sort(open)
		var got []string
		for _, p := range PortRanges(open) {
			s := p.Port
			if p.EndPort != 0 {
				s += fmt.Sprintf("-%d", p.EndPort)
			}
			if p.Protocol != "ANY" {
				t.Errorf("protocol %s", p.Protocol)
			}
			got = append(got, s)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("PortRanges(%v) = %v, want %s", tt.open, got, tt.want)
		}
	}
}
