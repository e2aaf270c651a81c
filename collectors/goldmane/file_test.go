package goldmane_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
)

func readFile(t *testing.T, path string) ([]record.Record, *collectors.Stats) {
	t.Helper()
	var recs []record.Record
	st, err := collectorstest.Run(t, path, collectors.FormatGoldmane, goldmane.NewFileSource, collectors.Options{Strict: true}, func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, st
}

func capture(t *testing.T) string {
	t.Helper()
	if dir, ok := testsupport.FindCaptures("goldmane"); ok {
		p := filepath.Join(dir, "goldmane-flow-protojson.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("shared/captures/goldmane not found above the package directory: skipping")
	return ""
}

// TestSavedShapes: the capture (pretty protojson), the same flow as the
// emitter's NDJSON (encoding/json of the generated struct: proto names,
// numbers), as a FlowResult line and inside a FlowListResult all read the
// same record.
func TestSavedShapes(t *testing.T) {
	raw, err := os.ReadFile(capture(t))
	if err != nil {
		t.Fatal(err)
	}
	var fl goldmanepb.Flow
	if err := protojson.Unmarshal(raw, &fl); err != nil {
		t.Fatalf("the capture is not a goldmane Flow: %v", err)
	}
	emitter, err := json.Marshal(&fl) // what the emitter POSTs, one per line
	if err != nil {
		t.Fatal(err)
	}
	compact, _ := protojson.Marshal(&fl)
	dir := t.TempDir()
	files := map[string]string{
		"capture (pretty protojson)": string(raw),
		"emitter NDJSON":             string(emitter) + "\n" + string(emitter) + "\n",
		"FlowResult lines":           `{"id":"7","flow":` + string(compact) + "}\n",
		"FlowListResult":             `{"meta":{"totalPages":"1"},"flows":[{"id":"7","flow":` + string(compact) + "}]}\n",
	}
	want := map[string]int{"emitter NDJSON": 2}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			recs, _ := readFile(t, p)
			n := want[name]
			if n == 0 {
				n = 1
			}
			if len(recs) != n {
				t.Fatalf("%d records, want %d", len(recs), n)
			}
			r := recs[0]
			if r.Src.Namespace != "longhorn-system" || r.Src.Pod != "longhorn-manager-*" || !r.Src.Aggregated || r.Src.Labels["app"] != "longhorn-manager" ||
				r.Dst.Pod != "instance-manager-318f1eac2bc7c775b7a6d2e68e9e2800" || r.Dst.Port != 8503 || r.Proto != record.TCP ||
				r.Reporter != record.ReporterSrc || r.Verdict != record.Forwarded || r.Time.Unix() != 1764970845 || r.Src.IP.IsValid() {
				t.Errorf("record %+v", r)
			}
		})
	}
}

// TestDeniedByPolicyTrace: a denied flow names the enforced policy that
// denied it (the trigger of an end-of-tier deny), an allowed one none, and a
// name that is not a policy name is dropped.
func TestDeniedByPolicyTrace(t *testing.T) {
	hit := func(kind goldmanepb.PolicyKind, ns, name string, a goldmanepb.Action) *goldmanepb.PolicyHit {
		return &goldmanepb.PolicyHit{Kind: kind, Namespace: ns, Name: name, Tier: "default", Action: a}
	}
	eot := hit(goldmanepb.PolicyKind_EndOfTier, "", "", goldmanepb.Action_Deny)
	eot.Trigger = hit(goldmanepb.PolicyKind_CalicoNetworkPolicy, "shop", "default.cart", goldmanepb.Action_Deny)
	for _, tc := range []struct {
		name     string
		action   goldmanepb.Action
		enforced []*goldmanepb.PolicyHit
		want     string
	}{
		{"a deny rule", goldmanepb.Action_Deny, []*goldmanepb.PolicyHit{
			hit(goldmanepb.PolicyKind_GlobalNetworkPolicy, "", "security.tenants", goldmanepb.Action_Pass),
			hit(goldmanepb.PolicyKind_CalicoNetworkPolicy, "shop", "default.deny-access-nginx", goldmanepb.Action_Deny)}, "shop/default.deny-access-nginx"},
		{"an end-of-tier deny names the tier's policy", goldmanepb.Action_Deny, []*goldmanepb.PolicyHit{eot}, "shop/default.cart"},
		{"a global policy", goldmanepb.Action_Deny, []*goldmanepb.PolicyHit{hit(goldmanepb.PolicyKind_GlobalNetworkPolicy, "", "deny-all", goldmanepb.Action_Deny)}, "deny-all"},
		{"allowed", goldmanepb.Action_Allow, []*goldmanepb.PolicyHit{hit(goldmanepb.PolicyKind_NetworkPolicy, "shop", "allow", goldmanepb.Action_Allow)}, ""},
		{"a hostile name", goldmanepb.Action_Deny, []*goldmanepb.PolicyHit{hit(goldmanepb.PolicyKind_NetworkPolicy, "shop", "x\n- to: []", goldmanepb.Action_Deny)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &goldmanepb.Flow{StartTime: 1764970845, Key: &goldmanepb.FlowKey{
				SourceName: "frontend-*", SourceNamespace: "shop", SourceType: goldmanepb.EndpointType_WorkloadEndpoint,
				DestName: "nginx-*", DestNamespace: "shop", DestType: goldmanepb.EndpointType_WorkloadEndpoint, DestPort: 80,
				Proto: "tcp", Reporter: goldmanepb.Reporter_Dst, Action: tc.action, Policies: &goldmanepb.PolicyTrace{EnforcedPolicies: tc.enforced}}}
			var rec record.Record
			if skip, ok := goldmane.ConvertFlow(f, &rec); !ok {
				t.Fatalf("skipped: %s", skip)
			}
			if rec.DeniedBy != tc.want {
				t.Errorf("denied by %q, want %q", rec.DeniedBy, tc.want)
			}
		})
	}
}
