package nats

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// flows are the sample's three node files: each run of a publisher below
// learns some of them (a cluster's checkpoints are its runs).
var flows = []string{"../../testdata/flows/node-a.jsonl", "../../testdata/flows/node-b.json.gz", "../../testdata/flows/node-c-legacy.json"}

// clusterRuns are three clusters, each learning in two or three runs
// (two or three deltas), from different files.
var clusterRuns = map[string][][]string{
	"prod-eu-1":  {{flows[0]}, {flows[1]}, {flows[2]}},
	"prod-us-1":  {{flows[1], flows[2]}, {flows[0]}},
	"staging-eu": {{flows[2]}, {flows[0], flows[1]}},
}

// publish runs one cluster's learn runs against url, each publishing its delta.
func publish(t *testing.T, dir, url, cluster string, runs [][]string) string {
	t.Helper()
	g := filepath.Join(dir, cluster+".json")
	for _, files := range runs {
		args := []string{"learn", "--quiet", "--graph", g, "--publish", url, "--cluster", cluster, "--nats-replicas", "3"}
		for _, f := range files {
			args = append(args, "--from", f)
		}
		run(t, args...)
	}
	return g
}

// relayOf starts `flowfence relay` replaying files (all buffered at once)
// until the test ends and returns its hubble:// URL once it listens.
func relayOf(t *testing.T, files ...string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"relay", "--listen", addr}
	for _, f := range files {
		args = append(args, "--from", f)
	}
	p, buf := start(t, args...)
	t.Cleanup(func() { kill9(p) })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "hubble://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("flowfence relay does not listen on %s:\n%s", addr, buf)
		}
	}
}

