package learner_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// TestAggregatedNames: Calico's generateName prefixes map to the workload
// names Hubble pod names map to.
func TestAggregatedNames(t *testing.T) {
	for _, tc := range []struct {
		pod, hubblePod string
		labels         map[string]string
		want           string
	}{
		{"frontend-6b7d9c4f5-*", "frontend-6b7d9c4f5-x2x7q", map[string]string{"pod-template-hash": "6b7d9c4f5"}, "frontend"},
		{"frontend-6b7d9c4f5-*", "frontend-6b7d9c4f5-x2x7q", nil, "frontend"},
		{"report-29913180-*", "report-29913180-k8v2n", nil, "report"},
		{"node-exporter-*", "node-exporter-x2x7q", map[string]string{"pod-template-generation": "3"}, "node-exporter"},
		{"longhorn-manager-*", "", map[string]string{"pod-template-generation": "2"}, "longhorn-manager"},
		{"redis-0", "redis-0", nil, "redis"},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			ids := map[string]bool{}
			for _, pod := range []string{tc.pod, tc.hubblePod} {
				if pod == "" {
					continue
				}
				l := learner.New(learner.Options{})
				l.Add(&record.Record{Src: record.Endpoint{Namespace: "ns", Pod: pod, Labels: tc.labels, Aggregated: pod == tc.pod},
					Dst: record.Endpoint{Namespace: "ns", Pod: "db-0"}, Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
				l.Add(&record.Record{Src: record.Endpoint{Namespace: "ns", Pod: pod, Labels: tc.labels}, Dst: record.Endpoint{Namespace: "ns", Pod: "db-0", Port: 5432},
					Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request})
				for id, n := range l.Graph().Nodes {
					if n.Name != "db" {
						ids[id] = true
					}
				}
			}
			if len(ids) != 1 || !ids["pod:ns/"+tc.want] {
				t.Errorf("nodes %v, want only pod:ns/%s", ids, tc.want)
			}
		})
	}
}

// TestUnaddressedGraph: traffic with unaddressed peers survives Write/Read
// and merges by summing, like edges.
func TestUnaddressedGraph(t *testing.T) {
	at := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	mk := func(n uint64) *learner.Graph {
		l := learner.New(learner.Options{})
		l.Add(&record.Record{Time: at, Src: record.Endpoint{Namespace: "shop", Pod: "api-0", Labels: map[string]string{"app": "api"}},
			Dst:   record.Endpoint{Entity: record.EntityWorld, Aggregated: true, WorkloadName: "pub", Port: 443, Names: []string{"api.stripe.com"}},
			Proto: record.TCP, Verdict: record.Forwarded, Direction: record.Request, Reporter: record.ReporterSrc, Count: n})
		return l.Graph()
	}
	g := mk(3)
	g.Merge(mk(2))
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := learner.ReadGraph("g.json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	us := learner.SortedUnaddressed(back.Unaddressed)
	if len(us) != 1 || us[0].Flows != 5 || us[0].Peer != "pub" || us[0].Workload != "pod:shop/api" || us[0].Names[0] != "api.stripe.com" || len(back.Edges) != 0 {
		t.Errorf("unaddressed %+v edges %v: want shop/api -> pub:443, 5 flows, no edge", us, back.Edges)
	}
}
