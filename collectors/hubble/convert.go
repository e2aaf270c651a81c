// Package hubble reads Cilium Hubble flows — `hubble observe -o json/jsonpb`
// lines, Hubble exporter files, legacy bare Flow objects, or a live
// observer.GetFlows stream — and converts them into normalized records:
// labels stripped of their source prefix, reserved identities mapped to
// entities, and each flow classified as request, reply or unknown as
// DESIGN.md says (is_reply, TCP flags, policy-verdict events, drops).
package hubble

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/flowfence/flowfence/record"
)

// Cilium monitor message types (event_type.type).
const (
	msgTypeDrop          = 1
	msgTypeDebug         = 2
	msgTypeCapture       = 3
	msgTypeTrace         = 4
	msgTypePolicyVerdict = 5
	msgTypeTraceSock     = 7
	msgTypeAccessLog     = 129
)

// Skip reasons reported in the run summary.
const (
	SkipLostEvents  = "lost_events lines"
	SkipNonFlow     = "non-flow events (node_status, agent, debug)"
	SkipTranslated  = "socket-LB TRANSLATED events (Service IP, not a pod)"
	SkipVerdict     = "flows with verdict ERROR/UNKNOWN"
	SkipDebug       = "debug/capture events"
	SkipNoEndpoints = "flows without source or destination"
)

// skipInvalidL4 counts flows (from a stream) whose L4 header cannot be real;
// in a file such a line is malformed.
const skipInvalidL4 = "flows with a port above 65535 or an ICMP type above 255"

// checkL4 rejects L4 values that do not fit their wire size: the proto
// fields are uint32, and converting 70000 to a uint16 port would learn
// port 4464.
func checkL4(f *flowpb.Flow) error {
	switch l4 := f.GetL4().GetProtocol().(type) {
	case *flowpb.Layer4_TCP:
		return checkPorts("TCP", l4.TCP.GetSourcePort(), l4.TCP.GetDestinationPort())
	case *flowpb.Layer4_UDP:
		return checkPorts("UDP", l4.UDP.GetSourcePort(), l4.UDP.GetDestinationPort())
	case *flowpb.Layer4_SCTP:
		return checkPorts("SCTP", l4.SCTP.GetSourcePort(), l4.SCTP.GetDestinationPort())
	case *flowpb.Layer4_ICMPv4:
		if t := l4.ICMPv4.GetType(); t > 255 {
			return fmt.Errorf("l4 ICMPv4 type %d out of range (0-255)", t)
		}
	case *flowpb.Layer4_ICMPv6:
		if t := l4.ICMPv6.GetType(); t > 255 {
			return fmt.Errorf("l4 ICMPv6 type %d out of range (0-255)", t)
		}
	}
	return nil
}

// checkPorts rejects the ports of a proto header above 65535.
func checkPorts(proto string, src, dst uint32) error {
	if src <= 65535 && dst <= 65535 {
		return nil
	}
	port := func(name string, p uint32) error {
		if p > 65535 {
			return fmt.Errorf("l4 %s %s %d out of range (0-65535)", proto, name, p)
		}
		return nil
	}
	return errors.Join(port("source_port", src), port("destination_port", dst))
}

// Ephemeral port range (Linux default ip_local_port_range).
const (
	EphemeralLow  = 32768
	EphemeralHigh = 60999
)

// IsEphemeral reports whether port is in the ephemeral range.
func IsEphemeral(port uint16) bool { return port >= EphemeralLow && port <= EphemeralHigh }

// ConvertResponse converts one GetFlowsResponse (or ExportEvent-shaped
// line). It returns ok=false and a skip reason for events that are not flows
// to learn from; lost reports events the source said it lost.
func ConvertResponse(resp *observerpb.GetFlowsResponse, rec *record.Record) (skip string, lost uint64, ok bool) {
	switch ev := resp.GetResponseTypes().(type) {
	case *observerpb.GetFlowsResponse_Flow:
		if ev.Flow == nil {
			return SkipNonFlow, 0, false
		}
		skip, ok = ConvertFlow(ev.Flow, rec)
		if ok {
			if rec.Time.IsZero() && resp.GetTime() != nil {
				rec.Time = resp.GetTime().AsTime()
			}
			if rec.Node == "" {
				rec.Node = resp.GetNodeName()
			}
		}
		return skip, 0, ok
	case *observerpb.GetFlowsResponse_LostEvents:
		return SkipLostEvents, ev.LostEvents.GetNumEventsLost(), false
	default:
		return SkipNonFlow, 0, false
	}
}

