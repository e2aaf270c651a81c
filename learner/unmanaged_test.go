package learner_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// TestUnmanagedPodIsAWorkload: a pod the CNI does not manage (Hubble:
// identity 3, reserved:unmanaged, namespace and pod name present) is
// learned as its workload, marked unmanaged; the mark survives a merge
// with a graph that saw the workload managed, and the graph's JSON.
func TestUnmanagedPodIsAWorkload(t *testing.T) {
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	web := record.Endpoint{Namespace: "shop", Pod: "web-5b8c7d9f4-x2x7q", Labels: map[string]string{"app": "web"}, IP: netip.MustParseAddr("10.244.0.21")}
	dns := record.Endpoint{Namespace: "kube-system", Pod: "coredns-5d78c9869d-q2w8x", Entity: record.EntityUnmanaged, IP: netip.MustParseAddr("10.244.0.3"), Port: 53}
	l := learner.New(learner.Options{})
	l.Add(&record.Record{Time: at, Src: web, Dst: dns, Proto: record.UDP, Verdict: record.Forwarded, Direction: record.Request})
	g := l.Graph()
	n := g.Nodes["pod:kube-system/coredns"]
	if n == nil || n.Kind != learner.NodeWorkload || !n.Unmanaged || len(n.Labels) != 0 {
		t.Fatalf("kube-system/coredns: %+v; want an unmanaged workload without labels (nodes %v)", n, g.Nodes)
	}
	managed := learner.New(learner.Options{})
	dns2 := record.Endpoint{Namespace: "kube-system", Pod: "coredns-5d78c9869d-z9k2m", Labels: map[string]string{"k8s-app": "kube-dns"}, IP: netip.MustParseAddr("10.244.0.4"), Port: 53}
	managed.Add(&record.Record{Time: at, Src: web, Dst: dns2, Proto: record.UDP, Verdict: record.Forwarded, Direction: record.Request})
	m := managed.Graph()
	m.Merge(g)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := learner.ReadGraph("merged", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n := back.Nodes["pod:kube-system/coredns"]; n == nil || !n.Unmanaged || n.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("merged, written and read: %+v; want unmanaged with the managed pod's labels", n)
	}
}
