package learner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/record"
)

// genOptions shape the random record streams.
type genOptions struct {
	drops     bool // policy and other drops
	dns       bool // DNS responses naming external IPs
	noReplies bool
}

// genWorkload is one workload of the random cluster.
type genWorkload struct {
	ns, name string
	pods     []record.Endpoint
}

// genCluster builds a small random cluster: workloads in a few namespaces
// (Deployment, StatefulSet, bare pods, CronJob runs), some reported with
// Hubble workloads, some pods with masked labels, two cluster names that
// are one (""/"default") and one that is not.
func genCluster(rng *rand.Rand) []genWorkload {
	suffix := func() string {
		const alpha = "bcdfghjklmnpqrstvwxz2456789"
		b := make([]byte, 5)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	var out []genWorkload
	ip := 0
	for _, ns := range []string{"shop", "data", "kube-system"} {
		for _, name := range []string{"web", "api", "db", "report"}[:2+rng.IntN(3)] {
			w := genWorkload{ns: ns, name: name}
			version := fmt.Sprintf("v%d", rng.IntN(2))
			for p := range 1 + rng.IntN(3) {
				ip++
				ep := record.Endpoint{Namespace: ns, IP: netip.AddrFrom4([4]byte{10, 0, byte(ip >> 8), byte(ip)}),
					NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns, "team": ns + fmt.Sprint(rng.IntN(2))}}
				switch name {
				case "db":
					ep.Pod = fmt.Sprintf("db-%d", p)
					ep.Labels = map[string]string{"app": "db", "statefulset.kubernetes.io/pod-name": ep.Pod}
				case "report":
					job := fmt.Sprintf("report-%d", 29000000+60*p)
					ep.Pod = job + "-" + suffix()
					ep.Labels = map[string]string{"app": "report", "job-name": job}
				default:
					hash := []string{"5b8c7d9f4", "7d9f8c6b5"}[rng.IntN(2)]
					ep.Pod = name + "-" + hash + "-" + suffix()
					ep.Labels = map[string]string{"app": name, "version": version, "pod-template-hash": hash}
					if rng.IntN(3) == 0 {
						ep.WorkloadKind, ep.WorkloadName = KindDeployment, name
					}
				}
				if rng.IntN(5) == 0 {
					ep.Labels = nil // field-masked
				}
				ep.Cluster = []string{"", "default", "", "east"}[rng.IntN(4)]
				w.pods = append(w.pods, ep)
			}
			if name == "web" && rng.IntN(2) == 0 {
				// a bare pod named like the Deployment: the same node
				ip++
				w.pods = append(w.pods, record.Endpoint{Namespace: ns, Pod: "web", IP: netip.AddrFrom4([4]byte{10, 9, 0, byte(ip)}),
					Labels: map[string]string{"app": "web", "debug": "true"}})
			}
			out = append(out, w)
		}
	}
	return out
}

