package goldmane

import (
	"strings"
	"time"

	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/goldmane/goldmanepb"
	"github.com/flowfence/flowfence/record"
)

// Skip reasons reported in the run summary.
const (
	SkipNoKey        = "Goldmane flows without a key"
	SkipNoPort       = "Goldmane flows without a destination port (TCP/UDP/SCTP): cannot become a port rule"
	SkipProtocol     = "Goldmane flows with an unknown protocol"
	SkipAction       = "Goldmane flows with an action other than Allow/Deny"
	SkipEndpointType = "Goldmane flows with an unspecified endpoint type"
)

// ConvertFlow converts one Goldmane flow into rec (which it overwrites).
// It returns ok=false with a skip reason for flows that are not to be
// learned from.
func ConvertFlow(f *goldmanepb.Flow, rec *record.Record) (skip string, ok bool) {
	*rec = record.Record{}
	k := f.GetKey()
	if k == nil {
		return SkipNoKey, false
	}
	rec.Time = time.Unix(f.GetStartTime(), 0).UTC()
	if f.GetStartTime() == 0 {
		rec.Time = time.Unix(f.GetEndTime(), 0).UTC()
	}
	rec.Direction = record.Request
	proto, known := calico.Protocol(k.GetProto())
	if !known {
		return SkipProtocol, false
	}
	rec.Proto = proto
	switch k.GetAction() {
	case goldmanepb.Action_Allow:
		rec.Verdict = record.Forwarded
	case goldmanepb.Action_Deny:
		rec.Verdict, rec.PolicyDrop, rec.DropReason = record.Dropped, true, "POLICY_DENIED"
		rec.DeniedBy = deniedBy(k.GetPolicies())
	default:
		return SkipAction, false
	}
	switch k.GetReporter() {
	case goldmanepb.Reporter_Src:
		rec.Reporter = record.ReporterSrc
	case goldmanepb.Reporter_Dst:
		rec.Reporter = record.ReporterDst
	}
	if n := f.GetNumConnectionsStarted(); n > 0 {
		rec.Count = uint64(n)
	}
	if !endpoint(&rec.Src, k.GetSourceType(), k.GetSourceName(), k.GetSourceNamespace(), f.GetSourceLabels()) ||
		!endpoint(&rec.Dst, k.GetDestType(), k.GetDestName(), k.GetDestNamespace(), f.GetDestLabels()) {
		return SkipEndpointType, false
	}
	if p := k.GetDestPort(); p > 0 && p <= 65535 {
		rec.Dst.Port = uint16(p)
	}
	if proto.HasPorts() && rec.Dst.Port == 0 {
		return SkipNoPort, false
	}
	// the API server behind the default/kubernetes Service: an entity (the
	// Cilium flavor can name it; the others report that its address is unknown)
	if k.GetDestType() != goldmanepb.EndpointType_WorkloadEndpoint && k.GetDestServiceNamespace() == "default" && k.GetDestServiceName() == "kubernetes" {
		rec.Dst = record.Endpoint{Entity: record.EntityKubeAPIServer, Port: rec.Dst.Port}
	}
	dt := k.GetDestType()
	rec.Delivered = rec.Verdict == record.Forwarded &&
		(rec.Reporter == record.ReporterDst || dt == goldmanepb.EndpointType_Network || dt == goldmanepb.EndpointType_NetworkSet)
	return "", true
}

// endpoint fills ep from one side of a flow key; ok is false for an
// unspecified type.
func endpoint(ep *record.Endpoint, typ goldmanepb.EndpointType, name, ns string, labels []string) bool {
	if ns == "-" {
		ns = ""
	}
	if name == "-" {
		name = ""
	}
	switch typ {
	case goldmanepb.EndpointType_WorkloadEndpoint:
		ep.Namespace, ep.Pod, ep.Aggregated = ns, name, true
		ep.Labels = calico.Labels(labels).Map()
	case goldmanepb.EndpointType_HostEndpoint:
		// a node (Goldmane does not say which): the remote-node entity
		ep.Entity, ep.Aggregated = record.EntityRemoteNode, true
	case goldmanepb.EndpointType_NetworkSet:
		ep.Entity, ep.Aggregated, ep.WorkloadName = record.EntityWorld, true, name
		if ns != "" {
			ep.WorkloadKind, ep.Namespace = "NetworkSet", ns
		} else {
			ep.WorkloadKind = "GlobalNetworkSet"
		}
	case goldmanepb.EndpointType_Network:
		if name == "" {
			name = "pub"
		}
		ep.Entity, ep.Aggregated, ep.WorkloadName = record.EntityWorld, true, strings.ToLower(name)
	default:
		return false
	}
	return true
}

// deniedBy names the enforced policy that denied the flow, as
// `namespace/name` (`name` for a cluster-wide one), as the Calico flow-log
// reader names it: the first Deny hit, the tier's last policy for an
// end-of-tier deny (its trigger). "" when the trace names none, or a name
// that is not a valid policy name (record.PolicyName).
func deniedBy(t *goldmanepb.PolicyTrace) string {
	for _, h := range t.GetEnforcedPolicies() {
		if h.GetAction() != goldmanepb.Action_Deny {
			continue
		}
		if h.GetKind() == goldmanepb.PolicyKind_EndOfTier && h.GetTrigger() != nil {
			h = h.GetTrigger()
		}
		return record.PolicyName(h.GetNamespace(), h.GetName())
	}
	return ""
}
