package diffcheck_test

import (
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/output"
	caliout "github.com/flowfence/flowfence/output/calico"
	ciliumout "github.com/flowfence/flowfence/output/cilium"
	"github.com/flowfence/flowfence/synth"
)

// BenchmarkVerifyFlavors100kEdges is BenchmarkVerify100kEdges10kPolicies
// on the same policy set rendered as CiliumNetworkPolicies and as Calico
// NetworkPolicies: the replay through those engines, all cores.
func BenchmarkVerifyFlavors100kEdges(b *testing.B) {
	for _, f := range []output.Formatter{ciliumout.Formatter{}, caliout.Formatter{}} {
		b.Run(f.Name(), func(b *testing.B) {
			g, tree := benchTreeOf(b, benchNamespaces, f)
			dir := filepath.Join(b.TempDir(), "policies")
			if err := output.WriteTree(dir, tree); err != nil {
				b.Fatal(err)
			}
			t, err := diffcheck.ReadTree(dir)
			if err != nil {
				b.Fatal(err)
			}
			opts, _ := diffcheck.NewOptions(synth.Options{})
			c, err := diffcheck.NewChecker(t, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := testsupport.ProcessCPU()
			for b.Loop() {
				if v := c.Verify(g); v.Failed() {
					b.Fatalf("%d denied: %+v", v.Counts.Denied, v.Denied[0])
				}
			}
			reportPerEdge(b, testsupport.ProcessCPU()-cpu)
		})
	}
}
