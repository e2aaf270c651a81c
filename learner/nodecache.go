package learner

import (
	"net/netip"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/flowfence/flowfence/internal/intern"
	"github.com/flowfence/flowfence/record"
)

// The learner's hot path computes two node IDs per record. Building them
// (workload derivation, string concatenation) costs more than the rest of
// Add, and a freshly built ID string makes every map lookup keyed by it
// compare bytes. nodeIDs caches the ID per endpoint and interns the ID
// strings, so that a record of a known pod costs one small map lookup and
// the graph's maps hash and compare interned strings.

// maxCachedEndpoints bounds each cache: when full it is emptied (IDs stay
// correct, they are recomputed).
const maxCachedEndpoints = 1 << 17

// podRefKey identifies a pod endpoint; the other inputs of its ID are
// checked on every hit.
type podRefKey struct{ ns, pod string }

// podRef is a pod endpoint's cached ID and everything it was derived from.
// What every record of the pod reads comes first, in two cache lines (the
// object is 512 bytes, so line-aligned, see TestHotLayout): the ID, the
// node and touch's span, the node's out-edge slots. The rest is read when
// the pod is resolved without an endpoint ID, or for replies.
type podRef struct {
	id, kind string
	// set by the learner as it uses the pod (see hint)
	node *Node
	// touched is the endpoint ID (record.Endpoint.ID) of the endpoint
	// whose node touch last updated in full, and lo..hi a span of time the
	// node's is known to cover: touching it again within the span changes
	// nothing (see touch)
	touched *record.EndpointID
	lo, hi  time.Time
	// outs are the recent out-edges of the pod's node (of ID id)
	outs        *outSlots
	ok          bool
	labelled    bool
	nextReplied uint8

	pod string
	// podsOf is the node whose Pods list holds this pod
	podsOf *Node
	// replyTags[i] is slotTag of replied[i]'s key (0: empty)
	replyTags             [replySlots]uint32
	cluster, wkind, wname string
	aggregated            bool
	labels                unsafe.Pointer // identity of the Labels map derived from
	labelsMap             map[string]string
	name                  string
	// replied are recent reply keys (pod as the request's source) the
	// learner already recorded (see repliedBefore)
	replied [replySlots]replySlot
	// 512 bytes in all: a size class of whole cache lines
	_ [64]byte
}

// outSlots are the recently used out-edges of one source node, shared
// by its pods (the edges of a workload are the same whoever of its pods
// opened the connection): tags[i] is slotTag of edges[i]'s key (0: empty).
type outSlots struct {
	next uint8
	// the tags' line and every slot's two lines start at cache lines: the
	// object starts 8 bytes into a line-aligned heap slot (its malloc
	// header), see TestHotLayout
	_     [55]byte
	tags  [edgeSlots]uint32
	edges [edgeSlots]edgeSlot
}

// outsOf returns the out-edge slots of node id.
func (c *nodeIDs) outsOf(id string) *outSlots {
	o := c.outs[id]
	if o == nil {
		if c.outs == nil || len(c.outs) >= maxCachedEndpoints {
			c.outs = map[string]*outSlots{}
		}
		o = &outSlots{}
		c.outs[id] = o
	}
	return o
}

// slotTag is a filter for a slot's key: equal keys have equal tags when
// their destination IDs are the same interned string (they are the
// learner's IDs); a key whose ID is another copy only misses its slot.
// Never 0.
func slotTag(dst string, proto record.Protocol, port uint16) uint32 {
	x := uint64(uintptr(unsafe.Pointer(unsafe.StringData(dst)))) ^ uint64(len(dst))<<48 ^ uint64(port)<<32 ^ uint64(proto)<<24
	return uint32((x*0x9E3779B97F4A7C15)>>32) | 1
}

// replySlot is one reply key a pod's cache entry remembers.
type replySlot struct {
	dst   string
	proto record.Protocol
	port  uint16
}

// addrRefKey identifies a non-pod endpoint: its ID depends on the entity
// and the address only.
type addrRefKey struct {
	entity record.Entity
	ip     netip.Addr
}

