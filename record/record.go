// Package record defines the normalized flow record: the one stream every
// collector (Hubble, Calico) produces and the learner consumes. It knows
// nothing of any CNI's wire format.
package record

import (
	"net/netip"
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
	// ID, when not nil, identifies the one conversion this endpoint is a
	// copy of, and so stands for every field above but IP, Port and Names:
	// endpoints with the same ID have equal Cluster, Namespace, Pod,
	// WorkloadKind, WorkloadName, Entity and Aggregated, and the same
	// Labels and NamespaceLabels maps. A decoder that converts each
	// distinct endpoint value once gives each conversion its own ID
	// (NewEndpointID); a consumer may key caches by it. Code that changes
	// any of those fields of an endpoint must clear ID.
	ID *EndpointID
}

// EndpointID is the opaque identity of one endpoint conversion (see
// Endpoint.ID), compared by address: every NewEndpointID is another.
type EndpointID struct {
	// not empty: pointers to distinct zero-size values may be equal
	_ byte
}

// NewEndpointID returns a new endpoint identity.
func NewEndpointID() *EndpointID { return new(EndpointID) }

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
