// Package record defines the normalized flow record: the one stream every
// collector (Hubble, Calico) produces and the learner consumes. It knows
// nothing of any CNI's wire format.
package record

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Protocol is an L4 protocol as NetworkPolicy and the CNIs name it.
type Protocol uint8

// Protocols a flow can carry.
const (
	ProtoUnknown Protocol = iota
	TCP
	UDP
	SCTP
	ICMPv4
	ICMPv6
)

var protoNames = [...]string{"UNKNOWN", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"}

// String returns the protocol's canonical name (TCP, UDP, SCTP, ICMPv4, ICMPv6).
func (p Protocol) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "UNKNOWN"
}

// ParseProtocol is the inverse of String (case-insensitive); ok is false for unknown names.
func ParseProtocol(s string) (Protocol, bool) {
	for i, n := range protoNames {
		if i > 0 && equalFold(n, s) {
			return Protocol(i), true
		}
	}
	return ProtoUnknown, false
}

// HasPorts reports whether the protocol carries ports (and so can be expressed
// in a NetworkPolicy port rule).
func (p Protocol) HasPorts() bool { return p == TCP || p == UDP || p == SCTP }

// Verdict is what the datapath did with the flow.
type Verdict uint8

// Verdicts. Forwarded, Redirected (to the L7 proxy) and Audit flowed; Dropped
// did not; Translated (socket-LB service translation) carries a Service IP,
// not a pod, and is never learned.
const (
	VerdictUnknown Verdict = iota
	Forwarded
	Dropped
	Audit
	Redirected
	Translated
	Error
	Traced
)

var verdictNames = [...]string{"UNKNOWN", "FORWARDED", "DROPPED", "AUDIT", "REDIRECTED", "TRANSLATED", "ERROR", "TRACED"}

// String returns the verdict in Hubble's spelling.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "UNKNOWN"
}

// Flowed reports whether traffic with this verdict reached its destination
// (or would have, for Audit: policy audit mode saw a flow enforcement would drop).
func (v Verdict) Flowed() bool { return v == Forwarded || v == Audit || v == Redirected || v == Traced }

// Direction says which side opened the connection.
type Direction uint8

// Directions: Request (the side that opened the connection), Reply, or
// Unknown (a mid-connection packet with no reply flag: never learned).
const (
	DirUnknown Direction = iota
	Request
	Reply
)

// String names the direction.
func (d Direction) String() string {
	switch d {
	case Request:
		return "request"
	case Reply:
		return "reply"
	}
	return "unknown"
}

// Entity names a non-pod peer. Pods have EntityNone.
type Entity string

// Reserved entities, named as Cilium names them.
const (
	EntityNone          Entity = ""
	EntityWorld         Entity = "world"
	EntityHost          Entity = "host"
	EntityRemoteNode    Entity = "remote-node"
	EntityKubeAPIServer Entity = "kube-apiserver"
	EntityHealth        Entity = "health"
	EntityInit          Entity = "init"
	EntityUnmanaged     Entity = "unmanaged"
	EntityIngress       Entity = "ingress"
	// EntityUnknown is a peer with neither pod metadata nor a reserved label:
	// learnable only by IP.
	EntityUnknown Entity = "unknown"
)

// Endpoint is one side of a flow: a pod, or a non-pod peer (reserved entity
// or bare IP).
type Endpoint struct {
	Cluster   string
	Namespace string
	Pod       string
	// WorkloadKind/WorkloadName come from the CNI when it knows the owning
	// controller (Hubble `workloads`); else the learner derives them.
	WorkloadKind string
	WorkloadName string
	// Labels are the pod's own labels, source prefix stripped, Cilium's
	// synthetic keys removed. NamespaceLabels likewise for the namespace.
	Labels          map[string]string
	NamespaceLabels map[string]string
	Entity          Entity
	IP              netip.Addr
	Port            uint16
	// Names are DNS names known for this endpoint (Hubble destination_names,
	// Calico dest_domains).
	Names []string
	// Aggregated is true when the source aggregated pods (Calico "*" prefixes,
	// null IPs): the IP is not known.
	Aggregated bool
	// Memo, when not nil, stands for every field above but IP, Port and
	// Names: endpoints with the same Memo have equal Cluster, Namespace,
	// Pod, WorkloadKind, WorkloadName, Entity and Aggregated, and the same
	// Labels and NamespaceLabels maps. A decoder that converts each
	// distinct endpoint value once sets it (one Memo per conversion); a
	// consumer may key caches by it. Code that changes any of those fields
	// of an endpoint must clear Memo.
	Memo *EndpointMemo
	// memoCache is memoOf's cache as SetMemo found it
	memoOf    *EndpointMemo
	memoCache *MemoCache
}

