package hubble_test

import (
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
)

// policyDeniedLine is the POLICY_DENIED drop of the shared capture
// exporter-drops-2lines.jsonl (cilium/cilium Documentation/observability/
// hubble/configuration/export.rst, Apache-2.0), with deniedBy spliced
// into its flow.
func policyDeniedLine(deniedBy string) string {
	return `{"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"DROPPED","IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},` +
		`"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},"source":{"namespace":"default","pod_name":"xwing"},` +
		`"destination":{"namespace":"default","pod_name":"deathstar-7848d6c4d5-th9v2"},"node_name":"kind-kind/kind-worker","drop_reason_desc":"POLICY_DENIED"` +
		deniedBy + `},"node_name":"kind-kind/kind-worker","time":"2023-08-21T12:12:18.510175415Z"}`
}

// TestDeniedByFromCilium: a policy drop names the policy whose deny rule
// dropped it (ingress_denied_by / egress_denied_by, Cilium 1.16+), through
// the fast path (which leaves such lines to protojson) and DecodeLine; a
// name that is not a policy name is dropped.
func TestDeniedByFromCilium(t *testing.T) {
	for _, tc := range []struct {
		name, field, want string
		fast              bool // the fast path takes the line
	}{
		{"no deny rule named (a default-deny drop)", ``, "", true},
		{"an ingress deny rule", `,"ingress_denied_by":[{"name":"deny-xwing","namespace":"default","kind":"CiliumNetworkPolicy"}]`, "default/deny-xwing", false},
		{"an egress deny rule of a clusterwide policy", `,"egressDeniedBy":[{"name":"deny-all-egress","kind":"CiliumClusterwideNetworkPolicy"}]`, "deny-all-egress", false},
		{"a name that is not a policy name", `,"ingress_denied_by":[{"name":"x\n- to: []","namespace":"default"}]`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := []byte(policyDeniedLine(tc.field))
			var rec record.Record
			if _, _, ok, _, err := hubble.DecodeLine(line, &rec); !ok || err != nil {
				t.Fatalf("DecodeLine: ok %v, err %v", ok, err)
			}
			if rec.DeniedBy != tc.want || !rec.PolicyDrop {
				t.Errorf("DecodeLine: denied by %q (policy drop %v), want %q", rec.DeniedBy, rec.PolicyDrop, tc.want)
			}
			var fast record.Record
			_, ok, handled := hubble.NewFastDecoder().Decode(line, &fast)
			if handled != tc.fast {
				t.Fatalf("fast path took the line: %v, want %v", handled, tc.fast)
			}
			if handled && (!ok || fast.DeniedBy != tc.want) {
				t.Errorf("fast path: ok %v, denied by %q, want %q", ok, fast.DeniedBy, tc.want)
			}
			if strings.Contains(rec.DeniedBy, "\n") {
				t.Error("a newline reached the record")
			}
		})
	}
}