// FlowMessages are a flow and the sub-messages it can point to, for
// decoders that read only the fields ConvertFlow reads into one reused
// flow (no allocation per flow): the JSON fast path, the relay's wire
// decoder. Src and Dst stay empty: such a decoder converts each distinct
// endpoint once and puts the conversion into the record ConvertFlow made.
type FlowMessages struct {
	Flow      flowpb.Flow
	Time      timestamppb.Timestamp
	IP        flowpb.IP
	L4        flowpb.Layer4
	TCP       flowpb.TCP
	TCPL4     flowpb.Layer4_TCP
	Flags     flowpb.TCPFlags
	UDP       flowpb.UDP
	UDPL4     flowpb.Layer4_UDP
	SCTP      flowpb.SCTP
	SCTPL4    flowpb.Layer4_SCTP
	ICMPv4    flowpb.ICMPv4
	ICMPv4L4  flowpb.Layer4_ICMPv4
	ICMPv6    flowpb.ICMPv6
	ICMPv6L4  flowpb.Layer4_ICMPv6
	L7        flowpb.Layer7
	DNS       flowpb.DNS
	DNSL7     flowpb.Layer7_Dns
	EventType flowpb.CiliumEventType
	IsReply   wrapperspb.BoolValue
	Src, Dst  flowpb.Endpoint
}

// ConvertFlow converts a Hubble flow into rec (which it overwrites).
func ConvertFlow(f *flowpb.Flow, rec *record.Record) (skip string, ok bool) {
	*rec = record.Record{}
	et := f.GetEventType().GetType()
	switch {
	case f.GetVerdict() == flowpb.Verdict_TRANSLATED || et == msgTypeTraceSock || f.GetType() == flowpb.FlowType_SOCK:
		return SkipTranslated, false
	case et == msgTypeDebug || et == msgTypeCapture:
		return SkipDebug, false
	}
	switch f.GetVerdict() {
	case flowpb.Verdict_FORWARDED:
		rec.Verdict = record.Forwarded
	case flowpb.Verdict_DROPPED:
		rec.Verdict = record.Dropped
	case flowpb.Verdict_AUDIT:
		rec.Verdict = record.Audit
	case flowpb.Verdict_REDIRECTED:
		rec.Verdict = record.Redirected
	case flowpb.Verdict_TRACED:
		rec.Verdict = record.Traced
	default:
		return SkipVerdict, false
	}
	if f.GetSource() == nil && f.GetDestination() == nil && f.GetIP() == nil {
		return SkipNoEndpoints, false
	}
	if t := f.GetTime(); t != nil {
		rec.Time = t.AsTime()
	}
	rec.UUID = f.GetUuid()
	rec.Node = f.GetNodeName()
	if rec.Verdict == record.Dropped {
		reason := f.GetDropReasonDesc()
		if reason == flowpb.DropReason_DROP_REASON_UNKNOWN && f.GetDropReason() != 0 {
			reason = flowpb.DropReason(f.GetDropReason())
		}
		rec.DropReason = reason.String()
		rec.PolicyDrop = reason == flowpb.DropReason_POLICY_DENIED || reason == flowpb.DropReason_POLICY_DENY
		if rec.PolicyDrop {
			rec.DeniedBy = deniedBy(f)
		}
	}
	var srcIP, dstIP netip.Addr
	if ip := f.GetIP(); ip != nil {
		srcIP, _ = netip.ParseAddr(ip.GetSource())
		dstIP, _ = netip.ParseAddr(ip.GetDestination())
	}
	srcHost := convertEndpoint(f.GetSource(), srcIP, &rec.Src)
	dstHost := convertEndpoint(f.GetDestination(), dstIP, &rec.Dst)
	rec.Src.Names = f.GetSourceNames()
	rec.Dst.Names = f.GetDestinationNames()

	if checkL4(f) != nil {
		return skipInvalidL4, false
	}
	var tcpFlags *flowpb.TCPFlags
	switch l4 := f.GetL4().GetProtocol().(type) {
	case *flowpb.Layer4_TCP:
		rec.Proto = record.TCP
		rec.Src.Port, rec.Dst.Port = uint16(l4.TCP.GetSourcePort()), uint16(l4.TCP.GetDestinationPort())
		tcpFlags = l4.TCP.GetFlags()
	case *flowpb.Layer4_UDP:
		rec.Proto = record.UDP
		rec.Src.Port, rec.Dst.Port = uint16(l4.UDP.GetSourcePort()), uint16(l4.UDP.GetDestinationPort())
	case *flowpb.Layer4_SCTP:
		rec.Proto = record.SCTP
		rec.Src.Port, rec.Dst.Port = uint16(l4.SCTP.GetSourcePort()), uint16(l4.SCTP.GetDestinationPort())
	case *flowpb.Layer4_ICMPv4:
		rec.Proto = record.ICMPv4
		rec.ICMPType = uint8(l4.ICMPv4.GetType())
	case *flowpb.Layer4_ICMPv6:
		rec.Proto = record.ICMPv6
		rec.ICMPType = uint8(l4.ICMPv6.GetType())
	}

	l7 := f.GetL7()
	if dns := l7.GetDns(); dns != nil {
		rec.DNSQuery = strings.TrimSuffix(dns.GetQuery(), ".")
		rec.DNSResponse = l7.GetType() == flowpb.L7FlowType_RESPONSE
		for _, s := range dns.GetIps() {
			if a, err := netip.ParseAddr(s); err == nil {
				rec.DNSAnswers = append(rec.DNSAnswers, a)
			}
		}
	}
	rec.Direction = direction(f, et, tcpFlags, rec)
	OwnNodeCaller(rec, srcHost, dstHost)
	return "", true
}

