package cilium

import (
	"testing"

	v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy/api"
	anp "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

func TestProbe(t *testing.T) {
	_ = v2.CiliumNetworkPolicy{}
	_ = api.Rule{}
	_ = option.Config
	_ = anp.AdminNetworkPolicy{}
}
