package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// BenchmarkLearnSample measures decode + learn of the shipped sample
// (three files, three Hubble shapes, one gzip) in flow events per second.
func BenchmarkLearnSample(b *testing.B) {
	files, _ := filepath.Glob(sampleGlob)
	var events uint64
	b.ResetTimer()
	for b.Loop() {
		_, sum, err := pipeline.Learn(context.Background(), files, pipeline.LearnOptions{Collect: collectors.Options{}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		events += sum.Input.FlowEvents
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkRenderSample measures synth + k8s rendering + the verifier
// self-check + reports for the sample graph.
func BenchmarkRenderSample(b *testing.B) {
	files, _ := filepath.Glob(sampleGlob)
	g, _, err := pipeline.Learn(context.Background(), files, pipeline.LearnOptions{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := pipeline.Render(g, synth.Options{}, "k8s"); err != nil {
			b.Fatal(err)
		}
	}
}