type addrRef struct {
	id string
	ok bool
}

// recentID is one endpoint ID nodeID resolved, and its pod's entry.
type recentID struct {
	id  *record.EndpointID
	ref *podRef
}

// nodeIDs is the learner's endpoint → node ID cache.
type nodeIDs struct {
	// recent are the last two endpoint IDs resolved
	recent     [2]recentID
	nextRecent int
	// byID are the pods' entries by the IDs of their endpoints
	byID  map[*record.EndpointID]*podRef
	pods  map[podRefKey]*podRef
	outs  map[string]*outSlots
	addrs map[addrRefKey]addrRef
	ids   *intern.Table // interned IDs
	hints [2]hint
	next  int
}

func mapIdentity(m map[string]string) unsafe.Pointer {
	if m == nil {
		return nil
	}
	return reflect.ValueOf(m).UnsafePointer()
}

// intern returns the one copy of id the learner keeps.
func (c *nodeIDs) intern(id string) string {
	if c.ids == nil {
		c.ids = intern.New(maxCachedEndpoints)
	}
	return c.ids.String(id)
}

// nodeID returns the graph node ID of an endpoint without creating the
// node, and for a pod its workload kind: computeNodeID, cached.
//
// A pod's ID depends on its cluster, namespace, workload kind and name,
// pod name and labels (workload derivation): the cache is keyed by
// namespace and pod and checks the rest on every hit, the labels by the
// identity of their map (the Hubble fast decoder shares one map between
// every flow of a pod). When only the labels map differs, the workload is
// derived again and the cached ID kept if it is the same. An endpoint
// with an ID (record.Endpoint.ID) is resolved by it, without reading its
// fields.
func (l *Learner) nodeID(ep *record.Endpoint) (id, kind string, ok bool) {
	c := &l.nodeIDs
	if !ep.IsPod() {
		k := addrRefKey{entity: ep.Entity, ip: ep.IP}
		if r, hit := c.addrs[k]; hit {
			return r.id, "", r.ok
		}
		id, _, ok = l.computeNodeID(ep)
		id = c.intern(id)
		if c.addrs == nil || len(c.addrs) >= maxCachedEndpoints {
			c.addrs = map[addrRefKey]addrRef{}
		}
		c.addrs[k] = addrRef{id: id, ok: ok}
		return id, "", ok
	}
	if ep.ID != nil {
		// Add resolves each endpoint twice (reporter merge, then the
		// edge): the last two endpoint IDs resolved are at hand
		for i := range c.recent {
			if r := &c.recent[i]; r.id == ep.ID {
				c.setHint(ep, r.ref)
				return r.ref.id, r.ref.kind, r.ref.ok
			}
		}
		r := c.byID[ep.ID]
		if r != nil {
			c.setHint(ep, r)
		} else {
			// the pod's entry was derived from fields equal to ep's, and
			// the identity of an entry never changes: it is the ID's
			r = l.podNodeRef(ep)
			if c.byID == nil || len(c.byID) >= maxCachedEndpoints {
				c.byID = map[*record.EndpointID]*podRef{}
			}
			c.byID[ep.ID] = r
		}
		c.recent[c.nextRecent] = recentID{id: ep.ID, ref: r}
		c.nextRecent ^= 1
		return r.id, r.kind, r.ok
	}
	r := l.podNodeRef(ep)
	return r.id, r.kind, r.ok
}

