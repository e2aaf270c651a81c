package hubble_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
)

// mask keeps the top-level fields of f that fields names, as Hubble's
// server applies a field mask of top-level paths.
func mask(f *flowpb.Flow, fields []string) *flowpb.Flow {
	src := f.ProtoReflect()
	out := &flowpb.Flow{}
	dst := out.ProtoReflect()
	for _, name := range fields {
		fd := src.Descriptor().Fields().ByName(protoreflect.Name(name))
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		}
	}
	return out
}

// conversion is what ConvertFlow makes of a flow.
type conversion struct {
	skip string
	ok   bool
	rec  record.Record
}

func convert(f *flowpb.Flow) conversion {
	var c conversion
	c.skip, c.ok = hubble.ConvertFlow(f, &c.rec)
	return c
}

// TestConvertedFields: a flow masked to hubble.ConvertedFields converts as
// the whole flow does — every recorded flow, and random flows with every
// field of the schema set — and leaving out any one of the fields changes
// the conversion of some of them.
func TestConvertedFields(t *testing.T) {
	fields := hubble.ConvertedFields()
	if !(&fieldmaskpb.FieldMask{Paths: fields}).IsValid(&flowpb.Flow{}) {
		t.Fatalf("%v is not a valid field mask of flow.Flow", fields)
	}
	for _, p := range fields {
		if fd := (&flowpb.Flow{}).ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(p)); fd == nil {
			t.Fatalf("%q is not a top-level field of flow.Flow", p)
		}
	}

	var flows []*flowpb.Flow
	files, _ := captureFiles(t)
	files = append(files, repoFlows("node-c-legacy.json"), "testdata/identities.jsonl")
	for _, path := range files {
		for _, l := range readRaw(t, path) {
			if resp, err := relay.DecodeJSON(l.text); err == nil && resp.GetFlow() != nil {
				flows = append(flows, resp.GetFlow())
			}
		}
	}
	recorded := len(flows)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30000 {
		f := &flowpb.Flow{}
		fill(rng, f.ProtoReflect(), 0)
		flows = append(flows, f)
	}

	learned := 0
	for i, f := range flows {
		want, got := convert(f), convert(mask(f, fields))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("flow %d (%s) converts differently once masked:\n got  %+v\n want %+v", i, origin(i, recorded), got, want)
		}
		if want.ok {
			learned++
		}
	}
	if learned < len(flows)/10 {
		t.Fatalf("only %d of %d flows convert to a record: the random flows say little", learned, len(flows))
	}

	for _, left := range fields {
		fewer := slices.DeleteFunc(slices.Clone(fields), func(s string) bool { return s == left })
		if !slices.ContainsFunc(flows, func(f *flowpb.Flow) bool {
			return !reflect.DeepEqual(convert(mask(f, fewer)), convert(f))
		}) {
			t.Errorf("leaving %q out of the mask changes no conversion: the test cannot tell it is needed", left)
		}
	}
	t.Logf("%d recorded and %d random flows (%d learned) convert the same masked", recorded, len(flows)-recorded, learned)
}

func origin(i, recorded int) string {
	if i < recorded {
		return "recorded"
	}
	return "random"
}

// Values the random flows draw from: what the conversion tells apart
// (reserved identities and labels, IPs, policy drop reasons, event types,
// TCP flags), beside anything else.
var (
	someStrings = []string{
		"", "10.0.0.1", "10.0.0.2", "fd00::1", "1.1.1.1", "not-an-ip", "169.254.169.254",
		"k8s:app=web", "k8s:app=db", "reserved:host", "reserved:kube-apiserver", "reserved:world",
		"reserved:remote-node", "k8s:io.kubernetes.pod.namespace=shop",
		"k8s:io.cilium.k8s.namespace.labels.team=a", "k8s:io.cilium.k8s.policy.cluster=c1",
		"shop", "web-1", "default", "Deployment", "db", "node-1", "c1/node-2", "example.com.", "api.example.com",
		"086f9e76-8a25-49a0-8b56-19b25f478acb",
	}
	someNumbers = []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 53, 80, 129, 133, 181, 443, 8080, 10001, 16777217, 70000}
)

// fill sets every field of m (a oneof's members in turn, so the last one
// set stays) with values drawn from rng; messages nest to a bounded depth.
func fill(rng *rand.Rand, m protoreflect.Message, depth int) {
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if rng.IntN(4) == 0 {
			continue // absent
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range rng.IntN(3) {
				mp.Set(scalar(rng, fd.MapKey()).MapKey(), value(rng, fd.MapValue(), mp.NewValue, depth))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range rng.IntN(3) {
				l.Append(value(rng, fd, l.NewElement, depth))
			}
		default:
			if fd.Message() != nil && depth >= 4 {
				continue
			}
			m.Set(fd, value(rng, fd, func() protoreflect.Value { return m.NewField(fd) }, depth))
		}
	}
}

func value(rng *rand.Rand, fd protoreflect.FieldDescriptor, newMessage func() protoreflect.Value, depth int) protoreflect.Value {
	if fd.Message() == nil {
		return scalar(rng, fd)
	}
	v := newMessage()
	if depth < 4 {
		fill(rng, v.Message(), depth+1)
	}
	return v
}

func scalar(rng *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	n := someNumbers[rng.IntN(len(someNumbers))]
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(rng.IntN(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(rng.IntN(vals.Len())).Number())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(someStrings[rng.IntN(len(someStrings))])
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(someStrings[rng.IntN(len(someStrings))]))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(n)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(n))
	}
	panic(fmt.Sprintf("no random value for %v", fd.Kind()))
}

// TestFillSetsEveryField: the random flows set every field of the schema
// somewhere (a field the conversion starts to read is exercised).
func TestFillSetsEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[protoreflect.FullName]bool{}
	for range 2000 {
		f := &flowpb.Flow{}
		fill(rng, f.ProtoReflect(), 0)
		f.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			seen[fd.FullName()] = true
			return true
		})
	}
	fds := (&flowpb.Flow{}).ProtoReflect().Descriptor().Fields()
	for i := range fds.Len() {
		if fd := fds.Get(i); !seen[fd.FullName()] {
			t.Errorf("no random flow sets %s", fd.Name())
		}
	}
}
