package hubble_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
)

// addLines adds the non-blank lines of a plain-text file to the corpus:
// all of them, or every step-th when step > 1 (plus the first and last).
func addLines(f *testing.F, path string, step int) {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	lines := collectorstest.Lines(f, data)
	for i, l := range lines {
		if step <= 1 || i%step == 0 || i == len(lines)-1 {
			f.Add(l)
		}
	}
}

// wantL4 is the record's L4 as the flow message says it, read
// independently of the conversion: protocol, ports (TCP, UDP, SCTP) and
// ICMP type.
func wantL4(f *flowpb.Flow) (proto record.Protocol, sport, dport, icmpType uint32) {
	switch l4 := f.GetL4().GetProtocol().(type) {
	case *flowpb.Layer4_TCP:
		return record.TCP, l4.TCP.GetSourcePort(), l4.TCP.GetDestinationPort(), 0
	case *flowpb.Layer4_UDP:
		return record.UDP, l4.UDP.GetSourcePort(), l4.UDP.GetDestinationPort(), 0
	case *flowpb.Layer4_SCTP:
		return record.SCTP, l4.SCTP.GetSourcePort(), l4.SCTP.GetDestinationPort(), 0
	case *flowpb.Layer4_ICMPv4:
		return record.ICMPv4, 0, 0, l4.ICMPv4.GetType()
	case *flowpb.Layer4_ICMPv6:
		return record.ICMPv6, 0, 0, l4.ICMPv6.GetType()
	}
	return record.ProtoUnknown, 0, 0, 0
}

// addCaptureLines adds every line of the files of ../shared/captures/hubble
// to the corpus, when the captures are there.
func addCaptureLines(f *testing.F) {
	dir, ok := testsupport.FindCaptures("hubble")
	if !ok {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		addLines(f, filepath.Join(dir, e.Name()), 1)
	}
}

