package cilium

import (
	"fmt"
	"testing"

	"github.com/cilium/cilium/pkg/policy/api"
	"github.com/cilium/cilium/pkg/policy/types"

	"github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

// TestGuardOnlyAddsDenies loads nothing but the metadata guard
// (CiliumClusterwideNetworkPolicy) into Cilium's engine, for the GCP
// profile with opt-ins in three namespaces, and checks on Cilium's own
// verdicts that it only adds denies: a pod with no other policy keeps all
// its other egress and ingress (enableDefaultDeny false), the guarded
// addresses are denied except their DNS port (GKE Cloud DNS on
// 169.254.169.254:53), and each opted-in workload — and no other pod, not
// even one with its labels in another namespace — reaches exactly its
// opted-in address and port.
func TestGuardOnlyAddsDenies(t *testing.T) {
	g := learn(t, sampleGlob)
	optIns := []policy.OptIn{
		{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80},
		{Namespace: "shop", Workload: "catalog", Address: "169.254.169.254"},
		{Namespace: "data", Workload: "backup", Address: "fd20:ce::254", Port: 80},
	}
	set, tree := render(t, g, cilium.FormatName, pipeline.FormatterOptions{}, synth.Options{Cloud: "gcp", MetadataAllow: optIns})
	for _, o := range optIns {
		if set.Guard.OptInSelectors[o.Namespace+"/"+o.Workload] == nil {
			t.Fatalf("no selector for opt-in %s/%s", o.Namespace, o.Workload)
		}
	}
	var rules api.Rules
	for _, d := range docs(tree["_cluster/01-metadata-guard.yaml"]) {
		rs, err := ciliumRules("guard", d)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rs...)
	}
	sel := func(ns, w string) map[string]string { return set.Guard.OptInSelectors[ns+"/"+w] }
	var (
		plain     = pod("default", map[string]string{"app": "unrelated"}) // no policy at all
		other     = pod("shop", map[string]string{"app": "cart"})
		fraud     = pod("payments", sel("payments", "fraud"))
		fraudLike = pod("shop", sel("payments", "fraud")) // fraud's labels, another namespace
		api_      = pod("payments", map[string]string{"app.kubernetes.io/name": "payments-api"})
		catalog   = pod("shop", sel("shop", "catalog"))
		backup    = pod("data", sel("data", "backup"))
		sysPod    = pod("kube-system", map[string]string{"k8s-app": "kube-dns"})
		md4       = addr("169.254.169.254")
		wi        = addr("169.254.169.252")
		md6       = addr("fd20:ce::254")
		internet  = addr("8.8.8.8")
		internet6 = addr("2001:db8::1")
		node      = endpoint{reserved: 1} // host
		remote    = endpoint{reserved: 6} // remote-node
		apiserver = endpoint{reserved: 7} // kube-apiserver
	)
	e := newEngine(t, rules, []endpoint{plain, other, fraud, fraudLike, api_, catalog, backup, sysPod, md4, wi, md6, internet, internet6, node, remote, apiserver})
	allowed, denied := true, false
	tests := []struct {
		src, dst endpoint
		proto    string
		port     uint16
		want     bool
	}{
		// a pod without any other policy keeps every other flow
		{plain, internet, "TCP", 443, allowed}, {plain, internet, "UDP", 123, allowed}, {plain, internet, "TCP", 1, allowed},
		{plain, internet6, "TCP", 65535, allowed}, {plain, other, "TCP", 8080, allowed}, {other, plain, "TCP", 22, allowed},
		{plain, node, "TCP", 10250, allowed}, {plain, remote, "TCP", 9100, allowed}, {plain, apiserver, "TCP", 6443, allowed},
		{internet, plain, "TCP", 8080, allowed}, {plain, sysPod, "UDP", 53, allowed}, {plain, internet, "ICMP", 0, allowed},
		// the credential endpoints are denied, on every port but DNS
		{plain, md4, "TCP", 80, denied}, {plain, md4, "TCP", 8080, denied}, {plain, md4, "UDP", 80, denied}, {plain, md4, "TCP", 1, denied},
		{plain, md4, "TCP", 65535, denied}, {plain, md4, "TCP", 52, denied}, {plain, md4, "TCP", 54, denied},
		{plain, md4, "UDP", 53, allowed}, {plain, md4, "TCP", 53, allowed}, // GKE Cloud DNS
		{plain, wi, "TCP", 988, denied}, {plain, wi, "UDP", 53, denied}, {plain, md6, "TCP", 80, denied},
		{sysPod, md4, "TCP", 80, denied}, {api_, md4, "TCP", 80, denied}, {other, md4, "TCP", 80, denied},
		// opt-ins: exactly the workload, exactly the address and port
		{fraud, md4, "TCP", 80, allowed}, {fraud, md4, "TCP", 81, denied}, {fraud, md4, "TCP", 8080, denied}, {fraud, md4, "UDP", 53, allowed},
		{fraud, wi, "TCP", 80, denied}, {fraud, md6, "TCP", 80, denied}, {fraudLike, md4, "TCP", 80, denied},
		{catalog, md4, "TCP", 80, allowed}, {catalog, md4, "TCP", 12345, allowed}, {catalog, wi, "TCP", 80, denied},
		{backup, md6, "TCP", 80, allowed}, {backup, md6, "TCP", 443, denied}, {backup, md4, "TCP", 80, denied},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s->%s_%s_%d", tt.src.key(), tt.dst.key(), tt.proto, tt.port), func(t *testing.T) {
			v := e.verdict(t, tt.src, tt.dst, tt.proto, tt.port)
			if v.Allowed() != tt.want {
				t.Errorf("Cilium says %v, want allowed=%v", v, tt.want)
			}
			if v.Ingress == types.DecisionDenied {
				t.Errorf("the guard denied ingress: %v", v)
			}
		})
	}
}
