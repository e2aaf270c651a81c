package cilium

import (
	"log/slog"
	"net/netip"
	"testing"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/identity/identitymanager"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	testpolicy "github.com/cilium/cilium/pkg/testutils/policy"
	"github.com/cilium/cilium/pkg/u8proto"
	"github.com/cilium/cilium/pkg/policy/types"
	slim_metav1 "github.com/cilium/cilium/pkg/k8s/slim/k8s/apis/meta/v1"
)

func TestEngineProbe(t *testing.T) {
	log := slog.Default()
	podA := identity.NewIdentityFromLabelArray(1001, labels.NewLabelsFromModel([]string{"k8s:app=a", "k8s:io.kubernetes.pod.namespace=shop"}).LabelArray())
	podB := identity.NewIdentityFromLabelArray(1002, labels.NewLabelsFromModel([]string{"k8s:app=b", "k8s:io.kubernetes.pod.namespace=shop"}).LabelArray())
	world := identity.NewIdentityFromLabelArray(16777217, labels.GetCIDRLabels(netip.MustParsePrefix("8.8.8.8/32")).LabelArray())
	md := identity.NewIdentityFromLabelArray(16777218, labels.GetCIDRLabels(netip.MustParsePrefix("169.254.169.254/32")).LabelArray())
	ids := identity.IdentityMap{}
	for _, id := range []*identity.Identity{podA, podB, world, md} {
		ids[id.ID] = id.LabelArray
	}
	idmgr := identitymanager.NewIDManager(log)
	repo := policy.NewPolicyRepository(log, ids, nil, nil, idmgr, testpolicy.NewPolicyMetricsNoop())
	repo.UpdateIdentities(ids, nil)
	f := false
	r := &api.Rule{
		EndpointSelector:  api.NewESFromK8sLabelSelector("", &slim_metav1.LabelSelector{}),
		EnableDefaultDeny: api.DefaultDenyConfig{Ingress: &f, Egress: &f},
		EgressDeny: []api.EgressDenyRule{{EgressCommonRule: api.EgressCommonRule{ToCIDR: api.CIDRSlice{"169.254.169.254/32"}},
			ToPorts: api.PortDenyRules{{Ports: []api.PortProtocol{{Port: "1", EndPort: 52, Protocol: api.ProtoAny}, {Port: "54", EndPort: 65535, Protocol: api.ProtoAny}}}}}},
	}
	repo.MustAddList(api.Rules{r})
	for _, c := range []struct {
		from, to *identity.Identity
		proto    u8proto.U8proto
		port     uint16
	}{{podA, world, u8proto.TCP, 443}, {podA, md, u8proto.TCP, 80}, {podA, md, u8proto.UDP, 53}, {podA, podB, u8proto.TCP, 8080}} {
		v, _, _, err := policy.LookupFlow(log, repo, idmgr, types.Flow{From: c.from, To: c.to, Proto: c.proto, Dport: c.port})
		t.Logf("%d -> %d %v/%d: %v %v", c.from.ID, c.to.ID, c.proto, c.port, v, err)
	}
}