// OwnNodeCaller makes the caller of a flow the host entity when its
// identity is the local node that also runs the API server (identity 1
// with reserved:host and reserved:kube-apiserver, on control-plane and
// single-node clusters; srcHost/dstHost say which end is such a node):
// traffic from the pod's own node is host traffic (kubelet probes),
// whatever else the identity says. The called end keeps kube-apiserver (a
// pod calling the API server that runs on its node), so a request and its
// reply name the same peers.
func OwnNodeCaller(rec *record.Record, srcHost, dstHost bool) {
	var ep *record.Endpoint
	switch {
	case rec.Direction == record.Request && srcHost:
		ep = &rec.Src
	case rec.Direction == record.Reply && dstHost:
		ep = &rec.Dst
	default:
		return
	}
	if ep.Entity == record.EntityKubeAPIServer {
		ep.Entity = record.EntityHost
		ep.ID = nil // the endpoint no longer is its conversion
	}
}

// IsOwnNodeAPIServer reports an endpoint that is the local node and the
// API server at once (both reserved:host and reserved:kube-apiserver), for
// decoders that convert endpoints apart from their flow (OwnNodeCaller).
func IsOwnNodeAPIServer(ep *flowpb.Endpoint) bool {
	var cl ciliumLabels
	for _, l := range ep.GetLabels() {
		cl.add(l)
	}
	return cl.host && cl.entity == record.EntityKubeAPIServer
}

