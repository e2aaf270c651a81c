package calico

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowfence/flowfence/record"
)

// Skip reasons reported in the run summary.
const (
	SkipNoPort        = "Calico flow-log records without a destination port (TCP/UDP/SCTP port aggregated away): cannot become a port rule"
	SkipProtocol      = "Calico flow-log records with an unknown protocol"
	SkipEndpointType  = "Calico flow-log records with an unknown endpoint type"
	SkipAction        = "Calico flow-log records with an action other than allow/deny"
	SkipEmptyResponse = "Elasticsearch responses without flow-log hits"
)

// Endpoint types of a flow log.
const (
	TypeWorkload    = "wep"
	TypeHost        = "hep"
	TypeNetworkSet  = "ns"
	TypeNetwork     = "net"
	nameAggregated  = "-"
	aggregatedPub   = "pub"
	aggregatedPvt   = "pvt"
	kubernetesSvcNS = "default"
	kubernetesSvc   = "kubernetes"
)

// FlowLog is one flow-log document: the fields flowfence uses (the rest —
// bytes, packets, process, TCP stats — is ignored). Policies is kept raw:
// only a denied record's is read (RawJSON.DeniedBy).
type FlowLog struct {
	StartTime            Epoch    `json:"start_time"`
	EndTime              Epoch    `json:"end_time"`
	SourceIP             *string  `json:"source_ip"`
	SourceName           string   `json:"source_name"`
	SourceNameAggr       string   `json:"source_name_aggr"`
	SourceNamespace      string   `json:"source_namespace"`
	SourcePort           *int64   `json:"source_port"`
	SourceType           string   `json:"source_type"`
	SourceLabels         Labels   `json:"source_labels"`
	DestIP               *string  `json:"dest_ip"`
	DestName             string   `json:"dest_name"`
	DestNameAggr         string   `json:"dest_name_aggr"`
	DestNamespace        string   `json:"dest_namespace"`
	DestPort             *int64   `json:"dest_port"`
	DestType             string   `json:"dest_type"`
	DestLabels           Labels   `json:"dest_labels"`
	DestServiceNamespace string   `json:"dest_service_namespace"`
	DestServiceName      string   `json:"dest_service_name"`
	DestDomains          []string `json:"dest_domains"`
	Proto                Proto    `json:"proto"`
	Action               string   `json:"action"`
	Reporter             string   `json:"reporter"`
	NumFlows             *int64   `json:"num_flows"`
	Host                 string   `json:"host"`
	Policies             RawJSON  `json:"policies"`
}

// Epoch is a flow-log time: Unix seconds as a JSON number or string, or an
// RFC 3339 string (as some exports render Elasticsearch dates).
type Epoch struct{ time.Time }

// UnmarshalJSON accepts seconds (number or string), milliseconds (a number
// above 1e12) and RFC 3339.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		e.Time = time.Time{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			e.Time = t.UTC()
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("time %s: want Unix seconds or an RFC 3339 time", string(b))
	}
	if f > 1e12 {
		f /= 1000
	}
	sec := int64(f)
	e.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	return nil
}

// Labels is a flow log's label field: {"labels":["k=v",…]}, a bare list,
// or null.
type Labels []string

// UnmarshalJSON accepts both shapes.
func (l *Labels) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	var list []string
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*l = list
		return nil
	}
	var obj struct {
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*l = obj.Labels
	return nil
}

// Map returns the labels as a map, without Calico's synthetic
// projectcalico.org/* keys; "k=v" entries without "=" are ignored.
func (l Labels) Map() map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for _, kv := range l {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.HasPrefix(k, "projectcalico.org/") {
			continue
		}
		m[k] = v
	}
	return m
}

// Proto is a flow log's protocol: a name ("tcp", "udp", "icmp", "icmp6",
// "sctp") or an IP protocol number, as a string or a number.
type Proto string

// UnmarshalJSON accepts a string or a number.
func (p *Proto) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = Proto(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*p = ""
		return nil
	}
	if _, err := strconv.ParseUint(string(b), 10, 8); err != nil {
		return fmt.Errorf("proto %s: not a protocol", string(b))
	}
	*p = Proto(b)
	return nil
}

// Protocol maps a Calico protocol name or number.
func Protocol(s string) (record.Protocol, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tcp", "6":
		return record.TCP, true
	case "udp", "17":
		return record.UDP, true
	case "sctp", "132":
		return record.SCTP, true
	case "icmp", "1", "icmpv4":
		return record.ICMPv4, true
	case "icmp6", "icmpv6", "ipv6-icmp", "58":
		return record.ICMPv6, true
	}
	return record.ProtoUnknown, false
}

// Validate checks the fields a record needs.
func (f *FlowLog) Validate() error {
	var errs []error
	switch f.Reporter {
	case "src", "dst":
	default:
		errs = append(errs, fmt.Errorf("reporter %q: want src or dst", f.Reporter))
	}
	if f.Action == "" {
		errs = append(errs, errors.New("action missing"))
	}
	if f.SourceType == "" || f.DestType == "" {
		errs = append(errs, errors.New("source_type or dest_type missing"))
	}
	if f.StartTime.IsZero() && f.EndTime.IsZero() {
		errs = append(errs, errors.New("start_time and end_time missing"))
	}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"dest_port", f.DestPort}, {"source_port", f.SourcePort}} {
		if p.v != nil && (*p.v < 0 || *p.v > 65535) {
			errs = append(errs, fmt.Errorf("%s %d out of range (0-65535)", p.name, *p.v))
		}
	}
	if f.NumFlows != nil && *f.NumFlows < 0 {
		errs = append(errs, fmt.Errorf("num_flows %d is negative", *f.NumFlows))
	}
	return errors.Join(errs...)
}

