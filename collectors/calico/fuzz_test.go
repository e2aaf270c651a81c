package calico_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/record"
)

// FuzzDecodeDocument: no input makes decoding or converting panic, and a
// converted record never carries a TCP/UDP/SCTP rule without a port.
func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(flowLog()))
	f.Add([]byte(prefixAggregated("action", `"deny"`)))
	f.Add([]byte(`{"hits":{"hits":[{"_source":` + flowLog("proto", "17") + `}]}}`))
	f.Add([]byte(`[` + flowLog("dest_labels", `["a=b"]`) + `]`))
	if dirs, err := filepath.Glob("../../../shared/captures/calico-flowlogs/*"); err == nil {
		for _, d := range dirs {
			if b, err := os.ReadFile(d); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		logs, _, err := calico.DecodeDocument(b)
		if err != nil {
			return
		}
		for i := range logs {
			var rec record.Record
			if _, ok := calico.Convert(&logs[i], &rec); ok && rec.Proto.HasPorts() && rec.Dst.Port == 0 {
				t.Fatalf("converted %s with port 0 (would admit every port)", b)
			}
		}
	})
}