// genStream returns n random records over the cluster, every uuid unique.
func genStream(rng *rand.Rand, cluster []genWorkload, n int, o genOptions) []*record.Record {
	externals := []string{"140.82.112.3", "93.184.215.14", "2606:50c0:8000::64", "169.254.169.254"}
	pick := func() record.Endpoint {
		switch rng.IntN(10) {
		case 0:
			return record.Endpoint{Entity: record.EntityWorld, IP: netip.MustParseAddr(externals[rng.IntN(len(externals))]),
				Names: []string{"", "api.github.com.", "example.com"}[rng.IntN(3):][:1]}
		case 1:
			return record.Endpoint{Entity: []record.Entity{record.EntityHost, record.EntityRemoteNode, record.EntityKubeAPIServer}[rng.IntN(3)],
				IP: netip.AddrFrom4([4]byte{172, 18, 0, byte(2 + rng.IntN(3))})}
		case 2:
			return record.Endpoint{Entity: record.EntityWorld} // no address: skipped
		}
		w := cluster[rng.IntN(len(cluster))]
		return w.pods[rng.IntN(len(w.pods))]
	}
	ports := []uint16{53, 80, 443, 5432, 8080, 6443}
	var out []*record.Record
	for i := range n {
		src, dst := pick(), pick()
		r := &record.Record{
			Time: t0.Add(time.Duration(rng.IntN(3600)) * time.Second),
			Src:  src, Dst: dst,
			Proto: []record.Protocol{record.TCP, record.TCP, record.UDP, record.ICMPv4}[rng.IntN(4)],
			Node:  fmt.Sprintf("node-%c", 'a'+rng.IntN(3)), UUID: fmt.Sprintf("u%d", i),
			Source: fmt.Sprintf("flows-%d.json:%d", rng.IntN(2), i), Verdict: record.Forwarded, Direction: record.Request,
		}
		if rng.IntN(20) == 0 {
			r.Time = time.Time{}
		}
		if r.Proto.HasPorts() {
			r.Src.Port, r.Dst.Port = uint16(32768+rng.IntN(28000)), ports[rng.IntN(len(ports))]
		}
		switch x := rng.IntN(20); {
		case x == 0:
			r.Direction = record.DirUnknown
		case x < 4 && !o.noReplies:
			r.Direction = record.Reply
			r.Src, r.Dst = r.Dst, r.Src
		}
		switch x := rng.IntN(10); {
		case x == 0:
			r.Verdict = record.Audit
		case x == 1:
			r.Verdict = record.Redirected
		case x < 5 && o.drops:
			r.Verdict, r.PolicyDrop, r.DropReason = record.Dropped, rng.IntN(4) != 0, "POLICY_DENIED"
			if !r.PolicyDrop {
				r.DropReason = "CT_MAP_INSERTION_FAILED"
			} else if j := i % 23; j < 20 {
				// more denying policies than an edge keeps (maxDenials), and
				// drops no source attributed
				r.DeniedBy = fmt.Sprintf("ns%d/default.deny-%d", j%3, j)
			}
		}
		if rng.IntN(8) == 0 {
			r.Count = uint64(2 + rng.IntN(5))
		}
		if o.dns && rng.IntN(6) == 0 {
			r.Direction, r.DNSResponse = record.Reply, true
			r.DNSQuery = []string{"api.github.com.", "example.com", "github.com"}[rng.IntN(3)]
			r.DNSAnswers = []netip.Addr{netip.MustParseAddr(externals[rng.IntN(len(externals))])}
		}
		out = append(out, r)
	}
	return out
}

// split deals the records into k parts at random, keeping their order.
func split(rng *rand.Rand, recs []*record.Record, k int) [][]*record.Record {
	parts := make([][]*record.Record, k)
	for _, r := range recs {
		i := rng.IntN(k)
		parts[i] = append(parts[i], r)
	}
	return parts
}

// clone copies a graph through Merge (Merge changes its receiver only).
func clone(g *Graph) *Graph {
	c := NewGraph()
	c.Merge(g)
	return c
}

// foldLeft is ((g0+g1)+g2)+…
func foldLeft(gs []*Graph) *Graph {
	acc := clone(gs[0])
	for _, g := range gs[1:] {
		acc.Merge(g)
	}
	return acc
}

// foldRight is g0+(g1+(g2+…))
func foldRight(gs []*Graph) *Graph {
	acc := clone(gs[len(gs)-1])
	for i := len(gs) - 2; i >= 0; i-- {
		g := clone(gs[i])
		g.Merge(acc)
		acc = g
	}
	return acc
}

// foldTree merges a random binary grouping.
func foldTree(rng *rand.Rand, gs []*Graph) *Graph {
	if len(gs) == 1 {
		return clone(gs[0])
	}
	cut := 1 + rng.IntN(len(gs)-1)
	l, r := foldTree(rng, gs[:cut]), foldTree(rng, gs[cut:])
	if rng.IntN(2) == 0 {
		l, r = r, l
	}
	l.Merge(r)
	return l
}

// mergeOrders merges the graphs in several orders and groupings and
// returns each result's JSON, labelled.
func mergeOrders(t *testing.T, rng *rand.Rand, gs []*Graph) map[string]string {
	perm := rng.Perm(len(gs))
	shuffled := make([]*Graph, len(gs))
	for i, p := range perm {
		shuffled[i] = gs[p]
	}
	// the same graphs read back from their files
	var read []*Graph
	for i, g := range gs {
		rg, err := ReadGraph(fmt.Sprintf("part-%d.json", i), strings.NewReader(writeJSON(t, g)))
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, rg)
	}
	return map[string]string{
		"left fold":                         writeJSON(t, foldLeft(gs)),
		"right fold":                        writeJSON(t, foldRight(gs)),
		fmt.Sprintf("permutation %v", perm): writeJSON(t, foldLeft(shuffled)),
		"random grouping":                   writeJSON(t, foldTree(rng, shuffled)),
		"random grouping 2":                 writeJSON(t, foldTree(rng, gs)),
		"parts read from JSON":              writeJSON(t, foldRight(read)),
	}
}

