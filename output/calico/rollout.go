package calico

import (
	"bytes"
	"fmt"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// RolloutNotes is the Calico section of ROLLOUT.md: the cluster-scoped
// objects to apply first, and with staged policies how to watch their
// verdicts and promote them to enforced.
func (f Formatter) RolloutNotes(set *policy.Set) []byte {
	var b bytes.Buffer
	b.WriteString("\n## Calico\n\n")
	b.WriteString("These are projectcalico.org/v3 objects: `kubectl apply` needs the Calico API server (else use\n")
	b.WriteString("`calicoctl apply -f <file>`). Tiers need Calico Open Source v3.30+ (or Calico Enterprise / Cloud).\n\n")
	if len(set.Namespaces) == 0 {
		b.WriteString("No application namespace: nothing to apply.\n")
		return b.Bytes()
	}
	b.WriteString("1. Apply `" + output.ClusterDir + "` first: `kubectl apply -k " + output.ClusterDir + "` (a policy cannot be created in a\n")
	b.WriteString("   tier that does not exist yet). It holds:\n")
	fmt.Fprintf(&b, "   - Tier `%s` (order %g, defaultAction Pass) with the global policy `%s`: pods of\n", GuardTier, GuardTierOrder, qualified(GuardTier, GuardPolicy))
	b.WriteString("     the application namespaces never reach the cloud credential endpoints, whatever a later tier allows;\n")
	b.WriteString("     every other packet is passed on unchanged. Check that no tier of yours has an order at or below\n")
	fmt.Fprintf(&b, "     %g (`kubectl get tiers.projectcalico.org`): the guard must come first.\n", GuardTierOrder)
	if f.Tier != "" && f.Tier != "default" {
		fmt.Fprintf(&b, "   - Tier `%s` (order %g, defaultAction Deny) for the namespace policies: after kube-admin\n", f.Tier, WorkloadTierOrder)
		b.WriteString("     (AdminNetworkPolicy, 1000), before kube-baseline (10000) and the default tier (1000000). Traffic a\n")
		b.WriteString("     namespace's policies do not allow ends there, before any policy of the default tier is consulted.\n")
	} else {
		b.WriteString("   - The namespace policies live in the default tier, beside any Kubernetes NetworkPolicy (any Allow wins).\n")
	}
	b.WriteString("2. Then the namespaces, one at a time, in the order of the table above (`kubectl apply -k <namespace>`).\n\n")
	fmt.Fprintf(&b, "Roll back a namespace with `kubectl delete -k <namespace>`; the guard and tiers with `kubectl delete -k %s`\n", output.ClusterDir)
	b.WriteString("(after every namespace that uses the workload tier).\n")
	if !f.Staged {
		b.WriteString("\nTo audit before enforcing, generate with `--staged`: the same policies as StagedNetworkPolicy /\n")
		b.WriteString("StagedGlobalNetworkPolicy, which Calico evaluates and reports without enforcing.\n")
		return b.Bytes()
	}
	b.WriteString("\n### Staged: audit, then enforce\n\n")
	b.WriteString("Every policy here is a StagedNetworkPolicy / StagedGlobalNetworkPolicy (`stagedAction: Set`): Calico\n")
	b.WriteString("evaluates it and reports what it *would* do, but enforces nothing. Apply as above, then watch the staged\n")
	b.WriteString("verdicts for the readiness window of each namespace:\n\n")
	b.WriteString("- Calico Open Source (v3.30+): in Whisker (`kubectl port-forward -n calico-system svc/whisker 8081:8081`,\n")
	b.WriteString("  then http://localhost:8081) a flow's *pending* policies show the staged verdict; Goldmane's flows carry\n")
	b.WriteString("  them as `pendingPolicies`. A flow whose pending verdict is Deny would be dropped once enforced.\n")
	b.WriteString("- Calico Enterprise / Cloud: the policy board shows, per staged policy, the flows it would allow and deny;\n")
	b.WriteString("  flow logs list staged verdicts under `policies.pending_policies` (staged policies appear as\n")
	b.WriteString("  `staged:<name>`): search them for `deny`.\n\n")
	b.WriteString("A pending Deny is a flow the observation missed: learn again with the new flow logs (`flowfence learn`,\n")
	b.WriteString("then `flowfence generate --staged`) until a namespace sees none. `flowfence verify --policies <this tree>\n")
	b.WriteString("--from <new flow logs>` judges the staged policies as promoted (what they will enforce): exit 3 lists every\n")
	b.WriteString("observed flow promotion would cut. Then promote it: generate the same tree\n")
	b.WriteString("without `--staged` (same names, enforced kinds), `kubectl apply -k <namespace>`, and delete the staged copies:\n\n")
	b.WriteString("    kubectl delete stagednetworkpolicies.projectcalico.org -n <namespace> -l app.kubernetes.io/managed-by=flowfence\n")
	b.WriteString("    kubectl delete stagedglobalnetworkpolicies.projectcalico.org -l app.kubernetes.io/managed-by=flowfence   # with the guard\n")
	return b.Bytes()
}
