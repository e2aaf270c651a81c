package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// scaleFlows is how many generated flows the scale benchmarks learn per
// iteration (~190 MB of Hubble JSON, held in memory).
const scaleFlows = 100_000

// scaleData holds the generated input of the scale benchmarks, built once
// per test binary run (benchmarks only).
type scaleData struct {
	once   sync.Once
	hubble []byte
	err    error
}

func (d *scaleData) get(b *testing.B) []byte {
	d.once.Do(func() {
		var buf bytes.Buffer
		s := benchgen.Default()
		s.Flows = scaleFlows
		d.err = benchgen.WriteHubble(&buf, s)
		d.hubble = buf.Bytes()
	})
	if d.err != nil {
		b.Fatal(d.err)
	}
	return d.hubble
}

// BenchmarkLearnScale measures decode + learn of generated cluster-scale
// Hubble JSON (2,000 workloads, 10,000 pods, ~18,000 edges) read from
// memory as stdin, on all cores: flows/s and MB/s.
func BenchmarkLearnScale(b *testing.B) {
	data := scaleBench.get(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var flows uint64
	for b.Loop() {
		opts := pipeline.LearnOptions{Collect: collectors.Options{Stdin: bytes.NewReader(data)}}
		_, sum, err := pipeline.Learn(context.Background(), []string{"-"}, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		flows += sum.Input.FlowEvents
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

var scaleBench = &scaleData{}

// BenchmarkLearnScaleFile is BenchmarkLearnScale from a file (page cache),
// as `flowfence learn --from FILE` reads it.
func BenchmarkLearnScaleFile(b *testing.B) {
	data := scaleBench.get(b)
	path := filepath.Join(b.TempDir(), "flows.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var flows uint64
	for b.Loop() {
		_, sum, err := pipeline.Learn(context.Background(), []string{path}, pipeline.LearnOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		flows += sum.Input.FlowEvents
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkRenderScale measures Render (synth + k8s YAML + verifier
// self-check + reports) of a graph of 10,000 workloads and ~100,000 edges
// learned from generated flows.
func BenchmarkRenderScale(b *testing.B) {
	s := benchgen.Spec{Namespaces: 500, Workloads: 10_000, Replicas: 2, Nodes: 200, Peers: 9, Seed: 1}
	c, err := benchgen.NewCluster(s)
	if err != nil {
		b.Fatal(err)
	}
	// every edge once, as requests (5 lines a TCP connection, 4 a DNS one)
	var buf bytes.Buffer
	if err := c.WriteHubble(&buf, int64(c.NumEdges())*5); err != nil {
		b.Fatal(err)
	}
	opts := pipeline.LearnOptions{Collect: collectors.Options{Stdin: &buf}}
	g, _, err := pipeline.Learn(context.Background(), []string{"-"}, opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, _, err := pipeline.Render(g, synth.Options{}, "k8s"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e9/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(g.Nodes)), "nodes")
	b.ReportMetric(float64(len(g.Edges)), "edges")
}

// cpuTime is the process's CPU time (user + system): the machine may be
// shared, so the scale benchmarks report it besides wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