// firstDiff shows where two serialised graphs differ.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < min(len(la), len(lb)); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

func TestMergeIsAssociativeAndCommutative(t *testing.T) {
	tests := []struct {
		name  string
		opts  genOptions
		seeds int
		// oneLearner: merging the parts also equals learning the whole
		// stream in one learner
		oneLearner bool
	}{
		{name: "flows without drops or DNS", opts: genOptions{}, seeds: 100},
		// a reply in another part than its request cannot mark the edge
		// answered (see TestMergeJudgesDeniedAttemptsOnTheUnion), so
		// only without replies is the merge the same as one learner
		{name: "flows without drops, DNS or replies", opts: genOptions{noReplies: true}, seeds: 100, oneLearner: true},
		{name: "flows with DNS answers", opts: genOptions{dns: true}, seeds: 100},
		// the denied-attempt evidence travels with the edges, so the
		// judgement does not depend on the merge order either
		{name: "flows with drops", opts: genOptions{drops: true}, seeds: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range tt.seeds {
				rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
				cluster := genCluster(rng)
				recs := genStream(rng, cluster, 20+rng.IntN(80), tt.opts)
				parts := split(rng, recs, 2+rng.IntN(4))
				var gs []*Graph
				for _, p := range parts {
					gs = append(gs, learn(Options{}, p...))
				}
				results := mergeOrders(t, rng, gs)
				want := results["left fold"]
				for how, got := range results {
					if got != want {
						t.Fatalf("seed %d: %s differs from the left fold: %s", seed, how, firstDiff(want, got))
					}
				}
				if tt.oneLearner {
					if whole := writeJSON(t, learn(Options{}, recs...)); whole != want {
						t.Fatalf("seed %d: merged parts differ from one learner: %s", seed, firstDiff(whole, want))
					}
				}
				if empty := writeJSON(t, foldLeft([]*Graph{NewGraph(), gs[0]})); empty != writeJSON(t, gs[0]) {
					t.Fatalf("seed %d: merging into an empty graph changed it: %s", seed, firstDiff(writeJSON(t, gs[0]), empty))
				}
			}
		})
	}
}

// TestMergeJudgesDeniedAttemptsOnTheUnion documents how the denied-attempt
// judgement (docs/DESIGN.md "Flow records": a request dropped by policy and
// never answered is reported, not learned) behaves across learners: each
// learner judges its own records, and its graph carries the evidence
// (answered, the 5-tuples that flowed and were dropped), so Merge judges
// again on the union. Merge itself never learns drops: after merging graphs
// learned with LearnDropped, call Judge(true) again.
func TestMergeJudgesDeniedAttemptsOnTheUnion(t *testing.T) {
	key := edgeKey(frontendID, cartID, record.TCP, 8080)
	a, b := syn(0, 0, 41234), syn(10, 1, 50000)
	tests := []struct {
		name string
		// parts are learned by separate learners (one per node, say)
		parts [][]*record.Record
		opts  Options
		// judge re-judges the merged graph with this LearnDropped
		judge       *bool
		wantEachDen []bool // each part's own judgement
		wantDenied  bool   // the merged judgement
		wantOne     bool   // the judgement of one learner that saw every part
	}{
		{
			name:        "client node saw the SYN, server node the drop",
			parts:       [][]*record.Record{{a}, {policyDrop(a, at(0), "node-b")}},
			wantEachDen: []bool{false, true},
			wantDenied:  true, wantOne: true,
		},
		{
			name:        "one node saw another connection answered",
			parts:       [][]*record.Record{{a, policyDrop(a, at(0), "node-b")}, {b, reply(b, at(11))}},
			wantEachDen: []bool{true, false},
			wantDenied:  false,
		},
		{
			name:        "one node saw another connection that was not dropped",
			parts:       [][]*record.Record{{a, policyDrop(a, at(0), "node-b")}, {b}},
			wantEachDen: []bool{true, false},
			wantDenied:  false,
		},
		{
			name:        "learned with LearnDropped, merged: Merge judges without it",
			parts:       [][]*record.Record{{a, policyDrop(a, at(0), "node-b")}, {policyDrop(a, at(1), "node-b")}},
			opts:        Options{LearnDropped: true},
			wantEachDen: []bool{false, false},
			wantDenied:  true,
		},
		{
			// a SYN dropped while a policy changed, retransmitted and
			// answered; the answer fell into the next window. A reply
			// only marks an edge its own learner has seen, so the merged
			// graph judges the connection denied where one learner learns it.
			name:        "a reply learned apart from its request is lost",
			parts:       [][]*record.Record{{a, policyDrop(a, at(0), "node-b"), a}, {reply(a, at(3))}},
			wantEachDen: []bool{true, false},
			wantDenied:  true, wantOne: false,
		},
		{
			name:        "learned with LearnDropped, merged and judged again with it",
			parts:       [][]*record.Record{{a, policyDrop(a, at(0), "node-b")}, {policyDrop(a, at(1), "node-b")}},
			opts:        Options{LearnDropped: true},
			judge:       new(true),
			wantEachDen: []bool{false, false},
			wantDenied:  false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gs []*Graph
			var all []*record.Record
			for i, p := range tt.parts {
				g := learn(tt.opts, p...)
				if den := g.Denied[key] != nil; den != tt.wantEachDen[i] {
					t.Errorf("part %d judged denied=%v, want %v", i, den, tt.wantEachDen[i])
				}
				gs = append(gs, g)
				all = append(all, p...)
			}
			merged := foldLeft(gs)
			if tt.judge != nil {
				merged.Judge(*tt.judge)
			}
			if den := merged.Denied[key] != nil; den != tt.wantDenied || (merged.Edges[key] != nil) == den {
				t.Errorf("merged: denied=%v learned=%v, want denied=%v", den, merged.Edges[key] != nil, tt.wantDenied)
			}
			if one := learn(tt.opts, all...); (one.Denied[key] != nil) != tt.wantOne {
				t.Errorf("one learner: denied=%v, want %v", one.Denied[key] != nil, tt.wantOne)
			}
			if rev := foldRight(gs); writeJSON(t, rev) != writeJSON(t, foldLeft(gs)) {
				t.Errorf("merge order changed the judgement")
			}
		})
	}
}