// FuzzDecodeLine: DecodeLine never panics, never returns ok together with
// an error, and whatever it accepts is a sane record that agrees with an
// independent protojson decode on L4 (no silent wrap of a port > 65535).
func FuzzDecodeLine(f *testing.F) {
	addCaptureLines(f)
	// always present: the repository's scenario files and the bad corpus
	addLines(f, repoFlows("node-a.jsonl"), 40) // its last line is truncated
	addLines(f, repoFlows("node-c-legacy.json"), 40)
	for _, name := range []string{"truncated-middle.jsonl", "truncated-tail.jsonl", "wrong-types.jsonl",
		"port-out-of-range.jsonl", "json-array.json", "crlf.jsonl", "bom.jsonl", "legacy-flow-string.json", "nonflow-events.jsonl"} {
		addLines(f, filepath.Join("testdata", "bad", name), 1)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"flow":null}`, `{"flow":{}}`, `{"flow":{"verdict":"DROPPED","drop_reason":133}}`,
		`{"\u0066low":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"}}}`,
		`{"verdict":"FORWARDED","l4":{"UDP":{"source_port":4294967295,"destination_port":53}},"source":{}}`,
		`{"verdict":"FORWARDED","l4":{"ICMPv6":{"type":128}},"is_reply":null,"reply":true,"source":{"labels":["reserved:world","reserved:kube-apiserver"]}}`,
		`{"lost_events":{"num_events_lost":"18446744073709551615"}}`,
		`{"time":"2026-01-01T00:00:00Z","verdict":"FORWARDED","source":{"namespace":"a","pod_name":"p","labels":["k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=b","reserved:host"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var rec record.Record
		skip, lost, ok, _, err := hubble.DecodeLine(line, &rec)
		if err != nil {
			if ok || skip != "" || lost != 0 {
				t.Fatalf("error %v together with ok=%v skip=%q lost=%d", err, ok, skip, lost)
			}
			return
		}
		if !ok {
			if skip == "" {
				t.Fatal("neither a record, a skip reason nor an error")
			}
			return
		}
		if skip != "" || lost != 0 {
			t.Fatalf("a record together with skip=%q lost=%d", skip, lost)
		}
		checkRecord(t, &rec)

		// decoding is deterministic and overwrites whatever rec held
		dirty := record.Record{Proto: record.SCTP, Verdict: record.Translated, PolicyDrop: true, DNSQuery: "stale", Count: 9}
		dirty.Src.Labels = map[string]string{"stale": "x"}
		if _, _, ok2, _, err2 := hubble.DecodeLine(line, &dirty); !ok2 || err2 != nil || !reflect.DeepEqual(dirty, rec) {
			t.Fatalf("second decode into a used record differs:\n%+v\n%+v", dirty, rec)
		}

		// independent decode of the flow's L4
		var top map[string]json.RawMessage
		if json.Unmarshal(line, &top) != nil {
			return
		}
		raw := json.RawMessage(line)
		if fl, wrapped := top["flow"]; wrapped {
			raw = fl
		}
		var fpb flowpb.Flow
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &fpb) != nil {
			return
		}
		want, sport, dport, icmp := wantL4(&fpb)
		if rec.Proto != want || uint32(rec.Src.Port) != sport || uint32(rec.Dst.Port) != dport || uint32(rec.ICMPType) != icmp {
			t.Fatalf("record L4 %v %d→%d type %d; protojson says %v %d→%d type %d",
				rec.Proto, rec.Src.Port, rec.Dst.Port, rec.ICMPType, want, sport, dport, icmp)
		}
		if q := strings.TrimSuffix(fpb.GetL7().GetDns().GetQuery(), "."); rec.DNSQuery != q {
			t.Fatalf("DNS query %q, protojson says %q", rec.DNSQuery, q)
		}
		if ip, err := netip.ParseAddr(fpb.GetIP().GetSource()); err == nil && rec.Src.IP != ip {
			t.Fatalf("source IP %v, protojson says %v", rec.Src.IP, ip)
		}
	})
}

// checkRecord asserts what holds for every record DecodeLine accepts.
func checkRecord(t *testing.T, r *record.Record) {
	t.Helper()
	if r.Proto > record.ICMPv6 {
		t.Fatalf("protocol %d outside the enum", r.Proto)
	}
	if r.Direction > record.Reply {
		t.Fatalf("direction %d outside the enum", r.Direction)
	}
	if !r.Verdict.Flowed() && r.Verdict != record.Dropped {
		t.Fatalf("verdict %v is never learned (TRANSLATED, ERROR, UNKNOWN must be skipped)", r.Verdict)
	}
	if r.Verdict != record.Dropped && (r.DropReason != "" || r.PolicyDrop) {
		t.Fatalf("%v flow with drop reason %q policy drop %v", r.Verdict, r.DropReason, r.PolicyDrop)
	}
	if r.PolicyDrop && r.DropReason != "POLICY_DENIED" && r.DropReason != "POLICY_DENY" {
		t.Fatalf("policy drop with reason %q", r.DropReason)
	}
	if r.Proto.HasPorts() && r.ICMPType != 0 {
		t.Fatalf("%v record with ICMP type %d", r.Proto, r.ICMPType)
	}
	if !r.Proto.HasPorts() && (r.Src.Port != 0 || r.Dst.Port != 0) {
		t.Fatalf("%v record with ports %d→%d", r.Proto, r.Src.Port, r.Dst.Port)
	}
	for _, ep := range []*record.Endpoint{&r.Src, &r.Dst} {
		switch ep.Entity {
		case record.EntityNone, record.EntityWorld, record.EntityHost, record.EntityRemoteNode, record.EntityKubeAPIServer,
			record.EntityHealth, record.EntityInit, record.EntityUnmanaged, record.EntityIngress, record.EntityUnknown:
		default:
			t.Fatalf("entity %q is not a known entity", ep.Entity)
		}
		if ep.Entity == record.EntityNone && ep.Namespace == "" {
			t.Fatalf("endpoint neither a pod nor an entity: %+v", ep)
		}
		for k := range ep.Labels {
			if strings.HasPrefix(k, "io.cilium.") || k == "io.kubernetes.pod.namespace" {
				t.Fatalf("synthetic label key %q kept", k)
			}
		}
		if ep.IsPod() && ep.NamespaceLabels["kubernetes.io/metadata.name"] != ep.Namespace {
			t.Fatalf("pod in namespace %q has kubernetes.io/metadata.name=%q", ep.Namespace, ep.NamespaceLabels["kubernetes.io/metadata.name"])
		}
	}
}