// podNodeRef is nodeID of a pod endpoint, cached by namespace and pod: the
// pod's cache entry. An entry's identity (the fields its ID was derived
// from, and the ID) never changes: a pod whose fields change gets a new
// entry.
func (l *Learner) podNodeRef(ep *record.Endpoint) *podRef {
	c := &l.nodeIDs
	k := podRefKey{ns: ep.Namespace, pod: ep.Pod}
	r := c.pods[k]
	labels := mapIdentity(ep.Labels)
	if r != nil && r.cluster == ep.Cluster && r.wkind == ep.WorkloadKind && r.wname == ep.WorkloadName && r.aggregated == ep.Aggregated {
		if r.labels == labels {
			c.setHint(ep, r)
			return r
		}
		// same pod, another labels map: derive again, keep the entry if
		// the workload is the same
		if kind, name := l.derive.Workload(ep); kind == r.kind && name == r.name {
			r.labels, r.labelsMap = labels, ep.Labels
			c.setHint(ep, r)
			return r
		}
	}
	id, kind, ok := l.computeNodeID(ep)
	_, name := l.derive.Workload(ep)
	if c.pods == nil || len(c.pods) >= maxCachedEndpoints {
		c.pods = map[podRefKey]*podRef{}
	}
	r = &podRef{cluster: ep.Cluster, wkind: ep.WorkloadKind, wname: ep.WorkloadName,
		aggregated: ep.Aggregated, labels: labels, labelsMap: ep.Labels, pod: ep.Pod, id: c.intern(id), kind: kind, name: name, ok: ok}
	if ok {
		r.outs = c.outsOf(r.id)
	}
	c.pods[k] = r
	c.setHint(ep, r)
	return r
}

// hint is the pod a nodeID call just resolved for one endpoint of the
// record being added: touch and the edge lookup of the same Add use it to
// reach the node, the pod's labelled flag and its recent edges without
// map lookups keyed by strings. A hint is trusted only for the same
// endpoint pointer, node ID and pod name.
type hint struct {
	ep  uintptr // the endpoint's address: compared, never dereferenced (no escape, no retention)
	ref *podRef
	// epID is the endpoint's ID when the hint was set: an endpoint with
	// the same ID has the same pod name (ref's), no compare needed
	epID *record.EndpointID
}

func (c *nodeIDs) setHint(e *record.Endpoint, ref *podRef) {
	ep := uintptr(unsafe.Pointer(e))
	switch ep {
	case c.hints[0].ep:
		c.hints[0].ref, c.hints[0].epID = ref, e.ID
	case c.hints[1].ep:
		c.hints[1].ref, c.hints[1].epID = ref, e.ID
	default:
		c.hints[c.next] = hint{ep: ep, ref: ref, epID: e.ID}
		c.next ^= 1
	}
}

func (c *nodeIDs) hintFor(ep *record.Endpoint, id string) *podRef {
	p := uintptr(unsafe.Pointer(ep))
	for i := range c.hints {
		if h := &c.hints[i]; h.ep == p && h.ref != nil && h.ref.id == id && ((h.epID != nil && h.epID == ep.ID) || h.ref.pod == ep.Pod) {
			return h.ref
		}
	}
	return nil
}

// edgeSlots is how many recently used out-edges (with their reporter
// merge states) a source node remembers, replySlots how many reply keys
// a pod remembers,
// slotNodes how many observing nodes an edge slot knows.
const (
	edgeSlots  = 16
	replySlots = 8
	slotNodes  = 4
)

type edgeSlot struct {
	dst string
	e   *Edge
	// rep is the reporter merge state of the edge's records of one UTC
	// hour (see reporterCount)
	rep     *reporterCount
	repHour int64
	proto   record.Protocol
	port    uint16
	next    uint8
	// nodes are observing nodes known to be in e.NodesSeen: an edge of a
	// pod's is seen by the pod's node and, from Calico's dst reporter,
	// by the nodes of the peer workload's pods
	nodes [slotNodes]string
	// source is a source known to be in e.Sources
	source string
}

// sawNode reports whether node is known to be in e.NodesSeen: remembered
// by this slot, and the list never full (so it never lost a node). A nil
// slot knows nothing.
func (s *edgeSlot) sawNode(node string, e *Edge) bool {
	return s != nil && s.e == e && slices.Contains(s.nodes[:], node) && len(e.NodesSeen) < maxNodesSeen
}

// sawSource is sawNode for e.Sources.
func (s *edgeSlot) sawSource(source string, e *Edge) bool {
	return s != nil && s.e == e && s.source == source && len(e.Sources) < maxSources
}