func TestGraphRoundTrip(t *testing.T) {
	attributed := 0
	for seed := range 40 {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x7a1e))
		o := genOptions{drops: seed%2 == 0, dns: seed%3 == 0}
		g := learn(Options{}, genStream(rng, genCluster(rng), 60, o)...)
		first := writeJSON(t, g)
		back, err := ReadGraph("g.json", strings.NewReader(first))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if again := writeJSON(t, back); again != first {
			t.Fatalf("seed %d: Write → ReadGraph → Write changed the graph: %s", seed, firstDiff(first, again))
		}
		if len(back.Nodes) != len(g.Nodes) || len(back.Edges) != len(g.Edges) || len(back.Denied) != len(g.Denied) {
			t.Fatalf("seed %d: read %d nodes, %d edges, %d denied; wrote %d, %d, %d", seed,
				len(back.Nodes), len(back.Edges), len(back.Denied), len(g.Nodes), len(g.Edges), len(g.Denied))
		}
		for _, edges := range []map[EdgeKey]*Edge{back.Edges, back.Denied} {
			for k, e := range edges {
				if len(e.DeniedBy) > 0 {
					attributed++
				}
				orig := g.Edges[k]
				if orig == nil {
					orig = g.Denied[k]
				}
				if !slices.Equal(e.DeniedBy, orig.DeniedBy) {
					t.Fatalf("seed %d: edge %s denied by %v, wrote %v", seed, k, e.DeniedBy, orig.DeniedBy)
				}
			}
		}
	}
	if attributed == 0 {
		t.Error("no edge carried its denying policies through the file")
	}
}

// TestReadGraphVersion1: a graph written before edges named their denying
// policies (version 1) still reads, and is written back as version 2.
func TestReadGraphVersion1(t *testing.T) {
	g := learn(Options{}, syn(0, 0, 41234))
	v2 := writeJSON(t, g)
	v1 := strings.Replace(v2, `"flowfenceGraph": 2,`, `"flowfenceGraph": 1,`, 1)
	if v1 == v2 {
		t.Fatal("the test did not change the version")
	}
	back, err := ReadGraph("old.json", strings.NewReader(v1))
	if err != nil {
		t.Fatalf("a version 1 graph was rejected: %v", err)
	}
	if got := writeJSON(t, back); got != v2 {
		t.Errorf("version 1 read and written: %s", firstDiff(v2, got))
	}
}

