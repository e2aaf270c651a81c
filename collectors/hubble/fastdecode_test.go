package hubble_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/record/recordtest"
)

// agree checks one line: when the fast path takes it, DecodeLine
// (protojson) must accept it too, strictly, and produce the same skip
// reason and a deeply equal record. It reports whether the fast path took
// the line.
func agree(t testing.TB, fd *hubble.FastDecoder, line []byte) bool {
	t.Helper()
	var fast, slow record.Record
	// a used record: both paths must overwrite everything
	fast.Src.Labels = map[string]string{"stale": "x"}
	fast.Count, fast.DNSQuery = 7, "stale"
	skip, ok, handled := fd.Decode(line, &fast)
	if !handled {
		return false
	}
	wantSkip, lost, wantOK, unknown, err := hubble.DecodeLine(line, &slow)
	switch {
	case err != nil:
		t.Fatalf("fast path took a line protojson rejects (%v):\n%s", err, line)
	case unknown:
		t.Fatalf("fast path took a line with fields unknown to protojson:\n%s", line)
	case lost != 0:
		t.Fatalf("fast path took a lost-events line:\n%s", line)
	case skip != wantSkip || ok != wantOK:
		t.Fatalf("fast path: skip %q ok %v; protojson: skip %q ok %v\n%s", skip, ok, wantSkip, wantOK, line)
	}
	if err := fd.Check(&fast); err != nil {
		t.Fatalf("%v\nline: %s", err, line)
	}
	if ok && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("records differ\nfast:      %s\nprotojson: %s\nline: %s", dumpRecord(&fast), dumpRecord(&slow), line)
	}
	return true
}

func dumpRecord(r *record.Record) string {
	return fmt.Sprintf("%+v (time loc %v)", *r, r.Time.Location())
}

// agreementFiles are every Hubble file the repository and the shared
// captures hold, the bad-input corpus, the partial flows of older agents,
// the framing inputs and the hostile inputs (testdata/hostile at the
// repository root; its Calico and Goldmane files are malformed Hubble)
// included.
func agreementFiles(t *testing.T) []string {
	files, _ := captureFiles(t)
	var bad []string
	for _, dir := range []string{"bad", "partial", "framing", filepath.Join("..", "..", "..", "testdata", "hostile")} {
		more, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, more...)
	}
	for _, b := range bad {
		if base := filepath.Base(b); !strings.HasSuffix(base, ".md") && !strings.HasPrefix(base, ".") {
			files = append(files, b)
		}
	}
	return files
}

// TestFastDecodeAgrees runs every line of every capture, of the scenario
// files and of the bad-input corpus through the fast decoder and through
// protojson, and requires the same outcome field by field (reflect.DeepEqual
// of the records) wherever the fast path takes the line. It also requires
// the fast path to take every flow line of the scenario's exporter file and
// of the shared exporter captures (the shape it exists for), so that it
// cannot silently fall back on everything.
func TestFastDecodeAgrees(t *testing.T) {
	mustTake := map[string]bool{"node-a.jsonl": true, "node-b.json.gz": true, "node-c-legacy.json": true,
		"exporter-cilium-1.19-3lines.jsonl": true, "exporter-eks-chaining-1line.jsonl": true,
		// older and partial flows: `reply`, no uuid, no Type, L7, source_xlated, no labels, IPv6
		"reply-without-is-reply.jsonl": true, "legacy-reply.jsonl": true, "no-uuid.jsonl": true, "no-type.jsonl": true,
		"l7.jsonl": true, "source-xlated.jsonl": true, "no-labels.jsonl": true, "ipv6.jsonl": true}
	for _, path := range agreementFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fd := hubble.NewFastDecoder()
			f, err := input.Open(path, nil)
			if err != nil {
				t.Skipf("cannot open (the bad corpus has corrupt gzip): %v", err)
			}
			defer f.Close()
			lines := input.NewDocuments(f)
			var n, took, flows int
			for {
				l, more := lines.Next()
				if !more {
					break
				}
				n++
				if agree(t, fd, l.Data) {
					took++
				} else if mustTake[name] && !l.Last && bytes.HasPrefix(l.Data, []byte(`{"flow":`)) || mustTake[name] && (name == "node-c-legacy.json" || name == "legacy-reply.jsonl") {
					t.Errorf("line %d: the fast path did not take a flow line of %s:\n%.300s", l.No, name, l.Data)
				}
				if bytes.Contains(l.Data, []byte(`"verdict"`)) {
					flows++
				}
			}
			t.Logf("%s: fast path took %d of %d lines (%d flow lines)", name, took, n, flows)
		})
	}
}

