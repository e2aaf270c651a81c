package learner

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/internal/testsupport"
)

// hostileBase is a small saved graph: frontend calls an external IP.
func hostileBase() *Graph {
	g := NewGraph()
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	g.First, g.Last = t0, t0.Add(time.Hour)
	g.Nodes["pod:shop/frontend"] = &Node{ID: "pod:shop/frontend", Kind: NodeWorkload, Namespace: "shop", WorkloadKind: KindDeployment, Name: "frontend",
		Labels: map[string]string{"app": "frontend"}, LabelSets: []map[string]string{{"app": "frontend"}}, Pods: []string{"frontend-6b7d9c4f5-x2x7q", "frontend-6b7d9c4f5-*"},
		FirstSeen: t0, LastSeen: t0}
	g.Nodes["ip:93.184.216.34"] = &Node{ID: "ip:93.184.216.34", Kind: NodeExternal, Entity: "world", IP: "93.184.216.34", Names: []string{"api.example.com"}, FirstSeen: t0, LastSeen: t0}
	e := &Edge{Src: "pod:shop/frontend", Dst: "ip:93.184.216.34", Proto: "TCP", Port: 443, Flows: 3, FirstSeen: t0, LastSeen: t0, NodesSeen: []string{"node-a"}}
	g.Edges[e.Key()] = e
	g.DNS["93.184.216.34"] = []string{"api.example.com"}
	return g
}

func graphDoc(t *testing.T, g *Graph) string {
	t.Helper()
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const attackName = "api.example.com\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0"

// TestReadGraphRefusesHostileIdentities: a saved graph whose node names a
// namespace, workload, pod, cluster, entity or id that no real cluster
// has is refused with an error naming the file and the node.
func TestReadGraphRefusesHostileIdentities(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(n, ext *Node)
		want   string
	}{
		{"a namespace with a line break", func(n, _ *Node) { n.Namespace = "shop\nkind: Evil" }, "namespace"},
		{"a workload name with a line break", func(n, _ *Node) { n.Name = attackName }, "workload"},
		{"a look-alike workload name", func(n, _ *Node) { n.Name = "frontеnd" }, "workload"}, // Cyrillic е
		{"a pod name with a line break", func(n, _ *Node) { n.Pods = append(n.Pods, "p\n- x") }, "pod name"},
		{"a cluster with a slash", func(n, _ *Node) { n.Cluster = "a/b" }, "cluster"},
		{"a workload kind with a line break", func(n, _ *Node) { n.WorkloadKind = "Deployment\n" }, "kind"},
		{"an id that is not the workload's", func(n, _ *Node) { n.ID = "pod:shop/frontend\nx" }, "id"},
		{"an unknown node kind", func(n, _ *Node) { n.Kind = "alien" }, "kind"},
		{"an external node without its address", func(_, e *Node) { e.IP = "" }, "external"},
		{"an external address that is not one", func(_, e *Node) { e.IP = "93.184.216.34\n" }, "address"},
		{"an entity that Cilium does not have", func(_, e *Node) { e.Kind, e.Entity, e.ID = NodeEntity, "evil\n", "entity:evil\n/93.184.216.34" }, "entity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := hostileBase()
			tt.mutate(g.Nodes["pod:shop/frontend"], g.Nodes["ip:93.184.216.34"])
			_, err := ReadGraph("committed/graph.json", strings.NewReader(graphDoc(t, g)))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "committed/graph.json: node ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want the file, the node and %q", msg, tt.want)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q echoes a line break", msg)
			}
		})
	}
	if _, err := ReadGraph("ok.json", strings.NewReader(graphDoc(t, hostileBase()))); err != nil {
		t.Errorf("the unchanged graph was refused: %v", err)
	}
}

// TestReadGraphDropsBadNamesAndLabels: invalid DNS names (node names and
// the DNS map), labels and cluster-node names are dropped and counted, the
// rest of the graph is kept.
func TestReadGraphDropsBadNamesAndLabels(t *testing.T) {
	g := hostileBase()
	fe, ext := g.Nodes["pod:shop/frontend"], g.Nodes["ip:93.184.216.34"]
	fe.Labels["evil\nkey"] = "x"
	fe.LabelSets[0]["app"] = "frontend\n- to: {}"
	fe.NamespaceLabels = map[string]string{"team": "a b"}
	ext.Names = append(ext.Names, attackName)
	g.DNS["93.184.216.34"] = append(g.DNS["93.184.216.34"], attackName)
	g.DNS["10.0.0.9"] = []string{"x\ny"}
	for _, e := range g.Edges {
		e.NodesSeen = append(e.NodesSeen, "node\nb")
	}
	back, err := ReadGraph("g.json", strings.NewReader(graphDoc(t, g)))
	if err != nil {
		t.Fatal(err)
	}
	fe, ext = back.Nodes["pod:shop/frontend"], back.Nodes["ip:93.184.216.34"]
	if len(fe.Labels) != 1 || len(fe.LabelSets[0]) != 0 || len(fe.NamespaceLabels) != 0 {
		t.Errorf("labels kept: %v %v %v", fe.Labels, fe.LabelSets, fe.NamespaceLabels)
	}
	if strings.Join(ext.Names, ",") != "api.example.com" || strings.Join(back.DNS["93.184.216.34"], ",") != "api.example.com" || back.DNS["10.0.0.9"] != nil {
		t.Errorf("names kept: %q %q", ext.Names, back.DNS)
	}
	for _, e := range back.Edges {
		if strings.Join(e.NodesSeen, ",") != "node-a" {
			t.Errorf("nodes seen kept: %q", e.NodesSeen)
		}
	}
	if got := back.Stats.Skipped[SkipGraphNames]; got != 7 {
		t.Errorf("counted %d dropped names and labels, want 7", got)
	}
}