func direction(f *flowpb.Flow, et int32, flags *flowpb.TCPFlags, rec *record.Record) record.Direction {
	if r := f.GetIsReply(); r != nil {
		if r.GetValue() {
			return record.Reply
		}
		return record.Request
	}
	if f.GetReply() { //nolint:staticcheck // deprecated field still set by old exports
		return record.Reply
	}
	if et == msgTypeAccessLog && f.GetL7() != nil {
		switch f.GetL7().GetType() {
		case flowpb.L7FlowType_REQUEST:
			return record.Request
		case flowpb.L7FlowType_RESPONSE:
			return record.Reply
		}
	}
	if et == msgTypePolicyVerdict || rec.Verdict == record.Dropped {
		return record.Request
	}
	switch rec.Proto {
	case record.TCP:
		if flags.GetSYN() && !flags.GetACK() {
			return record.Request
		}
		if flags.GetSYN() && flags.GetACK() {
			return record.Reply
		}
		return record.DirUnknown
	case record.ICMPv4:
		switch rec.ICMPType {
		case 8, 13, 15, 17: // echo, timestamp, info, address mask requests
			return record.Request
		case 0, 14, 16, 18:
			return record.Reply
		}
	case record.ICMPv6:
		switch rec.ICMPType {
		case 128:
			return record.Request
		case 129:
			return record.Reply
		}
	case record.UDP, record.SCTP:
		se, de := IsEphemeral(rec.Src.Port), IsEphemeral(rec.Dst.Port)
		switch {
		case se && !de:
			return record.Request
		case de && !se:
			return record.Reply
		}
	}
	return record.DirUnknown
}

// identityUnmanaged is Cilium's reserved identity of a pod it does not
// manage (started before the agent): a flow names its namespace and pod,
// with the one label reserved:unmanaged (or none).
const identityUnmanaged = 3

// entityFromIdentity maps Cilium's reserved numeric identities
// (pkg/identity/numericidentity.go) for endpoints that carry no labels.

func entityFromIdentity(id uint32) record.Entity {
	switch id {
	case 1:
		return record.EntityHost
	case 2, 9, 10:
		return record.EntityWorld
	case 3:
		return record.EntityUnmanaged
	case 4:
		return record.EntityHealth
	case 5:
		return record.EntityInit
	case 6:
		return record.EntityRemoteNode
	case 7:
		return record.EntityKubeAPIServer
	case 8:
		return record.EntityIngress
	}
	return record.EntityNone
}

// entity precedence when an identity carries several reserved labels (a
// managed API server is labelled kube-apiserver and world).
func entityRank(e record.Entity) int {
	switch e {
	case record.EntityKubeAPIServer:
		return 9
	case record.EntityHost:
		return 8
	case record.EntityRemoteNode:
		return 7
	case record.EntityHealth:
		return 6
	case record.EntityIngress:
		return 5
	case record.EntityInit:
		return 4
	case record.EntityUnmanaged:
		return 3
	case record.EntityWorld:
		return 2
	case record.EntityUnknown:
		return 1
	}
	return 0
}

func reservedEntity(v string) record.Entity {
	switch v {
	case "host":
		return record.EntityHost
	case "remote-node":
		return record.EntityRemoteNode
	case "kube-apiserver":
		return record.EntityKubeAPIServer
	case "world", "world-ipv4", "world-ipv6":
		return record.EntityWorld
	case "health":
		return record.EntityHealth
	case "init":
		return record.EntityInit
	case "ingress":
		return record.EntityIngress
	case "unmanaged":
		return record.EntityUnmanaged
	}
	return record.EntityUnknown
}

const (
	nsLabelPrefix  = "io.cilium.k8s.namespace.labels."
	clusterLabel   = "io.cilium.k8s.policy.cluster"
	ciliumSynthPfx = "io.cilium."
	podNSLabel     = "io.kubernetes.pod.namespace"
	// nsNameLabel is the label the API server sets on every namespace to
	// its name, immutable: a pod endpoint's namespace labels carry it with
	// the flow's namespace, the authority
	nsNameLabel = "kubernetes.io/metadata.name"
)

// convertEndpoint converts one flow endpoint; ownNode reports an endpoint
// that is the local node and the API server at once (see OwnNodeCaller).
func convertEndpoint(ep *flowpb.Endpoint, ip netip.Addr, out *record.Endpoint) (ownNode bool) {
	out.IP = ip
	if ep == nil {
		out.Entity = record.EntityUnknown
		return false
	}
	out.Namespace = ep.GetNamespace()
	out.Pod = ep.GetPodName()
	out.Cluster = ep.GetClusterName()
	if w := ep.GetWorkloads(); len(w) > 0 {
		out.WorkloadKind, out.WorkloadName = w[0].GetKind(), w[0].GetName()
	}
	var cl ciliumLabels
	for _, l := range ep.GetLabels() {
		cl.add(l)
	}
	if out.Cluster == "" {
		out.Cluster = cl.cluster
	}
	out.Labels, out.NamespaceLabels = cl.labels, cl.nsLabels
	out.Entity = endpointEntity(cl.entity, out.Namespace, out.Pod, ep.GetIdentity())
	if out.IsPod() {
		if out.NamespaceLabels == nil {
			out.NamespaceLabels = map[string]string{}
		}
		out.NamespaceLabels[nsNameLabel] = out.Namespace
	}
	return cl.host && out.Entity == record.EntityKubeAPIServer
}

