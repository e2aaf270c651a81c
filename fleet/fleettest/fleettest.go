// Package fleettest holds what the tests of package fleet and of the NATS
// module (tests/nats) share: the synthetic connection their benchmarks
// learn, and a graph's text without its cursors, to compare the graph a
// fleet aggregated with the one learned directly. Only tests import it.
package fleettest

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// BenchFlow is the request of connection i of a cluster at time t: 100
// workloads in 10 namespaces, each calling 10 others on edges/1000 ports.
func BenchFlow(cluster string, i int, t time.Time) *record.Record {
	src, dst := i%100, (i/100+i%100+1)%100
	ep := func(w int, port uint16) record.Endpoint {
		return record.Endpoint{Cluster: cluster, Namespace: fmt.Sprintf("ns%d", w%10), Pod: fmt.Sprintf("w%d-7d4b9c6f5d-x%dz", w, w%7),
			Labels: map[string]string{"app": fmt.Sprintf("w%d", w)}, IP: netip.AddrFrom4([4]byte{10, 0, byte(w), 1}), Port: port}
	}
	return &record.Record{Time: t, Src: ep(src, 40000), Dst: ep(dst, uint16(1000+i/1000)), Proto: record.TCP,
		Direction: record.Request, Verdict: record.Forwarded, Node: "node-1"}
}

// Text is g written without its cursors: the graph a fleet aggregated
// and the one learned directly from the same flows have the same text.
func Text(t testing.TB, g *learner.Graph) string {
	t.Helper()
	c := learner.NewGraph()
	c.Merge(g)
	c.Cursors = nil
	var b bytes.Buffer
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