// TestCountersSaturate: two graphs of 2^64−1 flows merge to 2^64−1, not to
// a small number, in the edges, the unaddressed traffic and the stats.
func TestCountersSaturate(t *testing.T) {
	a, b := hostileBase(), hostileBase()
	for _, g := range []*Graph{a, b} {
		for _, e := range g.Edges {
			e.Flows, e.Audit = math.MaxUint64, math.MaxUint64-1
		}
		g.Stats.Requests, g.Stats.Learned, g.Stats.Records = math.MaxUint64, math.MaxUint64, 2
		g.Stats.skip("x", math.MaxUint64)
	}
	back, err := ReadGraph("a.json", strings.NewReader(graphDoc(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	back.Merge(b)
	for _, e := range back.Edges {
		if e.Flows != math.MaxUint64 || e.Audit != math.MaxUint64 {
			t.Errorf("edge flows %d audit %d, want %d", e.Flows, e.Audit, uint64(math.MaxUint64))
		}
	}
	st := back.Stats
	if st.Requests != math.MaxUint64 || st.Learned != math.MaxUint64 || st.Skipped["x"] != math.MaxUint64 || st.Records != 4 {
		t.Errorf("stats %+v: want saturated counters and records 4", st)
	}
	if saturatingAdd(1, 2) != 3 || saturatingAdd(math.MaxUint64, 1) != math.MaxUint64 {
		t.Error("saturatingAdd")
	}
}

// bombParams are the parameters of the gzip bomb, kept with the hostile
// corpus (testdata/hostile/gzip-bomb.json).
type bombParams struct {
	ExpandedBytes int    `json:"expandedBytes"`
	CapBytes      int64  `json:"capBytes"`
	Filler        string `json:"filler"`
	Prefix        string `json:"prefix"`
	Suffix        string `json:"suffix"`
}

func readBombParams(t testing.TB) bombParams {
	b, err := os.ReadFile("../testdata/hostile/gzip-bomb.json")
	if err != nil {
		t.Fatal(err)
	}
	var p bombParams
	if err := json.Unmarshal(b, &p); err != nil || p.Filler == "" || p.CapBytes <= 0 {
		t.Fatalf("gzip-bomb.json: %v %+v", err, p)
	}
	return p
}

// bomb is a gzip stream that expands to a graph document padded with
// p.ExpandedBytes of filler (about 1000:1).
func bomb(t testing.TB, p bombParams) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	io.WriteString(zw, p.Prefix)
	chunk := bytes.Repeat([]byte(p.Filler), (1<<20)/len(p.Filler))
	for n := 0; n < p.ExpandedBytes; n += len(chunk) {
		zw.Write(chunk)
	}
	io.WriteString(zw, p.Suffix)
	zw.Close()
	return b.Bytes()
}

// TestReadGraphCapsGzipBomb: a small gzip file that expands far beyond the
// cap is refused once the cap is read, with an error naming the file and
// the limit, and the heap stays within a small multiple of the cap.
func TestReadGraphCapsGzipBomb(t *testing.T) {
	p := readBombParams(t)
	limit := p.CapBytes
	gz := bomb(t, p) // 256 MiB of JSON from ~250 KB
	if len(gz) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(gz))
	}
	var err error
	peak := testsupport.PeakHeap(func() {
		zr, zerr := gzip.NewReader(bytes.NewReader(gz))
		if zerr != nil {
			t.Fatal(zerr)
		}
		_, err = ReadGraphLimit("graph.json.gz", zr, limit)
	})
	if !errors.Is(err, ErrGraphTooLarge) {
		t.Fatalf("err = %v, want ErrGraphTooLarge", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "graph.json.gz") || !strings.Contains(msg, fmt.Sprintf("%d bytes", limit)) {
		t.Errorf("error %q: want the file and the limit", msg)
	}
	t.Logf("gzip %d bytes, cap %d bytes: peak heap %.1f MiB", len(gz), limit, float64(peak)/(1<<20))
	if peak > uint64(8*limit) {
		t.Errorf("peak heap %d bytes reading a bomb capped at %d", peak, limit)
	}
	// a graph exactly at the cap is read
	doc := graphDoc(t, hostileBase())
	if _, err := ReadGraphLimit("g.json", strings.NewReader(doc), int64(len(doc))); err != nil {
		t.Errorf("a graph of exactly the cap: %v", err)
	}
	// what follows a graph counts toward the cap, and is refused as too large
	if _, err := ReadGraphLimit("g.json", strings.NewReader(doc+"{}"), int64(len(doc))); !errors.Is(err, ErrGraphTooLarge) {
		t.Errorf("a graph of the cap followed by more: %v, want ErrGraphTooLarge", err)
	}
}
