package learner

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/flowfence/flowfence/record"
)

// t0 is the start of every test window.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// at returns t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// podEP is a pod endpoint.
func podEP(ns, pod, ip string, port uint16, labels map[string]string) record.Endpoint {
	return record.Endpoint{Namespace: ns, Pod: pod, IP: netip.MustParseAddr(ip), Port: port, Labels: labels,
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
}

// worldEP is an external peer.
func worldEP(ip string, port uint16) record.Endpoint {
	return record.Endpoint{Entity: record.EntityWorld, IP: netip.MustParseAddr(ip), Port: port}
}

// flow is a record from src to dst with the given direction and verdict.
func flow(t time.Time, src, dst record.Endpoint, proto record.Protocol, dir record.Direction, v record.Verdict, node string) *record.Record {
	return &record.Record{Time: t, Src: src, Dst: dst, Proto: proto, Direction: dir, Verdict: v, Node: node}
}

// reply returns the reply to request r (endpoints swapped).
func reply(r *record.Record, t time.Time) *record.Record {
	return &record.Record{Time: t, Src: r.Dst, Dst: r.Src, Proto: r.Proto, Direction: record.Reply, Verdict: record.Forwarded, Node: r.Node}
}

// policyDrop returns r as dropped by policy on node.
func policyDrop(r *record.Record, t time.Time, node string) *record.Record {
	c := *r
	c.Time, c.Verdict, c.PolicyDrop, c.DropReason, c.Node = t, record.Dropped, true, "POLICY_DENIED", node
	return &c
}

// learn feeds records to a fresh learner and returns its graph.
func learn(opts Options, recs ...*record.Record) *Graph {
	l := New(opts)
	for _, r := range recs {
		l.Add(r)
	}
	return l.Graph()
}

// graphJSON serialises g, failing the test on error.
func writeJSON(t *testing.T, g *Graph) string {
	t.Helper()
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// edgeKey builds an edge key.
func edgeKey(src, dst string, p record.Protocol, port uint16) EdgeKey {
	return EdgeKey{Src: src, Dst: dst, Proto: p, Port: port}
}
