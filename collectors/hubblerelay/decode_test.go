package hubblerelay

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/proto"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/record/recordtest"
	"github.com/flowfence/flowfence/relay"
)

// flowFiles are the sample files plus, when present above the repository,
// the real captures in shared/captures/hubble.
func flowFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "flows", "*.json*"))
	// identities as real clusters report them (unmanaged pods, the node
	// that also runs the API server)
	files = append(files, filepath.Join("..", "hubble", "testdata", "identities.jsonl"))
	if dir, ok := testsupport.FindCaptures("hubble"); ok {
		caps, _ := filepath.Glob(filepath.Join(dir, "*"))
		files = append(files, caps...)
	}
	if len(files) < 3 {
		t.Fatalf("sample flows not found: %v", files)
	}
	return files
}

// responses reads every GetFlows event of a file.
func responses(t testing.TB, path string) []*observerpb.GetFlowsResponse {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var r io.Reader = bufio.NewReader(fh)
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	var out []*observerpb.GetFlowsResponse
	for sc.Scan() {
		if resp, err := relay.DecodeJSON(sc.Bytes()); err == nil && resp != nil {
			out = append(out, resp)
		}
	}
	return out
}

// TestWireDecodeAgrees: the receive path's own decoder gives, for every
// recorded event, the record (or skip reason, lost count) that
// proto.Unmarshal + hubble.ConvertResponse give.
func TestWireDecodeAgrees(t *testing.T) {
	d := newDecoder()
	n := 0
	var ids recordtest.IDLedger
	for _, path := range flowFiles(t) {
		for i, resp := range responses(t, path) {
			b, err := proto.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			var want, got record.Record
			wskip, wlost, wok := hubble.ConvertResponse(resp, &want)
			// twice: the second time from the decoder's caches
			for pass := range 2 {
				gskip, glost, gok, err := d.convert(b, &got)
				if err != nil {
					t.Fatalf("%s event %d: %v", path, i, err)
				}
				if err := ids.Check(&got); err != nil {
					t.Fatalf("%s event %d: %v", path, i, err)
				}
				if gskip != wskip || glost != wlost || gok != wok || (wok && !reflect.DeepEqual(got, want)) {
					t.Fatalf("%s event %d (pass %d):\n got  %q %d %v %+v\n want %q %d %v %+v", path, i, pass, gskip, glost, gok, got, wskip, wlost, wok, want)
				}
			}
			n++
		}
	}
	if ids.Len() == 0 {
		t.Error("the decoder set no endpoint ID")
	}
	t.Logf("%d events agree", n)
}

// TestWireDecodeMalformed: bytes that are not a GetFlowsResponse fail as
// proto.Unmarshal fails, never panic.
func TestWireDecodeMalformed(t *testing.T) {
	d := newDecoder()
	for _, b := range [][]byte{{0x0a, 0x05, 0x01}, {0xff}, {0x0a, 0x02, 0x42, 0x10}, {0x0a, 0x04, 0x0a, 0x02, 0x08}} {
		var rec record.Record
		_, _, ok, err := d.convert(b, &rec)
		if ok || err == nil {
			t.Errorf("%x: ok %v err %v; want an error", b, ok, err)
		}
	}
}

func FuzzWireDecode(f *testing.F) {
	for _, resp := range responses(f, filepath.Join("..", "..", "testdata", "flows", "node-a.jsonl"))[:50] {
		b, _ := proto.Marshal(resp)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newDecoder()
		var got, want record.Record
		_, _, gok, gerr := d.convert(b, &got)
		var ids recordtest.IDLedger
		if err := ids.Check(&got); err != nil {
			t.Fatal(err)
		}
		var resp observerpb.GetFlowsResponse
		if err := proto.Unmarshal(b, &resp); err != nil {
			return // malformed: the fast path may fail or not, but never panics
		}
		_, _, wok := hubble.ConvertResponse(&resp, &want)
		if gerr != nil || gok != wok || (wok && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%x: got ok=%v err=%v %+v\nwant ok=%v %+v", b, gok, gerr, got, wok, want)
		}
	})
}