// endpointEntity is the entity of an endpoint in namespace ns named pod,
// of numeric identity id, whose labels name entity (EntityNone when they
// name none): every decoder's endpoint conversion decides it here.
func endpointEntity(entity record.Entity, ns, pod string, id uint32) record.Entity {
	if entity == record.EntityNone && (ns == "" || id == identityUnmanaged) {
		entity = entityFromIdentity(id)
		if entity == record.EntityNone {
			entity = record.EntityUnknown
		}
	}
	// a pod that also carries a reserved label (e.g. a hostNetwork pod
	// seen as host) keeps its pod identity only when it has a name; a
	// named pod the CNI does not manage stays marked unmanaged (a pod
	// without labels: no selector matches it).
	if ns != "" && entity != record.EntityNone && entity != record.EntityUnmanaged && pod != "" {
		entity = record.EntityNone
	}
	return entity
}

// splitSource splits "k8s:app=x" into ("k8s", "app=x"). Label keys cannot
// contain ':', so anything before the first ':' without '=' or '/' is the
// label source.
func splitSource(l string) (string, string) {
	i := strings.IndexByte(l, ':')
	if i <= 0 {
		return "", l
	}
	if strings.ContainsAny(l[:i], "=/") {
		return "", l
	}
	return l[:i], l[i+1:]
}

// ciliumLabels is what an endpoint's Cilium labels say: the highest-ranked
// reserved entity (EntityNone if none), the pod's own labels (source prefix
// stripped, Cilium's synthetic keys dropped), the namespace labels and the
// first io.cilium.k8s.policy.cluster value. Shared by the protojson path and
// the fast decoder so the two cannot drift.
type ciliumLabels struct {
	labels, nsLabels map[string]string
	entity           record.Entity
	cluster          string
	// host: one of the labels is reserved:host (the local node), whatever
	// entity ranks first
	host bool
}

// add classifies one label such as "k8s:app=x" or "reserved:host".
func (c *ciliumLabels) add(l string) {
	src, kv := splitSource(l)
	key, val, _ := strings.Cut(kv, "=")
	switch {
	case src == "reserved":
		c.host = c.host || key == "host"
		if e := reservedEntity(key); entityRank(e) > entityRank(c.entity) {
			c.entity = e
		}
	case src == "cidr" || src == "fqdn":
	case strings.HasPrefix(key, nsLabelPrefix):
		if c.nsLabels == nil {
			c.nsLabels = map[string]string{}
		}
		c.nsLabels[key[len(nsLabelPrefix):]] = val
	case key == clusterLabel:
		if c.cluster == "" {
			c.cluster = val
		}
	case key == podNSLabel || strings.HasPrefix(key, ciliumSynthPfx):
		// Cilium's synthetic keys: never selected on.
	default:
		if c.labels == nil {
			c.labels = map[string]string{}
		}
		c.labels[key] = val
	}
}

// deniedBy names the policy whose deny rule dropped the flow (Cilium 1.16+
// egress_denied_by / ingress_denied_by) as `namespace/name` (`name` for a
// clusterwide one); "" when the flow names none (a default-deny drop) or a
// name that is not a valid policy name.
func deniedBy(f *flowpb.Flow) string {
	for _, ps := range [][]*flowpb.Policy{f.GetEgressDeniedBy(), f.GetIngressDeniedBy()} {
		if len(ps) > 0 {
			return record.PolicyName(ps[0].GetNamespace(), ps[0].GetName())
		}
	}
	return ""
}
