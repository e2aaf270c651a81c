package pipeline_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/record"
)

// fakeSource emits one request from web to db as its name.
type fakeSource struct{ name string }

func (s fakeSource) Name() string { return s.name }

func (s fakeSource) Run(_ context.Context, st *collectors.Stats, emit collectors.Emit) error {
	ep := func(pod, ip string, port uint16) record.Endpoint {
		return record.Endpoint{Namespace: "shop", Pod: pod, IP: netip.MustParseAddr(ip), Port: port,
			Labels: map[string]string{"app": strings.TrimSuffix(pod, "-1")}, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}}
	}
	st.FlowEvents++
	return emit(&record.Record{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Src: ep("web-1", "10.0.0.1", 40000), Dst: ep("db-1", "10.0.0.2", 5432),
		Proto: record.TCP, Direction: record.Request, Verdict: record.Forwarded, Node: "n1", Source: s.name})
}

// TestRegistryExtends: a source registered next to the defaults is read
// for its scheme, its records learned, and its URL named in the graph
// without the user information; an argument of no registered scheme is
// still a path.
func TestRegistryExtends(t *testing.T) {
	opts := pipeline.LearnOptions{Sources: append(pipeline.DefaultSources(), pipeline.Source{
		Name: "test", Schemes: []string{"test://"},
		OpenURL: func(url string, _ *pipeline.LearnOptions) (collectors.Source, error) {
			return fakeSource{url}, nil
		},
	})}
	g, sum, err := pipeline.Learn(context.Background(), []string{"test://user:secret@bus:4222"}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Input.FlowEvents != 1 || len(g.Edges) != 1 {
		t.Fatalf("%d flows, %d edges: want 1, 1", sum.Input.FlowEvents, len(g.Edges))
	}
	for _, e := range g.Edges {
		if want := []string{"test://bus:4222"}; !slices.Equal(e.Sources, want) {
			t.Errorf("edge sources %v, want %v", e.Sources, want)
		}
	}
	if _, _, err := pipeline.Learn(context.Background(), []string{"test://bus"}, pipeline.LearnOptions{}, nil); err == nil {
		t.Error("test:// without its registration: read, want an error (no such file)")
	}
}
