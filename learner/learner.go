package learner

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowfence/flowfence/record"
)

// Skip reasons the learner reports.
const (
	SkipUnknownDirection = "mid-connection packets (direction unknown)"
	SkipNonPolicyDrop    = "drops not caused by policy"
	SkipNoPeer           = "flows with an endpoint without identity or IP"
	SkipSuspectedReply   = "suspected replies to ephemeral ports"

	// Requests whose verdict neither flowed nor was a drop (TRANSLATED
	// socket-LB events carry a Service IP; ERROR, UNKNOWN): never learned.
	skipNotFlowed = "requests that neither flowed nor were dropped"
	// Flows without a known L4 protocol cannot become a policy rule (and an
	// edge with protocol UNKNOWN could not be read back from the graph).
	skipNoProtocol = "flows without a known L4 protocol"
)

// Options tune learning.
type Options struct {
	// LearnDropped learns connections that an existing policy denied.
	LearnDropped bool
	// DedupeWindow is how many recent flow UUIDs are remembered to drop
	// resent flows (relay reconnects). 0 means 65536.
	DedupeWindow int
}

const defaultDedupe = 1 << 16

// podKey names one pod of one node.
type podKey struct{ node, pod string }

// Learner accumulates records into a graph. Not safe for concurrent use.
type Learner struct {
	opts    Options
	g       *Graph
	derive  *deriver
	replies map[EdgeKey]struct{}
	dns     map[netip.Addr][]string
	// labelled remembers the pods whose labels were folded into their
	// node, so that a pod first seen without labels (field masks) still
	// contributes its labels when a later record carries them.
	labelled map[podKey]struct{}
	// reported merges the two reporters' records of a connection (see
	// reporter.go).
	reported map[reporterKey]*reporterCount
	uuids    uuidWindow
	scratch  strings.Builder
	// nodeIDs caches endpoint → node ID (nodecache.go)
	nodeIDs nodeIDs
}

// New returns a learner.
func New(opts Options) *Learner {
	if opts.DedupeWindow <= 0 {
		opts.DedupeWindow = defaultDedupe
	}
	return &Learner{
		opts: opts, g: NewGraph(), derive: newDeriver(), replies: map[EdgeKey]struct{}{},
		dns: map[netip.Addr][]string{}, uuids: uuidWindow{n: opts.DedupeWindow}, labelled: map[podKey]struct{}{},
	}
}

// Size returns how many nodes and edges (learned or denied) the learner
// holds so far, cheaply (for progress lines).
func (l *Learner) Size() (nodes, edges int) { return len(l.g.Nodes), len(l.g.Edges) }

// seenUUID reports whether the uuid was seen recently, remembering it.
func (l *Learner) seenUUID(id string) bool { return l.uuids.seen(id) }