// rememberSource records that source is in e.Sources.
func (s *edgeSlot) rememberSource(source string, e *Edge) {
	if s != nil && s.e == e {
		s.source = source
	}
}

// rememberNode records that node is in e.NodesSeen.
func (s *edgeSlot) rememberNode(node string, e *Edge) {
	if s == nil || s.e != e {
		return
	}
	s.nodes[s.next] = node
	s.next = (s.next + 1) % slotNodes
}

// cachedNode returns the node of id (nil when it does not exist yet) and
// the pod hint of ep, if any.
func (l *Learner) cachedNode(ep *record.Endpoint, id string) (*Node, *podRef) {
	ref := l.nodeIDs.hintFor(ep, id)
	if ref != nil && ref.node != nil {
		return ref.node, ref
	}
	return l.g.Nodes[id], ref
}

// podLabelled reports whether the pod pk's labels were folded into its
// node (the learner's labelled set), remembering a yes in the hint.
func (l *Learner) podLabelled(ref *podRef, pk podKey) bool {
	if ref != nil && ref.labelled {
		return true
	}
	_, done := l.labelled[pk]
	if done && ref != nil {
		ref.labelled = true
	}
	return done
}

// edge returns the learner's edge k (nil when it does not exist yet),
// looked up in the recent out-edges of the source pod's node first, and
// the slot that holds it (nil when none does). found is the slot the
// reporter merge found for the record (reporterFlows; nil when none): it
// is taken when it holds k.
func (l *Learner) edge(src *record.Endpoint, k EdgeKey, found *edgeSlot) (*Edge, *edgeSlot) {
	if s := found; s != nil {
		if s.e != nil && s.dst == k.Dst && s.proto == k.Proto && s.port == k.Port && s.e.Src == k.Src {
			return s.e, s
		}
	}
	o := l.nodeIDs.hintFor(src, k.Src).outSlots()
	if s := o.slot(k.Dst, k.Proto, k.Port); s != nil {
		return s.e, s
	}
	e := l.g.Edges[k]
	if e != nil && o != nil {
		i := o.next
		s := &o.edges[i]
		*s = edgeSlot{dst: k.Dst, proto: k.Proto, port: k.Port, e: e}
		o.tags[i] = slotTag(k.Dst, k.Proto, k.Port)
		o.next = (i + 1) % edgeSlots
		return e, s
	}
	return e, nil
}

// outSlots are the out-edge slots of the pod's node (nil when ref is nil).
func (ref *podRef) outSlots() *outSlots {
	if ref == nil {
		return nil
	}
	return ref.outs
}

// slot is the slot of the out-edge to dst (nil when none, or when o is
// nil).
func (o *outSlots) slot(dst string, proto record.Protocol, port uint16) *edgeSlot {
	if o == nil {
		return nil
	}
	t := slotTag(dst, proto, port)
	for i, tag := range o.tags {
		if tag == t {
			if s := &o.edges[i]; s.e != nil && s.dst == dst && s.proto == proto && s.port == port {
				return s
			}
		}
	}
	return nil
}

// repliedBefore reports whether the reply key k (src: the request's
// source, whose endpoint is reqSrc) was recorded before by this learner,
// remembering it when not. A recorded reply key stays in l.replies and its
// edge, if it existed, was marked answered (a learner never clears that):
// a repeat changes nothing, so Add skips the map work.
func (l *Learner) repliedBefore(reqSrc *record.Endpoint, k EdgeKey) bool {
	ref := l.nodeIDs.hintFor(reqSrc, k.Src)
	if ref == nil {
		return false
	}
	t := slotTag(k.Dst, k.Proto, k.Port)
	for i, tag := range ref.replyTags {
		if tag == t {
			if s := &ref.replied[i]; s.dst == k.Dst && s.proto == k.Proto && s.port == k.Port {
				return true
			}
		}
	}
	i := ref.nextReplied
	ref.replied[i] = replySlot{dst: k.Dst, proto: k.Proto, port: k.Port}
	ref.replyTags[i] = t
	ref.nextReplied = (i + 1) % replySlots
	return false
}
