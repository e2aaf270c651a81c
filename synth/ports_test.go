package synth

import (
	"strconv"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/inventory"
)

// TestNamedPorts: a rule's port is written as the container port's name
// only when every pod the port can reach names that number alike: the
// destination workload's pods for its ingress, the peers' pods for an
// egress rule (not where Cilium enforces: it resolves egress names against
// every pod of the cluster), and only when the inventory proves the
// selector exact. Otherwise the number stays.
func TestNamedPorts(t *testing.T) {
	http := func(port uint16) []inventory.NamedPort {
		return []inventory.NamedPort{{Name: "http", Proto: "TCP", Port: port}}
	}
	for _, tc := range []struct {
		name            string
		flavor, cni     string
		apiPorts        [][]inventory.NamedPort // per api pod
		canary          bool                    // a look-alike pod of another workload the selector also selects
		ingress, egress string                  // api-ingress's and frontend-egress's port
		table           string                  // the set's port table for api
	}{
		{name: "every pod names it alike", apiPorts: [][]inventory.NamedPort{http(8080), http(8080)},
			ingress: "TCP/8080 (http)", egress: "TCP/8080", table: "http TCP/8080"},
		{name: "every pod names it alike, calico enforces", cni: CNICalico, apiPorts: [][]inventory.NamedPort{http(8080), http(8080)},
			ingress: "TCP/8080 (http)", egress: "TCP/8080 (http)", table: "http TCP/8080"},
		{name: "one pod names another number, calico enforces", cni: CNICalico, apiPorts: [][]inventory.NamedPort{http(8080), http(8081)},
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "one pod names another number", apiPorts: [][]inventory.NamedPort{http(8080), http(8081)},
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "one pod has no name for it", apiPorts: [][]inventory.NamedPort{http(8080), nil},
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "one pod names it otherwise", apiPorts: [][]inventory.NamedPort{http(8080), {{Name: "web", Proto: "TCP", Port: 8080}}},
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "the name is of another protocol", apiPorts: [][]inventory.NamedPort{{{Name: "http", Proto: "UDP", Port: 8080}}},
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "the selector also selects another workload's pods", apiPorts: [][]inventory.NamedPort{http(8080)}, canary: true,
			ingress: "TCP/8080", egress: "TCP/8080"},
		{name: "cilium: ingress only", flavor: FlavorCilium, apiPorts: [][]inventory.NamedPort{http(8080)},
			ingress: "TCP/8080 (http)", egress: "TCP/8080", table: "http TCP/8080"},
		{name: "k8s enforced by cilium: ingress only", flavor: FlavorK8s, cni: CNICilium, apiPorts: [][]inventory.NamedPort{http(8080)},
			ingress: "TCP/8080 (http)", egress: "TCP/8080", table: "http TCP/8080"},
		{name: "calico: both", flavor: FlavorCalico, apiPorts: [][]inventory.NamedPort{http(8080)},
			ingress: "TCP/8080 (http)", egress: "TCP/8080 (http)", table: "http TCP/8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b inventory.Builder
			b.AddNamespace(inventory.Namespace{Name: "shop"})
			for _, w := range []string{"frontend", "api"} {
				b.AddWorkload(inventory.Workload{Kind: inventory.KindDeployment, Namespace: "shop", Name: w,
					Selector: map[string]string{"app": w}, SelectorExact: true, Template: map[string]string{"app": w}})
			}
			b.AddPod(inventory.Pod{Namespace: "shop", Name: "frontend-a", Labels: map[string]string{"app": "frontend"}, Owner: inventory.Ref{Kind: inventory.KindDeployment, Name: "frontend"}})
			for i, ports := range tc.apiPorts {
				b.AddPod(inventory.Pod{Namespace: "shop", Name: "api-" + string(rune('a'+i)), Labels: map[string]string{"app": "api"},
					Owner: inventory.Ref{Kind: inventory.KindDeployment, Name: "api"}, Ports: ports})
			}
			if tc.canary {
				b.AddWorkload(inventory.Workload{Kind: inventory.KindDeployment, Namespace: "shop", Name: "api-canary"})
				b.AddPod(inventory.Pod{Namespace: "shop", Name: "api-canary-a", Labels: map[string]string{"app": "api", "track": "canary"},
					Owner: inventory.Ref{Kind: inventory.KindDeployment, Name: "api-canary"}, Ports: http(9090)})
			}
			g := newGraph()
			fe := g.workload("shop", "frontend", map[string]string{"app": "frontend"})
			api := g.workload("shop", "api", map[string]string{"app": "api"})
			g.edge(fe, api, tcp(8080), 500, 0, 10)
			set := synthesize(t, g, Options{Inventory: b.Build(), Flavor: tc.flavor, CNI: tc.cni})
			for _, c := range []struct{ policy, want string }{{"api-ingress", tc.ingress}, {"frontend-egress", tc.egress}} {
				p := policyOf(t, set, "shop", c.policy)
				rules := append(p.IngressRules, p.EgressRules...)
				var got []string
				for _, r := range rules {
					for _, pt := range r.Ports {
						got = append(got, pt.String())
					}
				}
				if strings.Join(got, ",") != c.want {
					t.Errorf("%s ports %v, want %s", c.policy, got, c.want)
				}
			}
			var table []string
			for _, np := range set.Ports["pod:shop/api"] {
				table = append(table, np.Name+" "+np.Proto.String()+"/"+strconv.Itoa(int(np.Port)))
			}
			if strings.Join(table, ",") != tc.table {
				t.Errorf("port table %v, want %q", table, tc.table)
			}
			// without the inventory, never a name
			plain := synthesize(t, g, Options{Flavor: tc.flavor, CNI: tc.cni})
			if len(plain.Ports) > 0 {
				t.Errorf("without an inventory: port table %v", plain.Ports)
			}
		})
	}
}
