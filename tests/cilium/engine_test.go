package cilium

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/identity/identitymanager"
	"github.com/cilium/cilium/pkg/labels"
	ciliumpolicy "github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	"github.com/cilium/cilium/pkg/policy/types"
	"github.com/cilium/cilium/pkg/policy/utils"
	testpolicy "github.com/cilium/cilium/pkg/testutils/policy"
	"github.com/cilium/cilium/pkg/u8proto"
)

// endpoint is one side of a flow for Cilium's engine: a pod (namespace and
// Kubernetes labels), an address (a CIDR identity: world), or a reserved
// identity (host, remote-node, kube-apiserver).
type endpoint struct {
	ns       string
	labels   map[string]string
	nsLabels map[string]string
	addr     string
	reserved identity.NumericIdentity
}

func pod(ns string, lbls map[string]string) endpoint { return endpoint{ns: ns, labels: lbls} }
func addr(a string) endpoint                         { return endpoint{addr: a} }

// engine is Cilium's policy repository loaded with rules, and the
// identities of the endpoints a test asks about (the selector cache must
// know them before the rules are added).
type engine struct {
	repo  *ciliumpolicy.Repository
	idmgr identitymanager.IDManager
	ids   map[string]*identity.Identity
}

func (e endpoint) key() string {
	switch {
	case e.reserved != 0:
		return "reserved:" + e.reserved.String()
	case e.addr != "":
		return "cidr:" + e.addr
	}
	k := "pod:" + e.ns
	for _, l := range slices.Sorted(maps.Keys(e.labels)) {
		k += "," + l + "=" + e.labels[l]
	}
	return k
}

func (e endpoint) identity(id identity.NumericIdentity) *identity.Identity {
	switch {
	case e.reserved != 0:
		return identity.LookupReservedIdentity(e.reserved)
	case e.addr != "":
		a := netip.MustParseAddr(e.addr)
		return identity.NewIdentityFromLabelArray(id, labels.GetCIDRLabels(netip.PrefixFrom(a, a.BitLen())).LabelArray())
	}
	var model []string
	for k, v := range e.labels {
		model = append(model, "k8s:"+k+"="+v)
	}
	for k, v := range e.nsLabels {
		model = append(model, "k8s:io.cilium.k8s.namespace.labels."+k+"="+v)
	}
	model = append(model, "k8s:io.kubernetes.pod.namespace="+e.ns, "k8s:io.cilium.k8s.policy.cluster=default")
	return identity.NewIdentityFromLabelArray(id, labels.NewLabelsFromModel(model).LabelArray())
}

// newEngine loads rules for the given endpoints.
func newEngine(t *testing.T, rules api.Rules, eps []endpoint) *engine {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	e := &engine{idmgr: identitymanager.NewIDManager(log), ids: map[string]*identity.Identity{}}
	ids := identity.IdentityMap{}
	nextPod, nextCIDR := identity.NumericIdentity(1000), identity.NumericIdentity(1<<24)
	for _, ep := range eps {
		k := ep.key()
		if e.ids[k] != nil {
			continue
		}
		var id *identity.Identity
		switch {
		case ep.reserved != 0:
			id = ep.identity(0)
		case ep.addr != "":
			nextCIDR++
			id = ep.identity(nextCIDR)
		default:
			nextPod++
			id = ep.identity(nextPod)
		}
		if id == nil {
			t.Fatalf("no identity for %s", k)
		}
		e.ids[k] = id
		ids[id.ID] = id.LabelArray
	}
	e.repo = ciliumpolicy.NewPolicyRepository(log, ids, nil, nil, e.idmgr, testpolicy.NewPolicyMetricsNoop())
	e.repo.UpdateIdentities(ids, nil)
	e.repo.MustAddPolicyEntries(utils.RulesToPolicyEntries(rules))
	return e
}

// verdict asks Cilium's engine whether src may open proto/port to dst:
// the source's egress and the destination's ingress policy.
func (e *engine) verdict(t *testing.T, src, dst endpoint, proto string, port uint16) types.LookupResult {
	t.Helper()
	var p u8proto.U8proto
	switch proto {
	case "ICMPv4", "ICMP":
		p, port = u8proto.ICMP, 8 // echo request: Cilium keys ICMP rules by type
	case "ICMPv6":
		p, port = u8proto.ICMPv6, 128
	default:
		var err error
		if p, err = u8proto.ParseProtocol(proto); err != nil {
			t.Fatal(err)
		}
	}
	from, to := e.ids[src.key()], e.ids[dst.key()]
	if from == nil || to == nil {
		t.Fatalf("endpoint not loaded: %s -> %s", src.key(), dst.key())
	}
	v, _, _, err := ciliumpolicy.LookupFlow(slog.New(slog.DiscardHandler), e.repo, e.idmgr, types.Flow{From: from, To: to, Proto: p, Dport: port})
	if err != nil {
		t.Fatalf("lookup %s -> %s %s/%d: %v", src.key(), dst.key(), proto, port, err)
	}
	return v
}
