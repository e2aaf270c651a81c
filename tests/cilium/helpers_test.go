package cilium

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy/api"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/synth"
)

const (
	sampleGlob   = "../../testdata/flows/*.json*"
	capturesGlob = "../../../shared/captures/hubble/*"
)

// TestMain configures Cilium's agent options as a cluster would run them:
// the L7 proxy (DNS proxy for toFQDNs), ICMP rules and non-default-deny
// policies (enableDefaultDeny) enabled — the agent's defaults, set
// explicitly so the checks do not depend on them — and the cluster name
// ("default", as the identities and the parsed rules carry it).
func TestMain(m *testing.M) {
	option.Config.EnableL7Proxy = true
	option.Config.EnableICMPRules = true
	option.Config.EnableNonDefaultDenyPolicies = true
	// the agent names its cluster at start: the cluster entity selects
	// the reserved node identities and this cluster's pods (unset, it is
	// an empty selector list: a wildcard with ports)
	api.InitEntities("default")
	os.Exit(m.Run())
}

func learn(t *testing.T, glob string) *learner.Graph {
	t.Helper()
	g, _, err := pipeline.Learn(context.Background(), []string{glob}, pipeline.LearnOptions{Collect: collectors.Options{}}, nil)
	if err != nil {
		t.Fatalf("learn %s: %v", glob, err)
	}
	return g
}

func render(t *testing.T, g *learner.Graph, format string, fo pipeline.FormatterOptions, so synth.Options) (*policy.Set, output.Tree) {
	t.Helper()
	f, err := pipeline.NewFormatter(format, fo)
	if err != nil {
		t.Fatal(err)
	}
	set, tree, err := pipeline.RenderWith(g, so, f)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return set, tree
}

// docs splits a YAML file into its documents (comments kept: YAML ignores
// them).
func docs(data []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func kindOf(t *testing.T, name string, doc []byte) string {
	t.Helper()
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tm.APIVersion + "/" + tm.Kind
}

// ciliumRules decodes one CiliumNetworkPolicy or
// CiliumClusterwideNetworkPolicy strictly into Cilium's types and parses it
// with Cilium's sanitizer: the api.Rules the agent would load.
func ciliumRules(name string, doc []byte) (api.Rules, error) {
	var tm struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	switch tm.Kind {
	case "CiliumNetworkPolicy":
		var cnp v2.CiliumNetworkPolicy
		if err := yaml.UnmarshalStrict(doc, &cnp); err != nil {
			return nil, fmt.Errorf("%s: strict decode: %w", name, err)
		}
		return cnp.Parse(log, "default")
	case "CiliumClusterwideNetworkPolicy":
		var ccnp v2.CiliumClusterwideNetworkPolicy
		if err := yaml.UnmarshalStrict(doc, &ccnp); err != nil {
			return nil, fmt.Errorf("%s: strict decode: %w", name, err)
		}
		return ccnp.Parse(log, "default")
	}
	return nil, fmt.Errorf("%s: kind %q is not a Cilium policy", name, tm.Kind)
}

// policyFiles returns the tree's policy YAML files (not kustomizations).
func policyFiles(tree output.Tree) []string {
	var out []string
	for _, p := range tree.Paths() {
		if strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, "kustomization.yaml") {
			out = append(out, p)
		}
	}
	return out
}

// allRules parses every Cilium policy of a tree.
func allRules(t *testing.T, tree output.Tree) api.Rules {
	t.Helper()
	var out api.Rules
	for _, p := range policyFiles(tree) {
		for _, d := range docs(tree[p]) {
			rs, err := ciliumRules(p, d)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			out = append(out, rs...)
		}
	}
	return out
}
