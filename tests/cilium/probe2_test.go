package cilium

import (
	"testing"

	"github.com/cilium/cilium/pkg/identity/identitymanager"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/utils"
)

func TestProbe2(t *testing.T) {
	_ = policy.LookupFlow
	_ = identitymanager.NewIDManager
	_ = utils.RulesToPolicyEntries
}