// Convert turns a validated flow log into rec (which it overwrites). It
// returns ok=false with a skip reason for records that are not flows to
// learn from.
func Convert(f *FlowLog, rec *record.Record) (skip string, ok bool) { return convert(f, rec, nil) }

// convert is Convert; with d (the fast path) its endpoints are d's.
func convert(f *FlowLog, rec *record.Record, d *fastDecoder) (skip string, ok bool) {
	*rec = record.Record{}
	rec.Time = f.StartTime.Time
	if rec.Time.IsZero() {
		rec.Time = f.EndTime.Time
	}
	rec.Node = f.Host
	rec.Direction = record.Request
	proto, known := Protocol(string(f.Proto))
	if !known {
		return SkipProtocol, false
	}
	rec.Proto = proto
	switch strings.ToLower(f.Action) {
	case "allow":
		rec.Verdict = record.Forwarded
	case "deny":
		rec.Verdict, rec.PolicyDrop, rec.DropReason = record.Dropped, true, "POLICY_DENIED"
		rec.DeniedBy = f.Policies.DeniedBy()
	default:
		return SkipAction, false
	}
	if f.Reporter == "src" {
		rec.Reporter = record.ReporterSrc
	} else {
		rec.Reporter = record.ReporterDst
	}
	if f.NumFlows != nil && *f.NumFlows > 0 {
		rec.Count = uint64(*f.NumFlows)
	}
	if d != nil {
		// the fast path: its FlowLog holds views of the line and raw label
		// fields; the decoder converts each distinct endpoint once
		if !d.endpoint(&rec.Src, f.SourceType, f.SourceName, f.SourceNameAggr, f.SourceNamespace, f.SourceIP, d.src.raw, d.src.n, f.Host, d.src.t) ||
			!d.endpoint(&rec.Dst, f.DestType, f.DestName, f.DestNameAggr, f.DestNamespace, f.DestIP, d.dst.raw, d.dst.n, f.Host, d.dst.t) {
			return SkipEndpointType, false
		}
	} else if !endpoint(&rec.Src, f.SourceType, f.SourceName, f.SourceNameAggr, f.SourceNamespace, f.SourceIP, f.SourceLabels, f.Host) ||
		!endpoint(&rec.Dst, f.DestType, f.DestName, f.DestNameAggr, f.DestNamespace, f.DestIP, f.DestLabels, f.Host) {
		return SkipEndpointType, false
	}
	if f.SourcePort != nil {
		rec.Src.Port = uint16(*f.SourcePort)
	}
	if f.DestPort != nil {
		rec.Dst.Port = uint16(*f.DestPort)
	}
	if proto.HasPorts() && rec.Dst.Port == 0 {
		return SkipNoPort, false
	}
	for _, d := range f.DestDomains {
		if d = strings.TrimSuffix(strings.TrimSpace(d), "."); d != "" && d != nameAggregated {
			rec.Dst.Names = append(rec.Dst.Names, d)
		}
	}
	// the API server behind the default/kubernetes Service: Calico sees a
	// plain (private) network address
	if f.DestType != TypeWorkload && f.DestServiceNamespace == kubernetesSvcNS && f.DestServiceName == kubernetesSvc {
		rec.Dst = record.Endpoint{Entity: record.EntityKubeAPIServer, IP: rec.Dst.IP, Port: rec.Dst.Port, Aggregated: !rec.Dst.IP.IsValid()}
	}
	rec.Delivered = rec.Verdict == record.Forwarded && (rec.Reporter == record.ReporterDst || isUnmanaged(f.DestType))
	return "", true
}

// isUnmanaged reports endpoint types Calico never reports as a
// destination: their source's verdict is final.
func isUnmanaged(typ string) bool { return typ == TypeNetwork || typ == TypeNetworkSet }

// endpoint fills ep from one side of a flow log; ok is false for an
// unknown endpoint type. host is the reporting node.
func endpoint(ep *record.Endpoint, typ, name, aggr, ns string, ip *string, labels Labels, host string) bool {
	if ns == nameAggregated {
		ns = ""
	}
	if name == nameAggregated {
		name = ""
	}
	if ip != nil {
		if a, err := netip.ParseAddr(strings.TrimSpace(*ip)); err == nil {
			ep.IP = a.Unmap()
		}
	}
	switch typ {
	case TypeWorkload:
		ep.Namespace = ns
		ep.Pod = name
		if ep.Pod == "" {
			ep.Pod = aggr
		}
		ep.Labels = labels.Map()
		ep.Aggregated = !ep.IP.IsValid() || strings.HasSuffix(ep.Pod, "*")
	case TypeHost:
		n := name
		if n == "" {
			n = aggr
		}
		ep.Entity = record.EntityRemoteNode
		if host != "" && (n == host || strings.HasPrefix(n, host+"-") || strings.HasPrefix(n, host+".")) {
			ep.Entity = record.EntityHost
		}
		// a node without its address is still the node: the learner keeps it
		// as the host / remote-node entity (rules need nodes.cidrs then)
		ep.Aggregated = !ep.IP.IsValid()
	case TypeNetworkSet:
		ep.Entity = record.EntityWorld
		if !ep.IP.IsValid() {
			ep.Aggregated, ep.WorkloadName = true, cmp.Or(aggr, name)
			if ns != "" {
				ep.WorkloadKind, ep.Namespace = "NetworkSet", ns
			} else {
				ep.WorkloadKind = "GlobalNetworkSet"
			}
		}
	case TypeNetwork:
		ep.Entity = record.EntityWorld
		if !ep.IP.IsValid() {
			ep.Aggregated, ep.WorkloadName = true, cmp.Or(aggr, aggregatedPub)
		}
	default:
		return false
	}
	return true
}