// publishShards runs `learn --shard I/N` of the relay for every shard,
// each into its own graph file (copied from start when given), publishing
// as cluster; it returns the shards' graph files.
func publishShards(t *testing.T, dir, url, cluster, relay string, n int, start string) []string {
	t.Helper()
	var out []string
	for i := range n {
		g := filepath.Join(dir, fmt.Sprintf("%s-shard%d.json", cluster, i))
		if start != "" {
			b, err := os.ReadFile(start)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(g, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run(t, "learn", "--quiet", "--from", relay, "--shard", fmt.Sprintf("%d/%d", i, n), "--graph", g,
			"--publish", url, "--cluster", cluster, "--nats-replicas", "3")
		out = append(out, g)
	}
	return out
}

// union learns the expected graph: the per-cluster graphs merged.
func union(t *testing.T, dir, name string, graphs ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := []string{"learn", "--quiet", "--replace", "--graph", out}
	for _, g := range graphs {
		args = append(args, "--from", g)
	}
	run(t, args...)
	return out
}

// TestFleet: three clusters on a three-node cluster with replicas 3 —
// two publishers of two or three checkpoints each, and one cluster
// (prod-us-1, a `flowfence relay` replaying its nodes) published by two
// shard publishers (--shard 0/2 and 1/2, one --cluster) — one NATS node
// stopped and restarted between their runs, two aggregators with
// different cluster filters: each fleet graph equals the union of its
// clusters' graphs (the sharded one learned whole), edge by edge and count
// by count; a second drain merges nothing twice.
func TestFleet(t *testing.T) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	url := c.url(0)
	graphs := map[string]string{}
	i := 0
	for _, cl := range []string{"prod-eu-1", "prod-us-1", "staging-eu"} {
		if i == 1 {
			c.stop(2) // a replica down while deltas come
		}
		if cl == "prod-us-1" {
			relay := relayOf(t, flows...)
			shards := publishShards(t, dir, url, cl, relay, 2, "")
			// what the fleet must hold of it: the cluster learned whole
			graphs[cl] = filepath.Join(dir, cl+".json")
			run(t, "learn", "--quiet", "--from", relay, "--graph", graphs[cl])
			sameGraph(t, "prod-us-1's shards merged", readGraph(t, union(t, dir, "prod-us-1-shards.json", shards...)), readGraph(t, graphs[cl]))
		} else {
			graphs[cl] = publish(t, dir, url, cl, clusterRuns[cl])
		}
		if i == 1 {
			c.start(2)
		}
		i++
	}
	info := streamInfo(t, url, "FLOWFENCE")
	if info.Config.Replicas != 3 {
		t.Fatalf("stream replicas %d, want 3", info.Config.Replicas)
	}
	if info.State.Msgs < 7 {
		t.Fatalf("stream holds %d messages, want at least the 7 deltas (3 + 2 shards + 2)", info.State.Msgs)
	}
	prod := filepath.Join(dir, "fleet-prod.json")
	staging := filepath.Join(dir, "fleet-staging.json")
	// the second aggregator reads through another node
	run(t, "learn", "--quiet", "--from", url+"/FLOWFENCE?cluster=prod-*", "--graph", prod)
	run(t, "learn", "--quiet", "--from", c.url(1)+"/FLOWFENCE?cluster=staging-eu", "--graph", staging)
	sameGraph(t, "prod fleet", readGraph(t, prod), readGraph(t, union(t, dir, "want-prod.json", graphs["prod-eu-1"], graphs["prod-us-1"])))
	sameGraph(t, "staging fleet", readGraph(t, staging), readGraph(t, union(t, dir, "want-staging.json", graphs["staging-eu"])))
	// drained again: nothing new, nothing doubled
	run(t, "learn", "--quiet", "--from", url+"/FLOWFENCE?cluster=prod-*", "--graph", prod)
	sameGraph(t, "prod fleet drained twice", readGraph(t, prod), readGraph(t, filepath.Join(dir, "want-prod.json")))
	// generate per cluster and for the fleet read the stream without a consumer of their own
	out := filepath.Join(dir, "tree")
	run(t, "generate", "--quiet", "--from", url+"?cluster=prod-eu-1", "--out", out)
	run(t, "generate", "--quiet", "--from", url+"?cluster=prod-*", "--out", out+"-fleet")
}

// TestPublisherKilled: a live publisher (flowfence relay → learn --follow
// --publish, checkpoints every 100ms) killed with SIGKILL three times and
// restarted: the fleet graph equals the publisher's own graph file, edge
// by edge (no delta lost or doubled); an aggregator killed with SIGKILL
// while following and restarted does not double what it had merged.
func TestPublisherKilled(t *testing.T) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	url := c.url(0)
	port := freePort(t)
	relay, _ := start(t, "relay", "--from", flows[0], "--from", flows[1], "--from", flows[2], "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--pace", "realtime", "--speed", "600", "--loop")
	defer kill9(relay)
	time.Sleep(500 * time.Millisecond)
	g := filepath.Join(dir, "prod-eu-1.json")
	learn := []string{"learn", "--from", fmt.Sprintf("hubble://127.0.0.1:%d", port), "--follow", "--checkpoint-interval", "100ms",
		"--graph", g, "--publish", url, "--cluster", "prod-eu-1", "--nats-replicas", "3"}
	fleet := filepath.Join(dir, "fleet.json")
	agg, _ := start(t, "learn", "--from", url+"?cluster=prod-*&ack-wait=2s", "--follow", "--checkpoint-interval", "100ms", "--graph", fleet)
	for k := range 3 {
		p, _ := start(t, learn...)
		time.Sleep(time.Duration(1200+400*k) * time.Millisecond)
		kill9(p)
		if k == 1 {
			kill9(agg)
		}
	}
	// the last run ends cleanly (SIGTERM: the final graph is written and published)
	p, buf := start(t, learn...)
	time.Sleep(2 * time.Second)
	_ = p.Process.Signal(syscall.SIGTERM)
	if err := p.Wait(); err != nil {
		t.Fatalf("publisher: %v\n%s", err, buf)
	}
	run(t, "learn", "--quiet", "--from", url+"?cluster=prod-*&ack-wait=2s", "--graph", fleet)
	if n := streamInfo(t, url, "FLOWFENCE").State.Msgs; n < 5 {
		t.Fatalf("the stream holds %d deltas: too few checkpoints for the kills to mean anything", n)
	}
	want := readGraph(t, g)
	sameGraph(t, "fleet after kills", readGraph(t, fleet), want)
}

// TestRefusals: wrong credentials and TLS failures give clear errors that
// hold no secret.
func TestRefusals(t *testing.T) {
	c := newCluster(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "flowfence", Password: "s3cret-pass"}}
	})
	dir := t.TempDir()
	url := c.url(0)
	g := filepath.Join(dir, "g.json")
	checkRefusals(t, url, g, []refusal{
		{"no credentials", nil, "refused the credentials (none given"},
		{"wrong password", []string{"--nats-user", "flowfence", "--nats-password", "wrong-Pa55word"}, "refused the credentials (user flowfence and a password)"},
		{"wrong token", []string{"--nats-token", "T0ken-value-xyz"}, "refused the credentials (a token)"},
		{"TLS to a plain server", []string{"--nats-user", "flowfence", "--nats-password", "s3cret-pass", "--nats-ca", filepath.Join(dir, "missing-ca.pem")}, "--nats-ca"},
	}, func(t *testing.T, out string) {
		for _, secret := range []string{"wrong-Pa55word", "T0ken-value-xyz", "s3cret-pass"} {
			if strings.Contains(out, secret) {
				t.Fatalf("output holds a secret:\n%s", out)
			}
		}
	})
	// the right password works
	run(t, "learn", "--quiet", "--from", flows[0], "--graph", g, "--publish", url, "--cluster", "c1", "--nats-user", "flowfence", "--nats-password", "s3cret-pass")
}