// TestFastDecodeGenerated: the benchmark generator's lines, every shape of
// connection it writes, take the fast path and agree.
func TestFastDecodeGenerated(t *testing.T) {
	s := benchgen.Spec{Namespaces: 4, Workloads: 40, Replicas: 2, Nodes: 3, Peers: 3, Flows: 3000, Seed: 7}
	var buf bytes.Buffer
	if err := benchgen.WriteHubble(&buf, s); err != nil {
		t.Fatal(err)
	}
	fd := hubble.NewFastDecoder()
	for i, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if !agree(t, fd, l) && !bytes.HasPrefix(l, []byte(`{"lost_events"`)) {
			t.Fatalf("line %d: generated flow not taken by the fast path:\n%s", i+1, l)
		}
	}
	// one ID per distinct endpoint object: far fewer than endpoints read
	if n := fd.Len(); n == 0 || n > 2*s.Workloads*s.Replicas+50 {
		t.Errorf("%d endpoint IDs for %d pods", n, s.Workloads*s.Replicas)
	}
}

// TestFastPathSameRun: a FileSource run with the fast path and one with
// protojson only emit the same records and the same stats, file by file.
func TestFastPathSameRun(t *testing.T) {
	for _, path := range agreementFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			run := func(fast bool) (collectors.Stats, []record.Record, error) {
				f, err := input.Open(path, nil)
				if err != nil {
					t.Skipf("cannot open: %v", err)
				}
				src := hubble.NewFileSource(f, collectors.Options{Workers: 2})
				if !fast {
					hubble.ProtojsonOnly(src)
				}
				var st collectors.Stats
				var recs []record.Record
				err = src.Run(context.Background(), &st, func(r *record.Record) error {
					recs = append(recs, *r)
					return nil
				})
				return st, recs, err
			}
			st1, r1, e1 := run(true)
			st2, r2, e2 := run(false)
			if fmt.Sprint(e1) != fmt.Sprint(e2) {
				t.Fatalf("errors differ: fast %v, protojson %v", e1, e2)
			}
			if !reflect.DeepEqual(st1, st2) {
				t.Errorf("stats differ:\nfast      %+v\nprotojson %+v", st1, st2)
			}
			if len(r1) != len(r2) {
				t.Fatalf("%d records with the fast path, %d with protojson", len(r1), len(r2))
			}
			var ids recordtest.IDLedger
			for i := range r1 {
				if err := ids.Check(&r1[i]); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if !reflect.DeepEqual(r1[i], r2[i]) {
					t.Fatalf("record %d differs:\nfast      %s\nprotojson %s", i, dumpRecord(&r1[i]), dumpRecord(&r2[i]))
				}
			}
		})
	}
}

