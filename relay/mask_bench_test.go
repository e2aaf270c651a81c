package relay

import (
	"bufio"
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/benchgen"
)

// BenchmarkMask: masking a benchgen flow to the fields learn asks for, as
// the relay does once per recorded flow (ns and bytes per flow).
func BenchmarkMask(b *testing.B) {
	spec := benchgen.Default()
	spec.Flows = 2000
	var out bytes.Buffer
	if err := benchgen.WriteHubble(&out, spec); err != nil {
		b.Fatal(err)
	}
	var events [][]byte
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		resp, err := DecodeJSON(sc.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		f, err := proto.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, f)
	}
	m, err := newFieldMask(&fieldmaskpb.FieldMask{Paths: hubble.ConvertedFields()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := events[i%len(events)]
		if _, err := m.response(make([]byte, 0, len(e)), e); err != nil {
			b.Fatal(err)
		}
	}
}
