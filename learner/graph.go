package learner

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/limitread"
	"github.com/flowfence/flowfence/record"
)

// GraphVersion is the version of the graph JSON this build writes; it reads
// every version from minGraphVersion (version 2 added the edges' deniedBy).
const (
	GraphVersion    = 2
	minGraphVersion = 1
)

// Caps keep per-node memory bounded by the graph, not by the flows: the
// smallest N values (in sort order) are kept, which keeps Merge associative.
const (
	maxLabelSets = 32
	maxPods      = 256
	maxNames     = 32
	maxSources   = 64
	maxNodesSeen = 64
)

// NodeKind says what a graph node stands for.
type NodeKind string

// Node kinds.
const (
	NodeWorkload NodeKind = "workload" // pods merged by workload
	NodeExternal NodeKind = "external" // a world IP
	NodeEntity   NodeKind = "entity"   // a reserved entity (host, remote-node, kube-apiserver, …), by IP when known
)

// Node is a vertex of the flow graph.
type Node struct {
	ID        string   `json:"id"`
	Kind      NodeKind `json:"kind"`
	Cluster   string   `json:"cluster,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	// Workload kind (Deployment, StatefulSet, CronJob, …) and name.
	WorkloadKind string `json:"workloadKind,omitempty"`
	Name         string `json:"name,omitempty"`
	Entity       string `json:"entity,omitempty"`
	IP           string `json:"ip,omitempty"`
	// Labels common to every pod seen (pod-specific keys never stored).
	Labels map[string]string `json:"labels,omitempty"`
	// LabelSets are the distinct label sets of the workload's pods (same
	// filtering), to check that a selector picks no other workload's pod.
	LabelSets       []map[string]string `json:"labelSets,omitempty"`
	NamespaceLabels map[string]string   `json:"namespaceLabels,omitempty"`
	// Unmanaged: some of the workload's pods are not managed by the CNI
	// (Cilium reserved:unmanaged, e.g. CoreDNS started before Cilium): no
	// policy selector matches those pods.
	Unmanaged bool     `json:"unmanaged,omitempty"`
	Pods      []string `json:"pods,omitempty"`
	// Names are DNS names seen resolving to (or attached to) this IP.
	Names     []string  `json:"names,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// EdgeKey identifies an edge.
type EdgeKey struct {
	Src   string
	Dst   string
	Proto record.Protocol
	Port  uint16
}

func (k EdgeKey) String() string {
	return fmt.Sprintf("%s -> %s %s/%d", k.Src, k.Dst, k.Proto, k.Port)
}

// Edge is a learned (or denied) service-to-service connection with evidence.
type Edge struct {
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	Proto string `json:"proto"`
	Port  uint16 `json:"port,omitempty"`
	// Flows counts request flows that flowed (forwarded, redirected, audit).
	Flows uint64 `json:"flows"`
	// Audit counts the subset seen in policy audit mode.
	Audit uint64 `json:"audit,omitempty"`
	// Dropped counts request flows dropped by policy.
	Dropped   uint64    `json:"dropped,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// NodesSeen are the cluster nodes that observed it.
	NodesSeen []string `json:"nodesSeen,omitempty"`
	Sources   []string `json:"sources,omitempty"`
	// Judgement state for connections an existing policy denied, kept in the
	// graph so that graphs learned apart (one per node) and merged are
	// judged as if learned together: Answered when a reply was seen;
	// FwdTuples/DropTuples are hashes of the 5-tuples that flowed / were
	// policy-dropped (bounded; FwdOverflow when too many flowed to track).
	Answered    bool     `json:"answered,omitempty"`
	FwdTuples   []uint64 `json:"fwdTuples,omitempty"`
	FwdOverflow bool     `json:"fwdOverflow,omitempty"`
	DropTuples  []uint64 `json:"dropTuples,omitempty"`
	// DeniedBy are the existing policies the flow sources named as
	// denying some of the Dropped requests, with their counts (sorted by
	// policy; since graph version 2).
	DeniedBy []Denial `json:"deniedBy,omitempty"`
}

// Tracking bounds of the judgement state.
const (
	maxFwdTuples  = 64
	maxDropTuples = 256
)

// denied judges an edge: nothing but policy drops, or every connection that
// flowed on one node was dropped by policy on another (same 5-tuple) and
// none was answered.
func (e *Edge) denied() bool {
	switch {
	case e.Dropped == 0:
		return false
	case e.Flows == 0:
		return true
	case e.Answered:
		return false
	case e.FwdOverflow:
		// too many connections flowed to compare their 5-tuples: judge by
		// counts. Every denied attempt leaves one forwarded request on the
		// client's node and one policy drop on the server's; nothing was
		// ever answered. An edge that mostly flowed is learned.
		return e.Dropped >= e.Flows
	}
	for _, t := range e.FwdTuples {
		if _, ok := slices.BinarySearch(e.DropTuples, t); !ok {
			return false
		}
	}
	return true
}

// Judge re-splits the graph's edges into learned (Edges) and denied
// attempts (Denied); with learnDropped every edge is learned.
func (g *Graph) Judge(learnDropped bool) {
	for k, e := range g.Denied {
		delete(g.Denied, k)
		if cur, ok := g.Edges[k]; ok {
			mergeEdge(cur, e)
		} else {
			g.Edges[k] = e
		}
	}
	for _, n := range g.Nodes {
		if n.Kind == NodeExternal {
			for _, name := range g.DNS[n.IP] {
				n.Names = insertSorted(n.Names, name, maxNames)
			}
		}
	}
	g.Stats.Learned, g.Stats.DeniedFlows = 0, 0
	for k, e := range g.Edges {
		if !learnDropped && e.denied() {
			delete(g.Edges, k)
			g.Denied[k] = e
			// a denied attempt is counted once: its drops (a flowed
			// request it left is the client side of the same attempt)
			g.Stats.DeniedFlows = saturatingAdd(g.Stats.DeniedFlows, e.Dropped)
			continue
		}
		g.Stats.Learned = saturatingAdd(g.Stats.Learned, e.Flows)
		if learnDropped {
			g.Stats.Learned = saturatingAdd(g.Stats.Learned, e.Dropped)
		}
	}
}

// Key returns the edge's key.
func (e *Edge) Key() EdgeKey {
	p, _ := record.ParseProtocol(e.Proto)
	return EdgeKey{Src: e.Src, Dst: e.Dst, Proto: p, Port: e.Port}
}

// Graph is the learned flow graph.
type Graph struct {
	Nodes map[string]*Node
	Edges map[EdgeKey]*Edge
	// Denied are connection attempts an existing policy dropped and nobody
	// answered: reported, not learned.
	Denied map[EdgeKey]*Edge
	First  time.Time
	Last   time.Time
	// DNS maps an address to the names DNS responses resolved to it (kept
	// in the graph so that names seen in one graph label IPs of another).
	DNS map[string][]string
	// Unaddressed is traffic with peers the source named but gave no
	// address for: reported, never learned (see Unaddressed).
	Unaddressed map[UnaddressedKey]*Unaddressed
	// Stats are the learner's counters (summed by Merge).
	Stats Stats
	// Cursors say, per live source, how far its flows were counted into
	// this graph (see Cursors).
	Cursors Cursors
}

// Stats counts what the learner did with the records it saw.
type Stats struct {
	Records    uint64 `json:"records"`
	Requests   uint64 `json:"requests"`
	Replies    uint64 `json:"replies"`
	Learned    uint64 `json:"learned"`
	Duplicates uint64 `json:"duplicates,omitempty"`
	// DeniedFlows are the requests of denied attempts (Graph.Denied).
	DeniedFlows  uint64            `json:"deniedFlows,omitempty"`
	Skipped      map[string]uint64 `json:"skipped,omitempty"`
	DNSResponses uint64            `json:"dnsResponses,omitempty"`
}

func (s *Stats) skip(reason string, n uint64) {
	if s.Skipped == nil {
		s.Skipped = map[string]uint64{}
	}
	s.Skipped[reason] = saturatingAdd(s.Skipped[reason], n)
}

// add sums o into s; every counter saturates instead of wrapping.
func (s *Stats) add(o Stats) {
	s.Records = saturatingAdd(s.Records, o.Records)
	s.Requests = saturatingAdd(s.Requests, o.Requests)
	s.Replies = saturatingAdd(s.Replies, o.Replies)
	s.Learned = saturatingAdd(s.Learned, o.Learned)
	s.Duplicates = saturatingAdd(s.Duplicates, o.Duplicates)
	s.DeniedFlows = saturatingAdd(s.DeniedFlows, o.DeniedFlows)
	s.DNSResponses = saturatingAdd(s.DNSResponses, o.DNSResponses)
	for k, v := range o.Skipped {
		s.skip(k, v)
	}
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{Nodes: map[string]*Node{}, Edges: map[EdgeKey]*Edge{}, Denied: map[EdgeKey]*Edge{}, DNS: map[string][]string{},
		Unaddressed: map[UnaddressedKey]*Unaddressed{}}
}

// SortedNodes returns the nodes sorted by ID.
func (g *Graph) SortedNodes() []*Node {
	out := slices.Collect(maps.Values(g.Nodes))
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortedEdges returns edges sorted by key.
func SortedEdges(m map[EdgeKey]*Edge) []*Edge {
	// the keys are computed once, not in every comparison (Key parses the
	// protocol name): this sort runs over every edge of a graph
	keyed := make([]keyedEdge, 0, len(m))
	for _, e := range m {
		keyed = append(keyed, keyedEdge{k: e.Key(), e: e})
	}
	slices.SortFunc(keyed, func(a, b keyedEdge) int {
		if lessKey(a.k, b.k) {
			return -1
		}
		if lessKey(b.k, a.k) {
			return 1
		}
		return 0
	})
	out := make([]*Edge, len(keyed))
	for i := range keyed {
		out[i] = keyed[i].e
	}
	return out
}

type keyedEdge struct {
	k EdgeKey
	e *Edge
}

func lessKey(a, b EdgeKey) bool {
	if a.Src != b.Src {
		return a.Src < b.Src
	}
	if a.Dst != b.Dst {
		return a.Dst < b.Dst
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Port < b.Port
}

// Merge folds o into g. Merge is associative and commutative: merging the
// graphs of any split of the same flows, in any order, gives the same graph.
// It judges the whole graph again; a Merger folding many graphs into one
// judges only what each brings.
func (g *Graph) Merge(o *Graph) {
	for id, n := range o.Nodes {
		if cur, ok := g.Nodes[id]; ok {
			mergeNode(cur, n)
		} else {
			g.Nodes[id] = n.Clone()
		}
	}
	// pool every edge, then judge again: a denial can only be judged on
	// the union of both graphs' evidence.
	mergeEdges(g.Edges, g.Denied)
	clear(g.Denied)
	mergeEdges(g.Edges, o.Edges)
	mergeEdges(g.Edges, o.Denied)
	for ip, names := range o.DNS {
		g.DNS[ip] = unionCapped(g.DNS[ip], names, maxNames)
	}
	mergeUnaddressed(g.Unaddressed, o.Unaddressed, nil)
	g.First = minTime(g.First, o.First)
	g.Last = maxTime(g.Last, o.Last)
	g.Stats.add(o.Stats)
	g.Cursors = g.Cursors.merge(o.Cursors)
	g.Judge(false)
}

func mergeEdges(dst, src map[EdgeKey]*Edge) {
	for k, e := range src {
		if cur, ok := dst[k]; ok {
			mergeEdge(cur, e)
		} else {
			dst[k] = e.Clone()
		}
	}
}

func mergeEdge(a, b *Edge) {
	a.Flows = saturatingAdd(a.Flows, b.Flows)
	a.Audit = saturatingAdd(a.Audit, b.Audit)
	a.Dropped = saturatingAdd(a.Dropped, b.Dropped)
	a.DeniedBy = mergeDenials(a.DeniedBy, b.DeniedBy)
	a.FirstSeen = minTime(a.FirstSeen, b.FirstSeen)
	a.LastSeen = maxTime(a.LastSeen, b.LastSeen)
	a.NodesSeen = unionCapped(a.NodesSeen, b.NodesSeen, maxNodesSeen)
	a.Sources = unionCapped(a.Sources, b.Sources, maxSources)
	a.Answered = a.Answered || b.Answered
	a.FwdOverflow = a.FwdOverflow || b.FwdOverflow
	if a.Answered {
		a.FwdTuples, a.DropTuples, a.FwdOverflow = nil, nil, false
		return
	}
	if !a.FwdOverflow {
		u := unionTuples(a.FwdTuples, b.FwdTuples, maxFwdTuples, true)
		a.FwdOverflow = u == nil && len(a.FwdTuples)+len(b.FwdTuples) > 0
		a.FwdTuples = u
	} else {
		a.FwdTuples = nil
	}
	a.DropTuples = unionTuples(a.DropTuples, b.DropTuples, maxDropTuples, false)
}

// unionTuples merges sorted hash sets. Over max: nil when overflowNil (the
// caller marks overflow), else the max smallest (associative either way).
func unionTuples(a, b []uint64, max int, overflowNil bool) []uint64 {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > max {
		if overflowNil {
			return nil
		}
		out = out[:max]
	}
	return out
}

// Clone returns a deep copy of n (its maps and slices its own).
func (n *Node) Clone() *Node {
	c := *n
	c.Labels = maps.Clone(n.Labels)
	c.NamespaceLabels = maps.Clone(n.NamespaceLabels)
	c.LabelSets = make([]map[string]string, len(n.LabelSets))
	for i, s := range n.LabelSets {
		c.LabelSets[i] = maps.Clone(s)
	}
	c.Pods = slices.Clone(n.Pods)
	c.Names = slices.Clone(n.Names)
	return &c
}

func mergeNode(a, b *Node) {
	if betterKind(a.WorkloadKind, b.WorkloadKind) {
		a.WorkloadKind = b.WorkloadKind
	}
	// "" and "default" name the same cluster (one node id): keep the
	// larger so that the order of merging does not matter.
	if b.Cluster > a.Cluster {
		a.Cluster = b.Cluster
	}
	switch {
	case len(a.LabelSets) == 0:
		a.Labels = maps.Clone(b.Labels)
	case len(b.LabelSets) > 0:
		a.Labels = intersectLabels(a.Labels, b.Labels)
	}
	a.LabelSets = unionLabelSets(a.LabelSets, b.LabelSets)
	a.NamespaceLabels = unionLabels(a.NamespaceLabels, b.NamespaceLabels)
	a.Unmanaged = a.Unmanaged || b.Unmanaged
	a.Pods = unionCapped(a.Pods, b.Pods, maxPods)
	a.Names = unionCapped(a.Names, b.Names, maxNames)
	a.FirstSeen = minTime(a.FirstSeen, b.FirstSeen)
	a.LastSeen = maxTime(a.LastSeen, b.LastSeen)
}

// intersectLabels keeps the pairs both have.
func intersectLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		if bv, ok := b[k]; ok && bv == v {
			out[k] = v
		}
	}
	return out
}

// unionLabels keeps every key; on conflict the smaller value wins
// (namespace labels rarely change within a window).
func unionLabels(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range b {
		if cur, ok := out[k]; !ok || v < cur {
			out[k] = v
		}
	}
	return out
}

// unionLabelSets returns the distinct label sets of a and b (equal sets are
// one: record.LabelSetKey), in labelSetOrder, the first maxLabelSets of
// them: the ones kept are the ones replayed (synth/replay.Peers).
func unionLabelSets(a, b []map[string]string) []map[string]string {
	type entry struct {
		order, key string
		set        map[string]string
	}
	var sets []entry
	seen := map[string]bool{}
	add := func(s map[string]string, clone bool) {
		k := record.LabelSetKey(s)
		if seen[k] {
			return
		}
		seen[k] = true
		if clone {
			s = maps.Clone(s)
		}
		sets = append(sets, entry{order: labelSetOrder(s), key: k, set: s})
	}
	for _, s := range a {
		add(s, false)
	}
	for _, s := range b {
		add(s, true)
	}
	slices.SortFunc(sets, func(x, y entry) int {
		return cmp.Or(strings.Compare(x.order, y.order), strings.Compare(x.key, y.key))
	})
	if len(sets) > maxLabelSets {
		sets = sets[:maxLabelSets]
	}
	out := make([]map[string]string, len(sets))
	for i, e := range sets {
		out[i] = e.set
	}
	return out
}

// labelSetOrder is the text a graph orders a workload's label sets by: the
// pairs in key order, each written k=v and ended by a NUL. Only an order:
// it may be equal for different sets holding those bytes, which the
// LabelSetKey tie-break orders.
func labelSetOrder(m map[string]string) string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(m[k])
		sb.WriteByte(0)
	}
	return sb.String()
}

func unionCapped(a, b []string, max int) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > max {
		out = out[:max]
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// graphJSON is the serialised form: sorted, versioned.
type graphJSON struct {
	Version int       `json:"flowfenceGraph"`
	First   time.Time `json:"windowStart"`
	Last    time.Time `json:"windowEnd"`
	Stats   Stats     `json:"stats"`
	Nodes   []*Node   `json:"nodes"`
	Edges   []*Edge   `json:"edges"`
	Denied  []*Edge   `json:"denied,omitempty"`
	// Unaddressed: traffic with peers without an address, reported only.
	Unaddressed []*Unaddressed `json:"unaddressed,omitempty"`
	// DNS: address → names from DNS responses.
	DNS map[string][]string `json:"dns,omitempty"`
	// Cursors: live source → its resume cursors (see Cursors).
	Cursors Cursors `json:"cursors,omitempty"`
}

// Write serialises the graph as indented, deterministic JSON.
func (g *Graph) Write(w io.Writer) error {
	gj := graphJSON{
		Version: GraphVersion, First: g.First.UTC(), Last: g.Last.UTC(), Stats: g.Stats,
		Nodes: g.SortedNodes(), Edges: SortedEdges(g.Edges), Denied: SortedEdges(g.Denied), DNS: g.DNS,
		Unaddressed: SortedUnaddressed(g.Unaddressed),
	}
	if len(g.Cursors) > 0 {
		gj.Cursors = g.Cursors
	}
	doc, err := writeDoc(&gj)
	if err != nil {
		return err
	}
	if _, err := w.Write(doc); err != nil {
		return fmt.Errorf("write graph: %w", err)
	}
	return nil
}

// ReadGraph parses a graph written by Write (at most DefaultMaxGraphBytes
// decompressed); name is used in errors. A saved graph is hostile input:
// see checkNode for the rules applied to it.
func ReadGraph(name string, r io.Reader) (*Graph, error) {
	return ReadGraphLimit(name, r, DefaultMaxGraphBytes)
}

// ReadGraphLimit is ReadGraph with a cap of limit bytes on what is read
// from r (after decompression).
func ReadGraphLimit(name string, r io.Reader, limit int64) (*Graph, error) {
	var gj graphJSON
	cr := limitread.New(r, limit)
	dec := json.NewDecoder(cr)
	dec.DisallowUnknownFields()
	err := dec.Decode(&gj)
	if err == nil {
		if _, end := dec.Token(); !errors.Is(end, io.EOF) {
			// a second document (two graphs concatenated) would otherwise
			// be silently dropped with everything it learned
			err = errors.New("trailing data after the graph: not one flowfence graph")
		}
	}
	switch {
	case err != nil && cr.Over():
		return nil, fmt.Errorf("%s: saved graph larger than the limit of %d bytes (decompressed): not read: %w", name, limit, ErrGraphTooLarge)
	case err != nil:
		return nil, fmt.Errorf("%s: not a flowfence graph: %w", name, err)
	}
	if gj.Version < minGraphVersion || gj.Version > GraphVersion {
		return nil, fmt.Errorf("%s: graph version %d, this build reads versions %d to %d", name, gj.Version, minGraphVersion, GraphVersion)
	}
	g := NewGraph()
	g.First, g.Last, g.Stats = gj.First, gj.Last, gj.Stats
	if err := readCursors(name, g, gj.Cursors); err != nil {
		return nil, err
	}
	dropped := 0
	for ip, names := range gj.DNS {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("%s: dns: %s is not an IP address", name, escape.Snippet(ip, 80))
		}
		if names, dropped = validNames(names, dropped); len(names) > 0 {
			g.DNS[ip] = names
		}
	}
	for i, n := range gj.Nodes {
		if n == nil || n.ID == "" {
			return nil, fmt.Errorf("%s: node %d has no id", name, i)
		}
		d, err := checkNode(name, i, n)
		if err != nil {
			return nil, err
		}
		dropped += d
		if _, dup := g.Nodes[n.ID]; dup {
			return nil, fmt.Errorf("%s: node %d: id %s appears twice", name, i, escape.Snippet(n.ID, 80))
		}
		g.Nodes[n.ID] = n
	}
	for _, set := range []struct {
		edges []*Edge
		into  map[EdgeKey]*Edge
		what  string
	}{{gj.Edges, g.Edges, "edge"}, {gj.Denied, g.Denied, "denied edge"}} {
		for i, e := range set.edges {
			if e == nil {
				return nil, fmt.Errorf("%s: %s %d is null", name, set.what, i)
			}
			if _, ok := record.ParseProtocol(e.Proto); !ok {
				return nil, fmt.Errorf("%s: %s %d: unknown protocol %q", name, set.what, i, e.Proto)
			}
			if g.Nodes[e.Src] == nil || g.Nodes[e.Dst] == nil {
				return nil, fmt.Errorf("%s: %s %d (%s -> %s) names an unknown node", name, set.what, i, escape.Snippet(e.Src, 80), escape.Snippet(e.Dst, 80))
			}
			nodes := e.NodesSeen[:0]
			for _, n := range e.NodesSeen {
				if record.ValidName(n) {
					nodes = append(nodes, n)
				} else {
					dropped++
				}
			}
			e.NodesSeen = nodes
			if len(e.NodesSeen) == 0 {
				e.NodesSeen = nil
			}
			if cur, dup := set.into[e.Key()]; dup {
				mergeEdge(cur, e)
				continue
			}
			if err := checkDenials(e.DeniedBy); err != nil {
				return nil, fmt.Errorf("%s: %s %d (%s -> %s): %w", name, set.what, i, e.Src, e.Dst, err)
			}
			set.into[e.Key()] = e
		}
	}
	if err := readUnaddressed(name, g, gj.Unaddressed); err != nil {
		return nil, err
	}
	for _, u := range g.Unaddressed {
		u.Names, dropped = validNames(u.Names, dropped)
	}
	if dropped > 0 {
		g.Stats.skip(SkipGraphNames, uint64(dropped))
	}
	return g, nil
}

// NodeAddr parses a node's IP (invalid when it has none).
func (n *Node) NodeAddr() netip.Addr {
	a, _ := netip.ParseAddr(n.IP)
	return a
}

// Relabel returns a new graph whose nodes are renamed by id (nodes mapped to
// the same id merge, as do their edges). Synth uses it to treat one
// workload name in one namespace as one workload across clusters.
func (g *Graph) Relabel(id func(*Node) string) *Graph {
	out := NewGraph()
	out.First, out.Last = g.First, g.Last
	out.Stats.add(g.Stats)
	out.Cursors = out.Cursors.merge(g.Cursors)
	for ip, names := range g.DNS {
		out.DNS[ip] = slices.Clone(names)
	}
	ids := make(map[string]string, len(g.Nodes))
	for _, n := range g.SortedNodes() {
		nid := id(n)
		ids[n.ID] = nid
		c := n.Clone()
		c.ID = nid
		if cur, ok := out.Nodes[nid]; ok {
			mergeNode(cur, c)
		} else {
			out.Nodes[nid] = c
		}
	}
	for _, pair := range []struct{ from, to map[EdgeKey]*Edge }{{g.Edges, out.Edges}, {g.Denied, out.Denied}} {
		for _, e := range SortedEdges(pair.from) {
			c := *e
			c.Src, c.Dst = ids[e.Src], ids[e.Dst]
			mergeEdges(pair.to, map[EdgeKey]*Edge{c.Key(): &c})
		}
	}
	mergeUnaddressed(out.Unaddressed, g.Unaddressed, func(id string) string { return ids[id] })
	return out
}