// Add learns from one record.
func (l *Learner) Add(r *record.Record) {
	st := &l.g.Stats
	st.Records++
	if r.UUID != "" && l.seenUUID(r.UUID) {
		st.Duplicates++
		return
	}
	// one zone for every stored time: equal instants in different zones
	// would otherwise make the serialised graph depend on merge order
	at := r.Time.UTC()
	if !at.IsZero() {
		l.g.First = minTime(l.g.First, at)
		l.g.Last = maxTime(l.g.Last, at)
	}
	if q := strings.TrimSuffix(r.DNSQuery, "."); r.DNSResponse && q != "" {
		st.DNSResponses++
		for _, a := range r.DNSAnswers {
			a = a.Unmap()
			l.dns[a] = appendName(l.dns[a], q)
		}
	}
	switch r.Direction {
	case record.Reply:
		st.Replies++
		if r.Verdict.Flowed() {
			src, _, ok1 := l.nodeID(&r.Dst)
			dst, _, ok2 := l.nodeID(&r.Src)
			if ok1 && ok2 {
				k := EdgeKey{Src: src, Dst: dst, Proto: r.Proto, Port: r.Src.Port}
				if r.Proto.HasPorts() || r.Proto == record.ICMPv4 || r.Proto == record.ICMPv6 {
					if !r.Proto.HasPorts() {
						k.Port = 0
					}
					if l.repliedBefore(&r.Dst, k) {
						return
					}
					l.replies[k] = struct{}{}
					if e := l.g.Edges[k]; e != nil && !e.Answered {
						e.Answered, e.FwdTuples, e.DropTuples, e.FwdOverflow = true, nil, nil, false
					}
				}
			}
		}
		return
	case record.DirUnknown:
		st.skip(SkipUnknownDirection, r.Flows())
		return
	}
	d, repSlot := l.reporterFlows(r)
	flows := d.requests
	st.Requests = saturatingAdd(st.Requests, flows)
	if r.Verdict == record.Dropped && !r.PolicyDrop {
		st.skip(SkipNonPolicyDrop+" ("+r.DropReason+")", flows)
		return
	}
	if r.Verdict != record.Dropped && !r.Verdict.Flowed() {
		st.skip(skipNotFlowed+" ("+r.Verdict.String()+")", flows)
		return
	}
	if r.Proto == record.ProtoUnknown || r.Proto.String() == "UNKNOWN" {
		st.skip(skipNoProtocol, flows)
		return
	}
	// a "request" from a well-known port to an ephemeral one is a reply whose
	// flag was lost: never learn the ephemeral port as a service port.
	if r.Proto.HasPorts() && isEphemeral(r.Dst.Port) && r.Src.Port != 0 && r.Src.Port < 32768 {
		st.skip(SkipSuspectedReply, flows)
		return
	}
	if l.addUnaddressed(r, at, d) {
		return
	}
	// both identities first: a flow that cannot be learned leaves no node
	srcID, srcKind, ok1 := l.nodeID(&r.Src)
	dstID, dstKind, ok2 := l.nodeID(&r.Dst)
	if !ok1 || !ok2 {
		st.skip(SkipNoPeer, flows)
		return
	}
	// the nodes' IDs are srcID and dstID (touch may not even read them)
	l.touch(&r.Src, srcID, srcKind, at)
	l.touch(&r.Dst, dstID, dstKind, at)
	k := EdgeKey{Src: srcID, Dst: dstID, Proto: r.Proto, Port: r.Dst.Port}
	if !r.Proto.HasPorts() {
		k.Port = 0
	}
	e, slot := l.edge(&r.Src, k, repSlot)
	if e == nil {
		e = &Edge{Src: k.Src, Dst: k.Dst, Proto: r.Proto.String(), Port: k.Port, FirstSeen: at, LastSeen: at}
		l.g.Edges[k] = e
	}
	e.FirstSeen = minTime(e.FirstSeen, at)
	e.LastSeen = maxTime(e.LastSeen, at)
	if r.Node != "" && !slot.sawNode(r.Node, e) && (len(e.NodesSeen) < maxNodesSeen || !slices.Contains(e.NodesSeen, r.Node)) {
		e.NodesSeen = insertSorted(e.NodesSeen, r.Node, maxNodesSeen)
		slot.rememberNode(r.Node, e)
	}
	if r.Source != "" && !slot.sawSource(r.Source, e) {
		e.Sources = insertSorted(e.Sources, r.Source, maxSources)
		slot.rememberSource(r.Source, e)
	}
	addFlows(&e.Flows, d.flowed)
	if r.Verdict == record.Dropped {
		e.Dropped = saturatingAdd(e.Dropped, d.dropped)
		if r.DeniedBy != "" {
			e.DeniedBy = addDenial(e.DeniedBy, Denial{Policy: r.DeniedBy, Flows: d.dropped})
		}
	} else if r.Verdict == record.Audit {
		e.Audit = saturatingAdd(e.Audit, uint64(max(d.flowed, 0)))
	}
	// denied-attempt bookkeeping (judged in Graph, and again on every merge)
	if r.Delivered && r.Verdict.Flowed() && !e.Answered {
		e.Answered, e.FwdTuples, e.DropTuples, e.FwdOverflow = true, nil, nil, false
	}
	if e.Answered {
		return
	}
	if _, answered := l.replies[k]; answered {
		e.Answered, e.FwdTuples, e.DropTuples, e.FwdOverflow = true, nil, nil, false
		return
	}
	t := tupleHash(r)
	if r.Verdict == record.Dropped {
		if len(e.DropTuples) < maxDropTuples {
			e.DropTuples = insertTuple(e.DropTuples, t)
		}
		return
	}
	if e.FwdOverflow {
		return
	}
	e.FwdTuples = insertTuple(e.FwdTuples, t)
	if len(e.FwdTuples) > maxFwdTuples {
		e.FwdOverflow, e.FwdTuples = true, nil
	}
}

