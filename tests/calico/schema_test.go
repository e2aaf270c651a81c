package calicotests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

// calicoModule is the module whose CRDs are the reference: the only
// github.com/projectcalico/calico version the module proxy serves
// (Calico v3.28.5), required in go.mod.
const calicoModule = "github.com/projectcalico/calico"

var (
	crdOnce sync.Once
	crdDir  string
	crdErr  error
)

// crdPath downloads the calico module into the module cache (once) and
// returns libcalico-go/config/crd inside it.
func crdPath(t *testing.T) string {
	t.Helper()
	crdOnce.Do(func() {
		out, err := exec.Command("go", "mod", "download", "-json", calicoModule).Output()
		if err != nil {
			crdErr = fmt.Errorf("go mod download %s: %w (%s)", calicoModule, err, exitOutput(err))
			return
		}
		var m struct{ Dir, Version, Error string }
		if err := json.Unmarshal(out, &m); err != nil || m.Error != "" {
			crdErr = fmt.Errorf("go mod download %s: %v %s", calicoModule, err, m.Error)
			return
		}
		dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", calicoModule).Output()
		if err != nil {
			crdErr = fmt.Errorf("go list -m %s: %w (%s)", calicoModule, err, exitOutput(err))
			return
		}
		crdDir = filepath.Join(strings.TrimSpace(string(dir)), "libcalico-go", "config", "crd")
	})
	if crdErr != nil {
		t.Fatal(crdErr)
	}
	return crdDir
}

func exitOutput(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// schema compiles the openAPIV3Schema of one CRD file, made strict: every
// object schema that lists its properties rejects other properties (the
// API server would silently prune an unknown field, which for a policy
// means a rule that does not say what it was generated to say).
func schema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(crdPath(t), file))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	versions := doc.(map[string]any)["spec"].(map[string]any)["versions"].([]any)
	s := versions[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	strict(s)
	c := jsonschema.NewCompiler()
	if err := c.AddResource(file, s); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(file)
	if err != nil {
		t.Fatalf("%s: compile: %v", file, err)
	}
	return sch
}

func strict(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok {
			_, ap := x["additionalProperties"]
			_, pu := x["x-kubernetes-preserve-unknown-fields"]
			if !ap && !pu {
				x["additionalProperties"] = false
			}
		}
		for _, c := range x {
			strict(c)
		}
	case []any:
		for _, c := range x {
			strict(c)
		}
	}
}

// variants are the trees the tests check: the sample scenario in every
// option combination, plus an opt-in and a set with IPv6, ICMPv6 and
// NodeLocal DNS.
func variants(t *testing.T) map[string][]*caliout.Object {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{"../../testdata/flows/*.json*"}, pipeline.LearnOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*caliout.Object{}
	optIn := []policy.OptIn{{Namespace: "payments", Workload: "fraud", Address: "169.254.169.254", Port: 80}}
	for _, v := range []struct {
		name  string
		f     caliout.Formatter
		allow []policy.OptIn
		cloud string
	}{
		{"default tier", caliout.Formatter{}, nil, ""},
		{"tier app", caliout.Formatter{Tier: "app"}, nil, "aws"},
		{"staged", caliout.Formatter{Staged: true}, nil, "gcp"},
		{"staged in tier app, opt-in", caliout.Formatter{Tier: "app", Staged: true}, optIn, "azure"},
	} {
		_, tree, err := pipeline.RenderWith(g, synth.Options{CNI: synth.CNICalico, Cloud: v.cloud, MetadataAllow: v.allow}, v.f)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		objs, err := caliout.DecodeTree(tree)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		out[v.name] = objs
	}
	out["handmade IPv6, ICMPv6, NodeLocal DNS"] = handmade(t)
	return out
}

