package calico

import (
	"testing"

	"github.com/flowfence/flowfence/record"
)

// TestDeniedBy: which policy a denied record names, from the shapes of the
// policies field Calico Enterprise versions write.
func TestDeniedBy(t *testing.T) {
	for _, tc := range []struct {
		name, field, want string
	}{
		{"the deny entry of all_policies", `{"all_policies":["0|default|default.deny-access-nginx|deny|0"]}`, "default.deny-access-nginx"},
		{"namespaced, after a pass", `{"all_policies":["0|security|security.tenant|pass|0","1|default|policy-demo/default.deny-access-nginx|deny|-1"]}`,
			"policy-demo/default.deny-access-nginx"},
		{"the lowest index, whatever the list order", `{"all_policies":["2|t|ns/t.late|deny|0","1|t|ns/t.early|deny|0"]}`, "ns/t.early"},
		{"older entries without a rule index", `{"all_policies":["0|default|policy-demo/default.deny-all|deny"]}`, "policy-demo/default.deny-all"},
		{"a staged deny enforces nothing", `{"all_policies":["0|tier2|ns2/staged:tier2.p|deny|1","1|default|ns/default.real|deny|0"]}`, "ns/default.real"},
		{"enforced_policies decides when present",
			`{"all_policies":["0|t|ns/staged:t.p|deny|1","1|default|ns/default.other|deny|0"],"enforced_policies":["0|default|ns/knp.default.deny-db|deny|0"]}`,
			"ns/knp.default.deny-db"},
		{"a bare list", `["0|default|default.deny|deny|0"]`, "default.deny"},
		{"case of the action", `{"all_policies":["0|default|default.deny|Deny|0"]}`, "default.deny"},
		{"no deny entry", `{"all_policies":["0|default|default.allow|allow|0"]}`, ""},
		{"null", `null`, ""},
		{"absent", ``, ""},
		{"another shape", `{"all_policies":"0|default|default.deny|deny|0"}`, ""},
		{"a profile is not a policy name", `{"all_policies":["0|__PROFILE__|__PROFILE__.kns.default|deny|0"]}`, ""},
		{"YAML in the name", `{"all_policies":["0|default|x\n- to: []|deny|0"]}`, ""},
		{"markup in the name", `{"all_policies":["0|default|<img src=x>|deny|0"]}`, ""},
		{"an escape sequence in the name", `{"all_policies":["0|default|default.deny\u001b]0;t\u0007|deny|0"]}`, ""},
		{"an invalid first deny is not replaced by a later one", `{"all_policies":["0|t|<b>|deny|0","1|t|t.next|deny|0"]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RawJSON(tc.field).DeniedBy(); got != tc.want {
				t.Errorf("DeniedBy(%s) = %q, want %q", tc.field, got, tc.want)
			}
		})
	}
}

// TestDeniedByOnlyForDenials: an allowed record names no denying policy,
// and a denied one names it through both decoders (the fast path's view
// of the field and DecodeDocument's copy).
func TestDeniedByOnlyForDenials(t *testing.T) {
	line := func(action, reporter string) string {
		return `{"start_time":1763251200,"source_ip":"10.244.1.10","source_name":"frontend-6b7d9c4f5-x2x7q","source_name_aggr":"frontend-6b7d9c4f5-*",` +
			`"source_namespace":"shop","source_type":"wep","dest_ip":"10.244.2.20","dest_name":"cart-5d8f9b7c4-k2l4m","dest_name_aggr":"cart-5d8f9b7c4-*",` +
			`"dest_namespace":"shop","dest_port":8080,"dest_type":"wep","proto":"tcp","action":"` + action + `","reporter":"` + reporter + `",` +
			`"policies":{"all_policies":["0|default|shop/default.deny-cart|deny|0"]},"num_flows":1,"host":"node-b"}`
	}
	deny, allow := line("deny", "dst"), line("allow", "src")
	fd := newFastDecoder()
	for _, tc := range []struct{ line, want string }{{deny, "shop/default.deny-cart"}, {allow, ""}} {
		for range 2 { // the second time through the fast path's kept members
			var rec record.Record
			if _, ok, handled, err := fd.decode([]byte(tc.line), &rec); !handled || !ok || err != nil {
				t.Fatalf("fast path: handled %v ok %v err %v", handled, ok, err)
			}
			if rec.DeniedBy != tc.want {
				t.Errorf("fast path: denied by %q, want %q", rec.DeniedBy, tc.want)
			}
		}
		logs, _, err := DecodeDocument([]byte(tc.line))
		if err != nil {
			t.Fatal(err)
		}
		var rec record.Record
		Convert(&logs[0], &rec)
		if rec.DeniedBy != tc.want {
			t.Errorf("DecodeDocument: denied by %q, want %q", rec.DeniedBy, tc.want)
		}
	}
}
