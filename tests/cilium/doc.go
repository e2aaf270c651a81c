// Package cilium checks flowfence's cilium flavor and cluster guardrails
// against the real thing: every CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy flowfence writes is decoded strictly into
// Cilium's own types (github.com/cilium/cilium pkg/k8s/apis/cilium.io/v2)
// and parsed with Cilium's sanitizer as an agent with the L7 proxy and ICMP
// rules enabled would; the rules are then loaded into Cilium's policy
// repository (pkg/policy) and the sample scenario's probes are replayed
// with Cilium's own flow lookup. AdminNetworkPolicy and
// BaselineAdminNetworkPolicy objects are decoded strictly into
// sigs.k8s.io/network-policy-api. It is a separate module so that Cilium's
// pkg/ never enters flowfence's own go.mod; all its code is in tests.
package cilium