// TestDenialsKeepTheSmallestNames: an edge keeps the denials of the
// maxDenials policies with the smallest names, with their full counts,
// whatever order they come in and however they are merged.
func TestDenialsKeepTheSmallestNames(t *testing.T) {
	var all []Denial
	for i := range maxDenials + 5 {
		all = append(all, Denial{Policy: fmt.Sprintf("p%02d", i), Flows: uint64(i + 1)})
	}
	want := slices.Clone(all[:maxDenials])
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var a, b []Denial
		for _, i := range rng.Perm(len(all)) {
			// each denial in two halves, in a or b
			half := Denial{Policy: all[i].Policy, Flows: all[i].Flows}
			if rng.IntN(2) == 0 {
				a = addDenial(a, half)
			} else {
				b = addDenial(b, half)
			}
		}
		for _, got := range [][]Denial{mergeDenials(a, b), mergeDenials(b, a)} {
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: %v, want %v", round, got, want)
			}
		}
	}
}

func TestReadGraphRejects(t *testing.T) {
	g := learn(Options{}, syn(0, 0, 41234))
	valid := writeJSON(t, g)
	tests := []struct {
		name string
		doc  string
		want string // in the error, after the file name
	}{
		{name: "empty input", doc: "", want: "not a flowfence graph"},
		{name: "not JSON", doc: "{\"flow\": ", want: "not a flowfence graph"},
		{name: "a newer version", doc: strings.Replace(valid, `"flowfenceGraph": 2`, `"flowfenceGraph": 3`, 1), want: "version 3"},
		{name: "no version", doc: strings.Replace(valid, `"flowfenceGraph": 2,`, ``, 1), want: "version 0"},
		{name: "unknown field", doc: strings.Replace(valid, `"flowfenceGraph": 2,`, `"flowfenceGraph": 2, "extra": true,`, 1), want: "extra"},
		{name: "a denying policy name that is not a policy name", doc: strings.Replace(valid, `"flows": 1,`,
			`"flows": 1, "dropped": 1, "deniedBy": [{"policy": "x\n- to: []", "flows": 1}],`, 1), want: "not a valid policy name"},
		{name: "denying policies out of order", doc: strings.Replace(valid, `"flows": 1,`,
			`"flows": 1, "dropped": 2, "deniedBy": [{"policy": "b", "flows": 1}, {"policy": "a", "flows": 1}],`, 1), want: "out of order"},
		{name: "unknown node field", doc: strings.Replace(valid, `"kind": "workload",`, `"kind": "workload", "color": "red",`, 1), want: "color"},
		{name: "edge naming an unknown node", doc: strings.Replace(valid, `"dst": "pod:shop/cart"`, `"dst": "pod:shop/gone"`, 1), want: "unknown node"},
		{name: "edge with an unknown protocol", doc: strings.Replace(valid, `"proto": "TCP"`, `"proto": "QUIC"`, 1), want: "QUIC"},
		{name: "null node", doc: strings.Replace(valid, `"nodes": [`, `"nodes": [null,`, 1), want: "node 0"},
		{name: "null edge", doc: strings.Replace(valid, `"edges": [`, `"edges": [null,`, 1), want: "edge 0 is null"},
		{name: "null denied edge", doc: strings.Replace(valid, `"edges": [`, `"denied": [null], "edges": [`, 1), want: "denied edge 0 is null"},
		{name: "a second graph after the first", doc: valid + valid, want: "trailing data after the graph"},
		{name: "trailing garbage", doc: valid + "]", want: "trailing data after the graph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.doc == valid {
				t.Fatal("the test did not change the document")
			}
			_, err := ReadGraph("saved/graph.json", strings.NewReader(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "saved/graph.json: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want the file name and %q", msg, tt.want)
			}
		})
	}
	if _, err := ReadGraph("ok.json", bytes.NewReader([]byte(valid))); err != nil {
		t.Errorf("the unchanged document was rejected: %v", err)
	}
}

// TestLabelSetOrder: a workload's label sets keep one order whatever the
// merge order — the text of their pairs (k=v, NUL-ended) in key order —
// since the first ones are those kept and replayed; sets that only a
// separator-based key would confuse both stay.
func TestLabelSetOrder(t *testing.T) {
	want := []map[string]string{
		{"a-b": "1"},
		{"a": "1"},
		{"app": "abc"},
		{"app": "x\x00role=admin"},
		{"app": "x", "role": "admin"},
		{"app": "zz"},
	}
	for _, split := range []int{0, 2, 4, len(want)} {
		a := slices.Clone(want[:split])
		b := slices.Clone(want[split:])
		slices.Reverse(a)
		slices.Reverse(b)
		got := unionLabelSets(b, a)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sets %d+%d: got %q, want %q", len(b), len(a), got, want)
		}
	}
}