func handmade(t *testing.T) []*caliout.Object {
	t.Helper()
	guard, err := synth.NewGuard("generic", nil)
	if err != nil {
		t.Fatal(err)
	}
	pfx := netip.MustParsePrefix
	set := &policy.Set{Guard: guard, Namespaces: []*policy.Namespace{{Name: "web", Policies: []*policy.Policy{
		{Name: "default-deny", Namespace: "web", Kind: policy.KindDefaultDeny, Ingress: true, Egress: true},
		{Name: "allow-dns", Namespace: "web", Kind: policy.KindDNS, Egress: true, EgressRules: []policy.Rule{{
			Peers: []policy.Peer{{CIDRs: []policy.CIDR{{Prefix: pfx("169.254.20.10/32")}}}},
			Ports: []policy.Port{{Proto: record.UDP, Port: 53}, {Proto: record.TCP, Port: 53}},
		}}},
		{Name: "api-ingress", Namespace: "web", Kind: policy.KindIngress, Workload: "api", Subject: map[string]string{"app": "api"}, Ingress: true,
			IngressRules: []policy.Rule{
				{Peers: []policy.Peer{{Pods: &policy.PodPeer{Namespace: "edge", Selector: map[string]string{"app.kubernetes.io/name": "gw"}}}},
					Ports: []policy.Port{{Proto: record.TCP, Port: 8443}, {Proto: record.ICMPv4}, {Proto: record.ICMPv6}}},
				{Peers: []policy.Peer{{CIDRs: []policy.CIDR{{Prefix: pfx("::/0"), Except: []netip.Prefix{pfx("fe80::/10")}}}}},
					Ports: []policy.Port{{Proto: record.TCP, Port: 443}, {Proto: record.ICMPv6}}},
			}},
		{Name: "api-egress", Namespace: "web", Kind: policy.KindEgress, Workload: "api", Subject: map[string]string{"app": "api"}, Egress: true,
			EgressRules: []policy.Rule{
				{Peers: []policy.Peer{{CIDRs: []policy.CIDR{{Prefix: pfx("2001:db8::10/128")}}, Names: []string{"db.example.com"}}},
					Ports: []policy.Port{{Proto: record.SCTP, Port: 3868}, {Proto: record.UDP}}},
				{Peers: []policy.Peer{{Pods: &policy.PodPeer{Selector: map[string]string{"app": "cache"}}}}},
			}},
	}}}}
	var objs []*caliout.Object
	for _, f := range []caliout.Formatter{{}, {Tier: "web-tier", Staged: true}} {
		tree, err := f.Render(set)
		if err != nil {
			t.Fatal(err)
		}
		o, err := caliout.DecodeTree(tree)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

// reference are the fields Calico v3.28.5's CRDs predate, checked against
// Calico's current resource reference instead (docs: Tier, staged network
// policy, staged global network policy; libcalico-go CRDs of v3.30+).
type reference struct {
	tier, stagedAction string
}

// split removes the post-3.28 fields from a policy spec for schema
// validation and returns them.
func split(obj map[string]any) reference {
	spec, _ := obj["spec"].(map[string]any)
	var r reference
	if v, ok := spec["tier"].(string); ok {
		r.tier = v
		delete(spec, "tier")
	}
	if v, ok := spec["stagedAction"].(string); ok {
		r.stagedAction = v
		delete(spec, "stagedAction")
	}
	return r
}

func instance(t *testing.T, o *caliout.Object) map[string]any {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

// TestObjectsMatchCalicoCRDSchemas validates every object of every variant:
// the (global) network policies against Calico v3.28.5's CRD schemas — the
// staged kinds too, whose spec is a policy spec plus stagedAction — and the
// fields that version lacks (tier, stagedAction, the Tier kind) against the
// current reference.
func TestObjectsMatchCalicoCRDSchemas(t *testing.T) {
	np := schema(t, "crd.projectcalico.org_networkpolicies.yaml")
	gnp := schema(t, "crd.projectcalico.org_globalnetworkpolicies.yaml")
	for name, objs := range variants(t) {
		t.Run(name, func(t *testing.T) {
			tiers := map[string]bool{}
			for _, o := range objs {
				if o.Kind == caliout.KindTier {
					tiers[o.Metadata.Name] = true
				}
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.Kind]++
				inst := instance(t, o)
				where := o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
				var sch *jsonschema.Schema
				staged := false
				switch o.Kind {
				case caliout.KindTier:
					checkTier(t, where, inst)
					continue
				case caliout.KindNetworkPolicy:
					sch = np
				case caliout.KindStagedNetworkPolicy:
					sch, staged = np, true
				case caliout.KindGlobalNetworkPolicy:
					sch = gnp
				case caliout.KindStagedGlobalNetworkPolicy:
					sch, staged = gnp, true
				default:
					t.Errorf("%s: unexpected kind", where)
					continue
				}
				ref := split(inst)
				if err := sch.Validate(inst); err != nil {
					t.Errorf("%s does not match Calico's CRD schema:\n%v", where, err)
				}
				checkReference(t, where, o.Metadata.Name, ref, staged, tiers)
			}
			if kinds[caliout.KindTier] == 0 {
				t.Errorf("no Tier object (the metadata guard needs its own tier)")
			}
		})
	}
}

// checkTier checks a Tier against the current reference: spec has only
// order (a number) and defaultAction (Deny or Pass).
func checkTier(t *testing.T, where string, inst map[string]any) {
	t.Helper()
	spec, _ := inst["spec"].(map[string]any)
	for k := range spec {
		if k != "order" && k != "defaultAction" {
			t.Errorf("%s: spec.%s is not a Tier field", where, k)
		}
	}
	if _, ok := spec["order"].(json.Number); !ok {
		t.Errorf("%s: spec.order %v is not a number", where, spec["order"])
	}
	if a := spec["defaultAction"]; a != "Deny" && a != "Pass" {
		t.Errorf("%s: spec.defaultAction %v: want Deny or Pass", where, a)
	}
	if md, _ := inst["metadata"].(map[string]any); md["namespace"] != nil {
		t.Errorf("%s: a Tier is cluster-scoped", where)
	}
}

// checkReference checks tier and stagedAction: stagedAction is one of the
// documented values and appears exactly on the staged kinds (flowfence
// writes Set); a tier names a Tier of the same tree (a policy cannot be
// created in a missing tier) and prefixes the policy name.
func checkReference(t *testing.T, where, name string, ref reference, staged bool, tiers map[string]bool) {
	t.Helper()
	if ref.stagedAction != "" && !slices.Contains([]string{"Set", "Delete", "Learn", "Ignore"}, ref.stagedAction) {
		t.Errorf("%s: stagedAction %q is not Set, Delete, Learn or Ignore", where, ref.stagedAction)
	}
	if staged != (ref.stagedAction == "Set") {
		t.Errorf("%s: stagedAction %q on a staged=%v kind", where, ref.stagedAction, staged)
	}
	if ref.tier != "" && ref.tier != "default" {
		if !tiers[ref.tier] {
			t.Errorf("%s: tier %q is not emitted in the tree", where, ref.tier)
		}
		if !strings.HasPrefix(name, ref.tier+".") {
			t.Errorf("%s: name does not start with its tier %q", where, ref.tier+".")
		}
	}
}

// TestSchemaRejectsWhatCalicoRejects makes sure the validator is real:
// objects broken the way a formatter bug would break them fail.
func TestSchemaRejectsWhatCalicoRejects(t *testing.T) {
	np := schema(t, "crd.projectcalico.org_networkpolicies.yaml")
	ok := func() map[string]any {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy",
			"metadata":{"name":"api-ingress","namespace":"web"},
			"spec":{"selector":"app == 'api'","types":["Ingress"],"ingress":[{"action":"Allow","protocol":"TCP",
			"source":{"selector":"app == 'web'","nets":["10.0.0.0/8"],"notNets":["10.1.0.0/16"]},"destination":{"ports":[8080,"9000:9010"]}}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		return v.(map[string]any)
	}
	if err := np.Validate(ok()); err != nil {
		t.Fatalf("a valid policy is rejected: %v", err)
	}
	rule := func(m map[string]any) map[string]any {
		return m["spec"].(map[string]any)["ingress"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		break_ func(m map[string]any)
	}{
		{"unknown spec field (pruned silently by the API server)", func(m map[string]any) { m["spec"].(map[string]any)["podSelector"] = "app == 'api'" }},
		{"unknown rule field", func(m map[string]any) { rule(m)["ports"] = []any{json.Number("80")} }},
		{"selector not a string", func(m map[string]any) { m["spec"].(map[string]any)["selector"] = map[string]any{"app": "api"} }},
		{"rule without action", func(m map[string]any) { delete(rule(m), "action") }},
		{"ports not a list", func(m map[string]any) { rule(m)["destination"].(map[string]any)["ports"] = json.Number("8080") }},
		{"nets not strings", func(m map[string]any) { rule(m)["source"].(map[string]any)["nets"] = []any{json.Number("10")} }},
		{"types not a list", func(m map[string]any) { m["spec"].(map[string]any)["types"] = "Ingress" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok()
			tc.break_(m)
			if err := np.Validate(m); err == nil {
				t.Errorf("accepted")
			}
		})
	}
}