// SetMemo sets e.Memo to m and notes m's cache as it is now, so that a
// consumer reads it (MemoCache) without reaching m: a decoder calls it as
// it copies an endpoint from the conversion m stands for, whose memory it
// has just read.
func (e *Endpoint) SetMemo(m *EndpointMemo) {
	e.Memo, e.memoOf, e.memoCache = m, m, nil
	if m != nil {
		e.memoCache = m.Cache()
	}
}

// MemoCache returns a cache of e.Memo (nil when e has none, or its memo
// none): the one SetMemo noted when e.Memo is still that memo and it had
// one, else the memo's current one. A noted cache may since have been
// replaced on the memo: consumers check its owner, as for any cache.
func (e *Endpoint) MemoCache() *MemoCache {
	if e.Memo == nil {
		return nil
	}
	if e.memoOf == e.Memo && e.memoCache != nil {
		return e.memoCache
	}
	return e.Memo.Cache()
}

// EndpointMemo is the identity of one endpoint conversion (see
// Endpoint.Memo), compared by address. It also holds one consumer's cache
// of what it derived from the endpoints carrying it (see Cache), so that
// the consumer reaches it without a lookup.
type EndpointMemo struct{ cache atomic.Pointer[MemoCache] }

// MemoCache is what one consumer derived from the endpoints of a memo.
// Owner identifies the consumer (compared by identity): a consumer uses a
// cache it owns and replaces one it does not. Consumers embed MemoCache in
// their own cache type.
type MemoCache struct{ Owner any }

// Cache returns the cache last set on m, nil when none. Cache and SetCache
// may be called concurrently (by consumers on other goroutines).
func (m *EndpointMemo) Cache() *MemoCache { return m.cache.Load() }

// SetCache replaces m's cache.
func (m *EndpointMemo) SetCache(c *MemoCache) { m.cache.Store(c) }

// IsPod reports whether the endpoint is a pod: it has a namespace and no
// entity, or it is a named pod the CNI does not manage (EntityUnmanaged:
// it has no labels a selector could match).
func (e *Endpoint) IsPod() bool {
	return e.Namespace != "" && (e.Entity == EntityNone || e.Entity == EntityUnmanaged && e.Pod != "")
}

// Record is one normalized flow observation.
type Record struct {
	Time        time.Time
	Src, Dst    Endpoint
	Proto       Protocol
	ICMPType    uint8
	Verdict     Verdict
	Direction   Direction
	DropReason  string // e.g. POLICY_DENIED; empty unless Dropped
	PolicyDrop  bool   // dropped by a network policy (vs. other drop reasons)
	Node        string // node that observed the flow
	UUID        string
	Source      string // where it came from: file:line, relay address
	Count       uint64 // flows this record stands for (Calico aggregates); 0 means 1
	DNSQuery    string // L7 DNS query name, if this is a DNS flow
	DNSAnswers  []netip.Addr
	DNSResponse bool
	// Reporter says which end reported a connection record (Calico flow
	// logs, Goldmane); ReporterNone for packet-level sources (Hubble). The
	// learner counts a connection reported by both ends once.
	Reporter Reporter
	// Delivered is true when the record itself proves the connection
	// reached its destination (Calico: allowed by the destination's
	// reporter, or allowed by the source's reporter towards a peer Calico
	// does not manage, so no verdict will follow): it answers the
	// denied-attempt question for its edge as a reply would.
	Delivered bool
	// DeniedBy names the existing policy that denied a Dropped record, as
	// the source names it (Calico `namespace/tier.name`, a Goldmane trace's
	// policy, Cilium's *_denied_by): a valid policy name (ValidPolicyName)
	// or empty when unknown. It is input: escape it wherever it is printed.
	DeniedBy string
}

// Reporter is the end of a connection that reported it.
type Reporter uint8

// Reporters: the source (the side that opened the connection) or the
// destination.
const (
	ReporterNone Reporter = iota
	ReporterSrc
	ReporterDst
)

// String names the reporter as Calico does.
func (r Reporter) String() string {
	switch r {
	case ReporterSrc:
		return "src"
	case ReporterDst:
		return "dst"
	}
	return ""
}

// Flows returns how many flows the record stands for (at least 1).
func (r *Record) Flows() uint64 {
	if r.Count == 0 {
		return 1
	}
	return r.Count
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