// TestFleetOnlyIn: three clusters learn the same flows but one also sees
// a request on a port the others never saw; generate --fleet over the
// three writes one tree that admits it, and ROLLOUT.md, the FLOWS.md of
// both namespaces and the run summary say that only that cluster saw it.
// --fleet without a nats:// source is refused.
func TestFleetOnlyIn(t *testing.T) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	url := c.url(0)
	raw, err := os.ReadFile(flows[0])
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	if !strings.Contains(first, `"destination_port":9090`) {
		t.Fatalf("the sample's first flow changed: %.200s", first)
	}
	extra := filepath.Join(dir, "extra.jsonl")
	if err := os.WriteFile(extra, []byte(strings.Replace(first, `"destination_port":9090`, `"destination_port":9999`, 1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	publish(t, dir, url, "prod-a", [][]string{{flows[0]}})
	publish(t, dir, url, "prod-b", [][]string{{flows[0]}})
	publish(t, dir, url, "prod-c", [][]string{{flows[0]}, {extra}})
	publish(t, dir, url, "staging", [][]string{{extra}}) // not matched by prod-*
	out := filepath.Join(dir, "tree")
	summary := run(t, "generate", "--from", url+"?cluster=prod-*", "--fleet", "--out", out)
	if want := "fleet:     3 clusters merged, edges only one observed: prod-a (0 only there), prod-b (0 only there), prod-c (1 only there)"; !strings.Contains(summary, want) {
		t.Errorf("run summary lacks %q:\n%s", want, summary)
	}
	rollout, err := os.ReadFile(filepath.Join(out, "ROLLOUT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"This tree merges the graphs of 3 clusters (prod-a, prod-b, prod-c)",
		"### Only in cluster prod-a\n\nNothing: another cluster observed every edge this one did.",
		"### Only in cluster prod-c\n\n| from | to | protocol | port | flows | first seen | last seen |\n|---|---|---|---|---|---|---|\n| monitoring/prometheus | shop/frontend | TCP | 9999 | 1 |",
	} {
		if !strings.Contains(string(rollout), want) {
			t.Errorf("ROLLOUT.md lacks %q", want)
		}
	}
	for _, ns := range []string{"monitoring", "shop"} {
		doc, err := os.ReadFile(filepath.Join(out, ns, "FLOWS.md"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "## Only in cluster prod-c") || !strings.Contains(string(doc), "| monitoring/prometheus | shop/frontend | TCP | 9999 | 1 |") {
			t.Errorf("%s/FLOWS.md does not say that only prod-c saw port 9999", ns)
		}
	}
	// the tree admits it: the shop namespace's evidence has the edge admitted
	shop, _ := os.ReadFile(filepath.Join(out, "shop", "FLOWS.md"))
	found := false
	for _, line := range strings.Split(string(shop), "\n") {
		if strings.HasPrefix(line, "| frontend | ingress | monitoring/prometheus | TCP | 9999 |") {
			found = true
			if cells := strings.Split(line, "|"); !strings.Contains(cells[len(cells)-2], "frontend") {
				t.Errorf("the fleet tree does not admit what prod-c saw (no frontend policy): %s", line)
			}
		}
	}
	if !found {
		t.Error("shop/FLOWS.md has no evidence row for port 9999")
	}
	if out, err := runErr("generate", "--quiet", "--from", flows[0], "--fleet", "--out", filepath.Join(dir, "x")); err == nil || !strings.Contains(out, "--fleet: merges the clusters of a nats:// source") {
		t.Errorf("--fleet without nats:// was not refused clearly: %v\n%s", err, out)
	}
}

// TestShardLineages: a cluster published whole, then split in two shards
// whose graph files start as copies of the whole one's (each resumes the
// relay's cursor, per node): each shard publishes a lineage of its own
// (not the copied epoch, where the server would take the second shard's
// deltas for the first's and drop them), starting from what the copied
// graph held, already published: the fleet holds the whole graph and
// both shards' flows, each once.
func TestShardLineages(t *testing.T) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	url := c.url(0)
	whole := publish(t, dir, url, "prod-x", [][]string{{flows[0]}})
	relay := relayOf(t, flows[1], flows[2])
	shards := publishShards(t, dir, url, "prod-x", relay, 2, whole)
	if len(shards) != 2 {
		t.Fatalf("%d shards", len(shards))
	}
	fleet := filepath.Join(dir, "fleet.json")
	run(t, "learn", "--quiet", "--from", url+"?cluster=prod-x", "--graph", fleet)
	want := filepath.Join(dir, "want.json")
	run(t, "learn", "--quiet", "--replace", "--graph", want, "--from", whole, "--from", relay)
	sameGraph(t, "fleet of a whole cluster split in shards", readGraph(t, fleet), readGraph(t, want))
	if n := streamInfo(t, url, "FLOWFENCE").State.Msgs; n != 3 {
		t.Errorf("the stream holds %d deltas, want 3 (the whole cluster's and one per shard)", n)
	}
}