// FuzzFastDecode is the differential fuzz target: on any input the fast
// path either declines or agrees with protojson exactly. Seeded with every
// line of the captures, the scenario files, the bad corpus and edge cases
// of the JSON grammar the fast path validates itself.
func FuzzFastDecode(f *testing.F) {
	addCaptureLines(f)
	addLines(f, repoFlows("node-a.jsonl"), 10)
	addLines(f, repoFlows("node-c-legacy.json"), 10)
	for _, name := range []string{"truncated-middle.jsonl", "truncated-tail.jsonl", "wrong-types.jsonl",
		"port-out-of-range.jsonl", "json-array.json", "crlf.jsonl", "bom.jsonl", "legacy-flow-string.json", "nonflow-events.jsonl"} {
		addLines(f, filepath.Join("testdata", "bad", name), 1)
	}
	const ep = `"source":{"namespace":"a","pod_name":"p-0","labels":["k8s:app=x","k8s:io.cilium.k8s.namespace.labels.team=t"]}`
	for _, s := range []string{
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"l4":{"TCP":{"source_port":40000,"destination_port":80,"flags":{"SYN":true}}}}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"Summary":"a \"quoted\" \u00e9 \ud83d\ude00 \/ \t"}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"Summary":"\ud83d"}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"Summary":"\u12"}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"Summary":"` + "\xff" + `"}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `,"Summary":"é"}}`,
		`{"flow":{"verdict":2,"drop_reason":133,` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","verdict":"DROPPED",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"TCP":{},"UDP":{}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"UDP":{"source_port":"53","destination_port":40000}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"UDP":{"source_port":53.0,"destination_port":1e3}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"UDP":{"source_port":053}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"UDP":{"source_port":-1}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"UDP":{"source_port":4294967296}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","event_type":{"type":-2147483648},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","isReply":true,"sourcePort":1,` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","isReply":true,"is_reply":false,` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","time":"2024-02-29T23:59:59.123Z",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","time":"2023-02-29T23:59:59Z",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","time":"0001-01-01T00:00:00Z",` + ep + `},"time":"2020-01-01T00:00:00Z"}`,
		`{"flow":{"verdict":"FORWARDED","time":"2024-01-01T00:00:00.1234567891Z",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","time":"2024-01-01T00:00:60Z",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","time":"2024-01-01T00:00:00+01:00",` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","IP":{"source":"010.1.1.1","destination":"::ffff:1.2.3.4"},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","IP":{"source":"1.2.3.4.5","destination":"fe80::1%eth0"},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","destination":{"labels":["reserved:host","reserved:kube-apiserver"]},"source":{"identity":6}}}`,
		`{"flow":{"verdict":"FORWARDED","source":{"namespace":"a","labels":["k8s:io.cilium.k8s.policy.cluster=","k8s:io.cilium.k8s.policy.cluster=c2"]}}}`,
		`{"flow":{"verdict":"FORWARDED","source":{"namespace":"a","pod_name":"x","labels":["reserved:host"],"workloads":[{"name":"w"},{"kind":"Job"}]}}}`,
		`{"flow":{"verdict":"FORWARDED","source_names":[],"destination_names":["a.example.com."],` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l7":{"type":"RESPONSE","dns":{"query":"a.","ips":["1.2.3.4","bad","::1"]}},"event_type":{"type":129},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","l7":{"dns":{},"http":{}},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","extensions":{"@type":"x"},` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED","unknown_field":1,` + ep + `}}`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `} , "node_name" : "n" } `,
		`{"flow":{"verdict":"FORWARDED",` + ep + `}}x`,
		`{"flow":{"verdict":"FORWARDED",` + ep + `},"lost_events":{}}`,
		`{"flow" :{"verdict":"FORWARDED",` + ep + `},"node_name":"n","time":"2020-01-01T00:00:00Z"}`,
		`{"time":"2020-01-01T00:00:00Z","verdict":"FORWARDED",` + ep + `}`,
		`{"uuid":"u"}`,
		`{"verdict":"FORWARDED","reply":tru,` + ep + `}`,
		`{"verdict":"FORWARDED","reply":true ,` + ep + `}`,
		`{"verdict":"FORWARDED","Type":"SOCK",` + ep + `}`,
		`{"verdict":"FORWARDED","Type":"NOT_A_TYPE",` + ep + `}`,
		`{"verdict":"FORWARDED","socket_cookie":"18446744073709551615","cgroup_id":18446744073709551616,` + ep + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// twice with one decoder: the second time through its memos and
		// key predictions
		fd := hubble.NewFastDecoder()
		agree(t, fd, line)
		agree(t, fd, line)
	})
}