// BenchmarkDecode compares, per flow, this path's decoder with
// proto.Unmarshal + hubble.ConvertResponse on the sample's events.
func BenchmarkDecode(b *testing.B) {
	var msgs [][]byte
	for _, path := range []string{"node-a.jsonl", "node-b.json.gz", "node-c-legacy.json"} {
		for _, resp := range responses(b, filepath.Join("..", "..", "testdata", "flows", path)) {
			m, err := proto.Marshal(resp)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, m)
		}
	}
	b.Run("wire", func(b *testing.B) {
		d := newDecoder()
		var rec record.Record
		n := 0
		for b.Loop() {
			if _, _, _, err := d.convert(msgs[n%len(msgs)], &rec); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("proto.Unmarshal+ConvertResponse", func(b *testing.B) {
		var rec record.Record
		n := 0
		for b.Loop() {
			var resp observerpb.GetFlowsResponse
			if err := proto.Unmarshal(msgs[n%len(msgs)], &resp); err != nil {
				b.Fatal(err)
			}
			hubble.ConvertResponse(&resp, &rec)
			n++
		}
	})
}

// TestWireDecodeDeniedBy: a flow that names the policy that denied it is
// left to the general path, which reads the name.
func TestWireDecodeDeniedBy(t *testing.T) {
	b := wireEvent(t, `{"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"DROPPED",`+
		`"IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},`+
		`"source":{"namespace":"default","pod_name":"xwing"},"destination":{"namespace":"default","pod_name":"deathstar-7848d6c4d5-th9v2"},`+
		`"node_name":"kind-worker","drop_reason_desc":"POLICY_DENIED","ingress_denied_by":[{"name":"deny-xwing","namespace":"default"}]},`+
		`"node_name":"kind-worker","time":"2023-08-21T12:12:18.510175415Z"}`)
	var got record.Record
	if _, _, ok, err := newDecoder().convert(b, &got); !ok || err != nil {
		t.Fatalf("convert: ok %v, err %v", ok, err)
	}
	if got.DeniedBy != "default/deny-xwing" {
		t.Errorf("denied by %q, want default/deny-xwing", got.DeniedBy)
	}
}

// TestLabelSetsNeverShareAMap: the decoder shares one map between endpoints
// whose label sets are equal; two sets that differ must never be taken for
// one, whichever comes first — not even when a hostile value holds the
// separators a naive key would use (a NUL, '=').
func TestLabelSetsNeverShareAMap(t *testing.T) {
	event := func(pod string, labels ...string) []byte {
		t.Helper()
		quoted := make([]string, len(labels))
		for i, l := range labels {
			q, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			quoted[i] = string(q)
		}
		return wireEvent(t, `{"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"FORWARDED",`+
			`"IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},`+
			`"source":{"namespace":"shop","pod_name":"`+pod+`","labels":[`+strings.Join(quoted, ",")+`]},`+
			`"destination":{"namespace":"shop","pod_name":"db-0","labels":["k8s:app=db"]},"node_name":"kind-worker"},`+
			`"node_name":"kind-worker","time":"2023-08-21T12:12:18.510175415Z"}`)
	}
	for _, c := range []struct {
		name       string
		one, other []string
	}{
		{"a NUL in a value", []string{"k8s:app=x\x00role=admin"}, []string{"k8s:app=x", "k8s:role=admin"}},
		{"a NUL and '=' in a value", []string{"k8s:app=x\x00role=admin\x00"}, []string{"k8s:app=x", "k8s:role=admin\x00"}},
	} {
		for _, order := range [][2][]string{{c.one, c.other}, {c.other, c.one}} {
			t.Run(c.name, func(t *testing.T) {
				d := newDecoder()
				for i, labels := range order {
					b := event(fmt.Sprintf("web-%d", i), labels...)
					var want, got record.Record
					var resp observerpb.GetFlowsResponse
					if err := proto.Unmarshal(b, &resp); err != nil {
						t.Fatal(err)
					}
					hubble.ConvertResponse(&resp, &want)
					if _, _, ok, err := d.convert(b, &got); !ok || err != nil {
						t.Fatalf("convert: ok %v, err %v", ok, err)
					}
					if !maps.Equal(got.Src.Labels, want.Src.Labels) {
						t.Errorf("labels %q: decoded as %q", want.Src.Labels, got.Src.Labels)
					}
				}
			})
		}
	}
}

// wireEvent returns the GetFlowsResponse of a recorded JSON line as it
// comes over the wire.
func wireEvent(t *testing.T, line string) []byte {
	t.Helper()
	resp, err := relay.DecodeJSON([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
