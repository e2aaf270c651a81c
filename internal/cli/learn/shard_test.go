package learn_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// TestShard: `learn --shard 0/2` and `--shard 1/2` of one relay, each into
// its graph, merged by `learn --from` the two graphs, make the graph
// `learn` of the whole relay makes (edges and counts); the summary says
// each is a shard; what --shard cannot honour is refused naming the flag.
func TestShard(t *testing.T) {
	r := relaytest.Start(t, relaytest.Sample(t), relay.Options{}, nil)
	from := "hubble://" + r.Addr
	dir := t.TempDir()
	learn := func(args ...string) (string, error) {
		t.Helper()
		_, stderr, _, err := clitest.Run(t, "", append([]string{"learn"}, args...)...)
		return stderr, err
	}
	if _, err := learn("--from", from, "--graph", filepath.Join(dir, "whole.json")); err != nil {
		t.Fatal(err)
	}
	var shards []string
	for _, s := range []string{"0/2", "1/2"} {
		g := filepath.Join(dir, "shard-"+s[:1]+".json")
		stderr, err := learn("--from", from, "--shard", s, "--graph", g)
		if err != nil {
			t.Fatalf("--shard %s: %v\n%s", s, err, stderr)
		}
		if !strings.Contains(stderr, "shard "+s+": ") || !strings.Contains(stderr, "merge every shard's graph") {
			t.Errorf("--shard %s: the summary does not say the graph is a shard:\n%s", s, stderr)
		}
		shards = append(shards, g)
	}
	merged := filepath.Join(dir, "merged.json")
	if _, err := learn("--from", shards[0], "--from", shards[1], "--graph", merged); err != nil {
		t.Fatal(err)
	}
	read := func(p string) *learner.Graph {
		t.Helper()
		g, err := learner.ReadGraphFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	whole, got := read(filepath.Join(dir, "whole.json")), read(merged)
	if len(got.Edges) != len(whole.Edges) || len(got.Denied) != len(whole.Denied) || !reflect.DeepEqual(got.Stats, whole.Stats) {
		t.Errorf("merged shards: %d edges, %d denied, %+v; the whole relay: %d, %d, %+v", len(got.Edges), len(got.Denied), got.Stats, len(whole.Edges), len(whole.Denied), whole.Stats)
	}
	for k, e := range whole.Edges {
		if g := got.Edges[k]; g == nil || g.Flows != e.Flows || g.Dropped != e.Dropped {
			t.Errorf("edge %s: merged shards %+v, whole %+v", k, g, e)
		}
	}

	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("hubble:\n  shard: 1/2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"learn", "--from", from, "--shard", "2/2", "--graph", filepath.Join(dir, "x.json")}, `--shard "2/2": want I/N`},
		{[]string{"learn", "--from", from, "--shard", "1", "--graph", filepath.Join(dir, "x.json")}, `--shard "1": want I/N`},
		{[]string{"learn", "--from", relaytest.SampleGlob(), "--shard", "0/2", "--graph", filepath.Join(dir, "x.json")}, "--shard 0/2: shards a Hubble Relay's nodes; --from"},
		{[]string{"generate", "--config", config, "--from", from, "--out", filepath.Join(dir, "tree")}, "--shard 1/2 (hubble.shard in the config file): only learn"},
		{[]string{"generate", "--from", from, "--shard", "0/2", "--out", filepath.Join(dir, "tree")}, "unknown flag: --shard"},
	} {
		_, _, _, err := clitest.Run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
	help, _, _, err := clitest.Run(t, "", "learn", "--help")
	if err != nil || !strings.Contains(help, "--shard") || !strings.Contains(help, "0 <= I < N") {
		t.Errorf("learn --help does not document --shard (%v):\n%s", err, help)
	}
}
