package learner_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// decoded runs a file source over generated flows ("hubble" or "calico")
// and returns its records, as the collector emits them (with the
// decoders' endpoint IDs).
func decoded(t testing.TB, format string, s benchgen.Spec) []record.Record {
	t.Helper()
	var buf bytes.Buffer
	write := benchgen.WriteHubble
	if format == "calico" {
		write = benchgen.WriteCalico
	}
	if err := write(&buf, s); err != nil {
		t.Fatal(err)
	}
	f, err := input.Open(input.Stdin, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	emit := func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	}
	var st collectors.Stats
	if format == "calico" {
		err = calico.NewFileSource(f, collectors.Options{}).Run(context.Background(), &st, emit)
	} else {
		err = hubble.NewFileSource(f, collectors.Options{}).Run(context.Background(), &st, emit)
	}
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestEndpointIDShortcutsAgree: the learner's shortcuts for endpoints
// with IDs (resolved node IDs, nodes left untouched within their span,
// reporter merge states and sources kept in the edge slots) learn the
// graph the learner learns from the same records without IDs, whatever the order
// of the records, over several hours and sources, with more peers per pod
// than the pod's slots.
func TestEndpointIDShortcutsAgree(t *testing.T) {
	s := benchgen.Spec{Namespaces: 6, Workloads: 60, Replicas: 3, Nodes: 7, Peers: 10, Flows: 12_000, Seed: 5}
	for _, format := range []string{"calico", "hubble"} {
		t.Run(format, func(t *testing.T) {
			recs := decoded(t, format, s)
			rng := rand.New(rand.NewPCG(7, 11))
			rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			withIDs := 0
			for i := range recs {
				r := &recs[i]
				if r.Src.ID != nil {
					withIDs++
				}
				// hours apart (the reporter merge is per hour), from two files
				r.Time = r.Time.Add(time.Duration(rng.IntN(3)) * time.Hour)
				r.Source = []string{"a.log", "b.log"}[rng.IntN(2)]
			}
			if withIDs < len(recs)/2 {
				t.Fatalf("only %d of %d records have endpoint IDs: the test would not test the shortcuts", withIDs, len(recs))
			}
			// other is a second learner on the same IDs, in lockstep: each
			// learner keeps its own entries for them
			with, other, without := learner.New(learner.Options{}), learner.New(learner.Options{}), learner.New(learner.Options{})
			for i := range recs {
				r := recs[i]
				with.Add(&r)
				if i%3 != 0 {
					r := recs[i]
					other.Add(&r)
				}
				r.Src.ID, r.Dst.ID = nil, nil
				without.Add(&r)
			}
			for i := 0; i < len(recs); i += 3 {
				r := recs[i]
				other.Add(&r)
			}
			var a, b, c bytes.Buffer
			for _, w := range []struct {
				l   *learner.Learner
				buf *bytes.Buffer
			}{{with, &a}, {without, &b}, {other, &c}} {
				if err := w.l.Graph().Write(w.buf); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("graphs differ with and without endpoint IDs (%d vs %d bytes)", a.Len(), b.Len())
			}
			// the same records, every third later (a graph does not
			// depend on the order of its records)
			if !bytes.Equal(c.Bytes(), b.Bytes()) {
				t.Fatalf("a learner sharing the endpoint IDs with another learns another graph (%d vs %d bytes)", c.Len(), b.Len())
			}
			g := with.Graph()
			if len(g.Edges) < s.Workloads*2 {
				t.Fatalf("only %d edges learned", len(g.Edges))
			}
			if format == "calico" {
				// the reporter merge, which the edge slots cache: per
				// workload pair, port, verdict and hour, the larger of the
				// two reporters' sums
				if want, got := mergedFlows(recs), podEdgeFlows(g); got != want {
					t.Errorf("pod-to-pod edges count %d flows, the reporters' merge %d", got, want)
				}
			}
		})
	}
}

// mergedFlows is the reporter merge of the pod-to-pod records, computed
// directly (a workload is its app label, benchgen's): per workload pair,
// port and hour, the source's denials plus the larger of what the source
// allowed and what reached the destination (allowed or denied there).
func mergedFlows(recs []record.Record) uint64 {
	type key struct {
		sns, sapp, dns, dapp string
		proto                record.Protocol
		port                 uint16
		hour                 int64
	}
	type sums struct{ srcAllow, srcDeny, dstAllow, dstDeny uint64 }
	m := map[key]*sums{}
	for i := range recs {
		r := &recs[i]
		if !r.Src.IsPod() || !r.Dst.IsPod() || r.Direction != record.Request {
			continue
		}
		k := key{r.Src.Namespace, r.Src.Labels["app"], r.Dst.Namespace, r.Dst.Labels["app"], r.Proto, r.Dst.Port,
			r.Time.UTC().Truncate(time.Hour).Unix()}
		if m[k] == nil {
			m[k] = &sums{}
		}
		c, drop := m[k], r.Verdict == record.Dropped
		switch {
		case r.Reporter == record.ReporterSrc && drop:
			c.srcDeny += r.Flows()
		case r.Reporter == record.ReporterSrc:
			c.srcAllow += r.Flows()
		case drop:
			c.dstDeny += r.Flows()
		default:
			c.dstAllow += r.Flows()
		}
	}
	var n uint64
	for _, c := range m {
		n += c.srcDeny + max(c.srcAllow, c.dstAllow+c.dstDeny)
	}
	return n
}

// podEdgeFlows sums the flows and drops of the graph's pod-to-pod edges,
// learned and denied.
func podEdgeFlows(g *learner.Graph) uint64 {
	var n uint64
	for _, edges := range []map[learner.EdgeKey]*learner.Edge{g.Edges, g.Denied} {
		for _, e := range edges {
			if strings.HasPrefix(e.Src, "pod:") && strings.HasPrefix(e.Dst, "pod:") {
				n += e.Flows + e.Dropped
			}
		}
	}
	return n
}