// tupleHash is a deterministic FNV-1a hash of the 5-tuple (stable across
// runs, so graphs learned apart can be judged together).
func tupleHash(r *record.Record) uint64 {
	if r.Reporter != record.ReporterNone {
		return reporterTuple
	}
	// FNV-1a 64 (hash/fnv), inline: no allocation per record
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	add := func(c byte) { h = (h ^ uint64(c)) * prime64 }
	for _, c := range r.Src.IP.As16() {
		add(c)
	}
	for _, c := range r.Dst.IP.As16() {
		add(c)
	}
	add(byte(r.Src.Port >> 8))
	add(byte(r.Src.Port))
	add(byte(r.Dst.Port >> 8))
	add(byte(r.Dst.Port))
	add(byte(r.Proto))
	return h
}

func insertTuple(s []uint64, t uint64) []uint64 {
	i, found := slices.BinarySearch(s, t)
	if found {
		return s
	}
	return slices.Insert(s, i, t)
}

func isEphemeral(p uint16) bool { return p >= 32768 && p <= 60999 }

func appendName(names []string, n string) []string {
	if slices.Contains(names, n) || len(names) >= maxNames {
		return names
	}
	return append(names, n)
}

func insertSorted(s []string, v string, max int) []string {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	if len(s) >= max && i >= len(s) {
		return s
	}
	s = slices.Insert(s, i, v)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// computeNodeID computes the graph node ID of an endpoint without creating
// it, and for a pod its workload kind (nodeID is the cached form).
func (l *Learner) computeNodeID(ep *record.Endpoint) (id, kind string, ok bool) {
	switch {
	case ep.IsPod():
		kind, name := l.derive.Workload(ep)
		if name == "" {
			return "", "", false
		}
		l.scratch.Reset()
		l.scratch.WriteString("pod:")
		if ep.Cluster != "" && ep.Cluster != "default" {
			l.scratch.WriteString(ep.Cluster)
			l.scratch.WriteByte('/')
		}
		l.scratch.WriteString(ep.Namespace)
		l.scratch.WriteByte('/')
		l.scratch.WriteString(name)
		return l.scratch.String(), kind, true
	case ep.Entity == record.EntityWorld || (ep.Entity == record.EntityUnknown && ep.IP.IsValid() && !isClusterInternal(ep.IP)):
		if !ep.IP.IsValid() {
			return "", "", false
		}
		return "ip:" + ep.IP.Unmap().String(), "", true
	case ep.Entity != record.EntityNone:
		if !ep.IP.IsValid() {
			return "entity:" + string(ep.Entity), "", ep.Entity != record.EntityUnknown
		}
		return "entity:" + string(ep.Entity) + "/" + ep.IP.Unmap().String(), "", true
	}
	return "", "", false
}

// isClusterInternal is false for every address: without inventory the
// learner cannot tell a pod IP from an external one, so an unlabelled peer
// with an IP is treated as external (by IP, never widened).
func isClusterInternal(netip.Addr) bool { return false }

// touch finds or creates the node id (of workload kind, for a pod) for an
// endpoint seen at t and updates it.
func (l *Learner) touch(ep *record.Endpoint, id, kind string, t time.Time) *Node {
	n, ref := l.cachedNode(ep, id)
	// the same endpoint (ID) again, within the node's span: everything
	// below would change nothing (the node's span only grows, the rest is
	// idempotent for equal endpoints), and the node stays untouched
	if ref != nil && n != nil && ep.ID != nil && ref.touched == ep.ID && len(ep.Names) == 0 && ref.node == n &&
		!t.IsZero() && !t.Before(ref.lo) && !t.After(ref.hi) {
		return n
	}
	if n == nil {
		n = &Node{ID: id, FirstSeen: t, LastSeen: t}
		switch {
		case strings.HasPrefix(id, "pod:"):
			_, name := l.derive.Workload(ep)
			n.Kind, n.Cluster, n.Namespace, n.WorkloadKind, n.Name = NodeWorkload, ep.Cluster, ep.Namespace, kind, name
			n.NamespaceLabels = maps.Clone(ep.NamespaceLabels)
		case strings.HasPrefix(id, "ip:"):
			n.Kind, n.Entity, n.IP = NodeExternal, string(record.EntityWorld), ep.IP.Unmap().String()
		default:
			n.Kind, n.Entity = NodeEntity, string(ep.Entity)
			if ep.IP.IsValid() {
				n.IP = ep.IP.Unmap().String()
			}
		}
		l.g.Nodes[id] = n
	}
	if ref != nil {
		ref.node = n
	}
	n.FirstSeen = minTime(n.FirstSeen, t)
	n.LastSeen = maxTime(n.LastSeen, t)
	if n.Kind == NodeWorkload {
		if ep.Entity == record.EntityUnmanaged {
			n.Unmanaged = true
		}
		// the same rules as mergeNode, so that one learner and parts
		// learned apart and merged agree
		if betterKind(n.WorkloadKind, kind) {
			n.WorkloadKind = kind
		}
		if ep.Cluster > n.Cluster {
			n.Cluster = ep.Cluster
		}
		// a record whose labels were masked out (exporter field masks)
		// says nothing about the workload's labels; a pod's labels count
		// once, from the first record of it that carries them.
		pk := podKey{node: id, pod: ep.Pod}
		if len(ep.Labels) > 0 && !l.podLabelled(ref, pk) {
			l.labelled[pk] = struct{}{}
			sel := selectable(ep.Labels)
			if len(n.LabelSets) == 0 {
				n.Labels = maps.Clone(sel)
			} else {
				n.Labels = intersectLabels(n.Labels, sel)
			}
			n.LabelSets = unionLabelSets(n.LabelSets, []map[string]string{sel})
			n.NamespaceLabels = unionLabels(n.NamespaceLabels, ep.NamespaceLabels)
		}
		// a pod known to be in n.Pods (which was never full, so never
		// lost one) needs no search
		if ep.Pod != "" && (ref == nil || ref.podsOf != n || len(n.Pods) >= maxPods) {
			if _, found := slices.BinarySearch(n.Pods, ep.Pod); !found {
				n.NamespaceLabels = unionLabels(n.NamespaceLabels, ep.NamespaceLabels)
				n.Pods = insertSorted(n.Pods, ep.Pod, maxPods)
			}
			if _, found := slices.BinarySearch(n.Pods, ep.Pod); found && ref != nil {
				ref.podsOf = n
			}
		}
	}
	for _, name := range ep.Names {
		if name = strings.TrimSuffix(name, "."); name != "" {
			n.Names = insertSorted(n.Names, name, maxNames)
		}
	}
	if ref != nil && ep.ID != nil {
		ref.touched, ref.lo, ref.hi = ep.ID, n.FirstSeen, n.LastSeen
	}
	return n
}

// selectable drops pod-specific label keys.
func selectable(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !IsPodSpecificLabel(k) {
			out[k] = v
		}
	}
	return out
}

// Graph finalises learning and returns the graph: it judges connections
// that existing policies denied and attaches DNS names to external IPs. The
// learner can keep adding afterwards; call Graph again for an updated graph.
func (l *Learner) Graph() *Graph {
	g := NewGraph()
	for a, names := range l.dns {
		g.DNS[a.String()] = slices.Sorted(slices.Values(names))
	}
	g.Merge(l.g) // a copy: the learner keeps its own state
	g.Judge(l.opts.LearnDropped)
	return g
}
