package cilium

import (
	"bytes"

	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
)

// RolloutNotes is the Cilium section of ROLLOUT.md: the cluster-wide guard
// to apply first, what the flavor relies on in the agent's configuration,
// and what --fqdn changes.
func (f Formatter) RolloutNotes(set *policy.Set) []byte {
	var b bytes.Buffer
	b.WriteString("\n## Cilium\n\n")
	b.WriteString("These are cilium.io/v2 objects, enforced by the Cilium agent (AdminNetworkPolicy and\n")
	b.WriteString("BaselineAdminNetworkPolicy are not enforced by Cilium: the cluster-wide guard here is a\n")
	b.WriteString("CiliumClusterwideNetworkPolicy).\n\n")
	b.WriteString("1. Apply the metadata guard first, on its own: `kubectl apply -k " + output.ClusterDir + "`\n")
	b.WriteString("   (CiliumClusterwideNetworkPolicy `" + GuardName + "`). It denies every pod of every namespace the\n")
	b.WriteString("   cloud credential endpoints listed above, and nothing else: `enableDefaultDeny` is false for\n")
	b.WriteString("   ingress and egress, so it puts no pod into default-deny — a pod without any other policy keeps\n")
	b.WriteString("   all its other traffic. Deny wins over every allow, so no namespace policy can re-open them.\n")
	b.WriteString("   Where an address also serves DNS (GKE Cloud DNS and Azure DNS on port 53) only the other ports\n")
	b.WriteString("   are denied (port ranges: Cilium 1.16 or later). It covers system namespaces too: a system pod\n")
	b.WriteString("   that needs the metadata server (a CSI driver or controller without workload identity) needs a\n")
	b.WriteString("   named opt-in in config `metadata.allow`, which takes exactly that workload out of the deny.\n")
	b.WriteString("   Watch for it: `hubble observe --verdict DROPPED --to-ip 169.254.169.254`.\n")
	b.WriteString("2. Then the namespaces, one at a time, in the order of the table above (`kubectl apply -k <namespace>`).\n")
	if set.DenyScope == policy.DenyScopeObserved {
		b.WriteString("   Deny scope observed: each observed workload's `-ingress` and `-egress` policies select its pods,\n")
		b.WriteString("   with `[{}]` (a rule that selects no peer) where nothing was observed: both directions are\n")
		b.WriteString("   default-deny for those pods only. Traffic from the pod's own node (kubelet probes) stays allowed\n")
		b.WriteString("   by the agent.\n\n")
	} else {
		b.WriteString("   `00-default-deny.yaml` selects every pod of the namespace with `ingress: [{}]` and `egress: [{}]`\n")
		b.WriteString("   (rules that select no peer): both directions are default-deny, the other files allow what was\n")
		b.WriteString("   observed. Traffic from the pod's own node (kubelet probes) stays allowed by the agent.\n\n")
	}
	b.WriteString("Roll back a namespace with `kubectl delete -k <namespace>`; the guard with `kubectl delete -k " + output.ClusterDir + "`.\n\n")
	b.WriteString("What this flavor relies on in the agent: ICMP rules (`icmps`, written as echo requests) need\n")
	b.WriteString("`enable-icmp-rules` (the default); nodes are the `host` and `remote-node` entities and the API\n")
	b.WriteString("server is `kube-apiserver` (CIDR rules match neither on Cilium); the internet calling a public\n")
	b.WriteString("entrypoint is the `world` entity, on the observed ports only.\n")
	if f.FQDN {
		b.WriteString("\n### --fqdn\n\n")
		b.WriteString("External peers with observed DNS names are `toFQDNs` rules (matchName, or a configured\n")
		b.WriteString("`cilium.fqdn-patterns` matchPattern) on the observed ports instead of /32 CIDRs. Cilium learns\n")
		b.WriteString("the addresses from the DNS answers its DNS proxy sees, so the DNS bundle of each namespace with\n")
		b.WriteString("such rules carries `rules.dns` (matchPattern \"*\"): that namespace's DNS then goes through the\n")
		b.WriteString("agent's L7 proxy (`enable-l7-proxy`, the default) and depends on it. Namespaces without\n")
		b.WriteString("toFQDNs rules keep plain L4 DNS. Pods must resolve the name before connecting (a cached\n")
		b.WriteString("address from before the policy is not known to the agent): restart long-running clients after\n")
		b.WriteString("applying, or watch for drops to their peers.\n")
	} else {
		b.WriteString("\nNo rule depends on the agent's L7 proxy (no `rules.dns`, no `toFQDNs`); `--fqdn` writes external\n")
		b.WriteString("peers by DNS name instead, at the price of DNS going through the proxy.\n")
	}
	return b.Bytes()
}
