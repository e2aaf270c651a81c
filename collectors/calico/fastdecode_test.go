package calico

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flowfence/flowfence/collectors/collectorstest"
	"github.com/flowfence/flowfence/internal/benchgen"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/record/recordtest"
)

// agree checks one line: when the fast path takes it, DecodeDocument +
// Validate + Convert give the same error, skip reason and record.
func agree(t testing.TB, fd *fastDecoder, ids *recordtest.IDLedger, line []byte) bool {
	t.Helper()
	var fast record.Record
	fast.Src.Labels = map[string]string{"stale": "x"}
	skip, ok, handled, err := fd.decode(line, &fast)
	if !handled {
		return false
	}
	agreeResult(t, ids, line, &fast, skip, ok, err)
	return true
}

// agreeResult checks what the fast path made of a line that it took
// (fast, skip, ok, err) against DecodeDocument + Validate + Convert.
func agreeResult(t testing.TB, ids *recordtest.IDLedger, line []byte, fast *record.Record, skip string, ok bool, err error) {
	t.Helper()
	logs, empty, derr := DecodeDocument(line)
	if fmt.Sprint(err) != fmt.Sprint(derr) {
		t.Fatalf("fast path error %v, DecodeDocument %v\n%s", err, derr, line)
	}
	if err != nil {
		return
	}
	if empty || len(logs) != 1 {
		t.Fatalf("fast path took a line DecodeDocument reads as %d logs (empty %v)\n%s", len(logs), empty, line)
	}
	var slow record.Record
	wantSkip, wantOK := Convert(&logs[0], &slow)
	if skip != wantSkip || ok != wantOK {
		t.Fatalf("fast path skip %q ok %v, Convert %q %v\n%s", skip, ok, wantSkip, wantOK, line)
	}
	if err := ids.Check(fast); err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	if ok && !reflect.DeepEqual(*fast, slow) {
		t.Fatalf("records differ\nfast: %+v\nslow: %+v\n%s", *fast, slow, line)
	}
}

// TestFastDecodeAgrees: every line of the shared captures and of the
// benchmark generator's Calico output agrees, and the generator's lines
// (the Felix shape) all take the fast path.
func TestFastDecodeAgrees(t *testing.T) {
	fd := newFastDecoder()
	var ids recordtest.IDLedger
	if paths, _ := filepath.Glob("../../../shared/captures/calico-flowlogs/*"); len(paths) > 0 {
		took := 0
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range collectorstest.Lines(t, data) {
				if agree(t, fd, &ids, l) {
					took++
				}
			}
		}
		t.Logf("captures: fast path took %d lines", took)
	}
	for _, shape := range []benchgen.CalicoShape{benchgen.CalicoFelix, benchgen.CalicoShort} {
		var buf bytes.Buffer
		s := benchgen.Spec{Namespaces: 4, Workloads: 40, Replicas: 2, Nodes: 3, Peers: 3, Flows: 2000, Seed: 3, CalicoShape: shape}
		if err := benchgen.WriteCalico(&buf, s); err != nil {
			t.Fatal(err)
		}
		for i, l := range collectorstest.Lines(t, buf.Bytes()) {
			if !agree(t, fd, &ids, l) {
				t.Fatalf("generated line %d (shape %d) not taken by the fast path:\n%s", i+1, shape, l)
			}
		}
		if n := ids.Len(); n == 0 || n > 3*s.Workloads*s.Replicas {
			t.Errorf("%d endpoint IDs for %d pods", n, s.Workloads*s.Replicas)
		}
	}
}

// FuzzFastDecode is the differential fuzz target of the Calico fast path.
func FuzzFastDecode(f *testing.F) {
	if paths, _ := filepath.Glob("../../../shared/captures/calico-flowlogs/*"); len(paths) > 0 {
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				for _, l := range collectorstest.Lines(f, data) {
					f.Add(l)
				}
			}
		}
	}
	var buf bytes.Buffer
	_ = benchgen.WriteCalico(&buf, benchgen.Spec{Namespaces: 2, Workloads: 10, Replicas: 2, Nodes: 2, Peers: 2, Flows: 40, Seed: 1})
	for _, l := range collectorstest.Lines(f, buf.Bytes()) {
		f.Add(l)
	}
	for _, s := range []string{
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"proto":"tcp","dest_port":80}`,
		`{"reporter":"src","Reporter":"dst","action":"allow","source_type":"wep","dest_type":"wep","start_time":1}`,
		`{"reporter":"dst","action":"deny","source_type":"wep","dest_type":"net","end_time":1597166383000,"proto":6,"dest_port":443,"dest_ip":null}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":"1","proto":"udp","dest_port":53}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1.5,"proto":"udp","dest_port":53.0}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"proto":"udp","dest_port":53,"x":{"y":[1,-2.5e3,true,null,"\u00e9"]}}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"source_labels":["a=b","projectcalico.org/x=y","c"],"dest_labels":{"labels":[]}}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"host":"\u006eode","dest_domains":["a.example.com.","-",""]}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"host":"` + "\xff" + `"}`,
		`{"_source":{"reporter":"src"}}`,
		`{"reporter":"dst","action":"deny","source_type":"wep","dest_type":"wep","start_time":1,"proto":"tcp","dest_port":80,"policies":{"all_policies":["0|default|ns/default.deny|deny|0"]}}`,
		`{"reporter":"dst","action":"deny","source_type":"wep","dest_type":"wep","start_time":1,"proto":"tcp","dest_port":80,"policies":{"all_policies":["0|t|x\n- to:|deny|0"],"enforced_policies":["1|t|t.p|deny|-1"]}}`,
		`{"reporter":"dst","action":"deny","source_type":"wep","dest_type":"wep","start_time":1,"proto":"tcp","dest_port":80,"Policies":null,"policies":7}`,
		`{"reporter":"src","action":"allow","source_type":"wep","dest_type":"wep","start_time":1,"dest_port":-0,"num_flows":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// the input's lines in turn, then again, then backwards, with
		// one decoder: the later lines go through the key predictions,
		// the kept members and the caches that the earlier ones left
		ls := bytes.Split(data, []byte("\n"))
		if len(ls) > 4 {
			ls = ls[:4]
		}
		var order [][]byte
		order = append(order, ls...)
		order = append(order, ls...)
		for i := len(ls) - 1; i >= 0; i-- {
			order = append(order, ls[i])
		}
		fd, ids := newFastDecoder(), &recordtest.IDLedger{}
		for _, l := range order {
			agree(t, fd, ids, l)
		}
	})
}

// BenchmarkDecodeFast measures the fast path per generated Felix flow-log
// line (decode, validate, convert): ns/op and MB/s on one core.
func BenchmarkDecodeFast(b *testing.B) {
	var buf bytes.Buffer
	if err := benchgen.WriteCalico(&buf, benchgen.Spec{Namespaces: 200, Workloads: 2000, Replicas: 5, Nodes: 100, Peers: 9, Flows: 50_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	ls := collectorstest.Lines(b, buf.Bytes())
	b.SetBytes(int64(buf.Len() / len(ls)))
	fd := newFastDecoder()
	var rec record.Record
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, handled, _ := fd.decode(ls[i%len(ls)], &rec); !handled {
			b.Fatal("line not taken")
		}
		i++
	}
}

// TestFastDecodeLongName: a workload name too long for the endpoint
// templates' key is converted without one, as Convert does.
func TestFastDecodeLongName(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 70_000)
	line := `{"reporter":"src","action":"allow","source_type":"wep","source_name":"` + string(long) + `","source_namespace":"ns","source_ip":"10.0.0.1",` +
		`"source_labels":{"labels":["app=x"]},"dest_type":"wep","dest_name_aggr":"y-*","dest_namespace":"ns","start_time":1,"proto":"tcp","dest_port":80}`
	fd, ids := newFastDecoder(), &recordtest.IDLedger{}
	for range 2 {
		if !agree(t, fd, ids, []byte(line)) {
			t.Fatal("line not taken by the fast path")
		}
	}
}

// TestFastDecodeChangingMembers: lines that differ from the one before in
// a few members, at random, agree with DecodeDocument one after the
// other: the decoder's kept members come and go as the members change (a
// stale one would replay what an older line set).
func TestFastDecodeChangingMembers(t *testing.T) {
	var buf bytes.Buffer
	if err := benchgen.WriteCalico(&buf, benchgen.Spec{Namespaces: 2, Workloads: 4, Replicas: 2, Nodes: 2, Peers: 2, Flows: 4, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	base := string(collectorstest.Lines(t, buf.Bytes())[0])
	// members of the line and values each may take instead
	// (end: what ends the member, with its comma; "," when empty)
	variants := []struct {
		member string
		alts   []string
		end    string
	}{
		{`"start_time":`, []string{`"start_time":1794787500,`, `"start_time":1794790800,`}, ""},
		{`"source_ip":`, []string{`"source_ip":null,`, `"source_ip":"10.9.9.9",`}, ""},
		{`"source_name":`, []string{`"source_name":"other-pod",`}, ""},
		{`"source_port":`, []string{`"source_port":null,`, `"source_port":41000,`}, ""},
		{`"source_type":"wep",`, []string{`"source_type":"net",`}, ""},
		// label fields the same pod also has (relabelled), one with a "]"
		// inside a label, and none
		{`"source_labels":`, []string{`"source_labels":{"labels":["app=x"]},`, `"source_labels":{"labels":["app=x","a]b=c"]},`, `"source_labels":null,`}, "]},"},
		{`"dest_port":`, []string{`"dest_port":53,`, `"dest_port":8080,`}, ""},
		{`"dest_labels":`, []string{`"dest_labels":{"labels":[]},`, `"dest_labels":{"labels":["app=y"]},`}, "]},"},
		{`"dest_service_name":"-",`, []string{`"dest_service_name":"api",`}, ""},
		{`"dest_service_port_num":null,`, []string{`"dest_service_port_num":443,`}, ""},
		{`"proto":"tcp",`, []string{`"proto":"udp",`, `"proto":6,`}, ""},
		{`"action":"allow",`, []string{`"action":"deny",`}, ""},
		{`"reporter":"src",`, []string{`"reporter":"dst",`}, ""},
		{`"num_flows":1,`, []string{`"num_flows":7,`}, ""},
		{`"packets_in":`, []string{`"packets_in":1,`, `"packets_in":99,`}, ""},
		{`"http_requests_allowed_in":0,`, []string{`"http_requests_allowed_in":3,`}, ""},
		{`"process_name":"-",`, []string{`"process_name":"curl",`}, ""},
		{`"original_source_ips":null,`, []string{`"original_source_ips":["10.1.2.3"],`}, ""},
		// inside and at the end of the run of unknown members the decoder
		// takes whole (a 0 that becomes 0.5 is the run followed by more)
		{`"tcp_mean_mss":0,`, []string{`"tcp_mean_mss":1460,`}, ""},
		{`"tcp_unrecovered_to":0,`, []string{`"tcp_unrecovered_to":0.5,`, `"tcp_unrecovered_to":{"x":[0]},`}, ""},
		{`"host":`, []string{`"host":"node-a",`, `"host":"node-b",`}, ""},
	}
	// each member's text in base, up to and including its comma
	type span struct{ from, to int }
	spans := make([]span, len(variants))
	for i, v := range variants {
		from := strings.Index(base, v.member)
		if from < 0 {
			t.Fatalf("generated line has no %s: %s", v.member, base)
		}
		end := v.end
		if end == "" {
			end = ","
		}
		to := from + strings.Index(base[from:], end) + len(end)
		if strings.HasSuffix(v.member, ",") {
			to = from + len(v.member)
		}
		spans[i] = span{from, to}
		if i > 0 && from < spans[i-1].to {
			t.Fatalf("variants out of the line's order at %s", v.member)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	choice := make([]int, len(variants)) // 0: base's value
	fd, ids := newFastDecoder(), &recordtest.IDLedger{}
	for n := 0; n < 3000; n++ {
		for i := range choice {
			if rng.IntN(8) == 0 {
				choice[i] = rng.IntN(len(variants[i].alts) + 1)
			}
		}
		var b strings.Builder
		last := 0
		for i, sp := range spans {
			b.WriteString(base[last:sp.from])
			if choice[i] == 0 {
				b.WriteString(base[sp.from:sp.to])
			} else {
				b.WriteString(variants[i].alts[choice[i]-1])
			}
			last = sp.to
		}
		b.WriteString(base[last:])
		if !agree(t, fd, ids, []byte(b.String())) {
			t.Fatalf("line %d not taken by the fast path:\n%s", n, b.String())
		}
	}
}

// TestFastDecodeRuns: a line after lines whose unknown members the decoder
// now takes as one run (Felix's TCP statistics and the like) agrees with
// DecodeDocument when a member of the run changed, when the run is
// followed by more of its last value, and when a value in it became
// invalid with the same length (the line must not be taken).
func TestFastDecodeRuns(t *testing.T) {
	var buf bytes.Buffer
	if err := benchgen.WriteCalico(&buf, benchgen.Spec{Namespaces: 2, Workloads: 4, Replicas: 2, Nodes: 2, Peers: 2, Flows: 4, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	base := string(collectorstest.Lines(t, buf.Bytes())[0])
	for _, tc := range []struct {
		name, old, new string
		invalid        bool
	}{
		{"first member changed", `"num_flows_started":1,`, `"num_flows_started":2,`, false},
		{"middle member longer", `"tcp_mean_mss":0,`, `"tcp_mean_mss":1460,`, false},
		{"last member continued", `"tcp_unrecovered_to":0,`, `"tcp_unrecovered_to":0.5,`, false},
		{"last member an object", `"tcp_unrecovered_to":0,`, `"tcp_unrecovered_to":{"a":0},`, false},
		{"member removed", `"tcp_min_mss":0,`, ``, false},
		{"member added", `"tcp_min_mss":0,`, `"tcp_min_mss":0,"x":[],`, false},
		{"a known field added", `"process_id":"-",`, `"dest_domains":["x.example."],"process_id":"-",`, false},
		{"a known field twice", `"process_id":"-",`, `"reporter":"dst","process_id":"-",`, true},
		{"invalid value, same length", `"tcp_mean_mss":0,`, `"tcp_mean_mss":x,`, true},
		{"invalid key, same length", `"process_id":`, `"process_id\x`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := strings.Replace(base, tc.old, tc.new, 1)
			if line == base {
				t.Fatalf("no %s in %s", tc.old, base)
			}
			fd, ids := newFastDecoder(), &recordtest.IDLedger{}
			for range 3 {
				if !agree(t, fd, ids, []byte(base)) {
					t.Fatalf("line not taken: %s", base)
				}
			}
			longest := 0
			for _, p := range fd.pred {
				longest = max(longest, p.runN)
			}
			if longest < 20 {
				t.Fatalf("longest run of unknown members %d, want Felix's tail (20 or more)", longest)
			}
			took := agree(t, fd, ids, []byte(line))
			if took == tc.invalid {
				t.Errorf("taken: %v, want %v: %s", took, !tc.invalid, line)
			}
			// and the line after it is the base line again
			if !agree(t, fd, ids, []byte(base)) {
				t.Fatalf("line not taken: %s", base)
			}
		})
	}
}

// TestSharedEndpoints: decoders on several goroutines that share one table
// of endpoints, as a file's decode workers do, decode the same lines in
// different orders. Every record agrees with DecodeDocument, an ID stands
// for one endpoint across all decoders, and an endpoint carries one ID
// whichever decoder met it first (it was converted once).
func TestSharedEndpoints(t *testing.T) {
	var buf bytes.Buffer
	if err := benchgen.WriteCalico(&buf, benchgen.Spec{Namespaces: 4, Workloads: 40, Replicas: 3, Nodes: 3, Peers: 3, Flows: 3000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	ls := collectorstest.Lines(t, buf.Bytes())
	type result struct {
		line    int
		rec     record.Record
		skip    string
		ok, hit bool
		err     error
	}
	const workers = 4
	eps := newEpTable()
	results := make([][]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd := newSharingDecoder(eps)
			for _, i := range rand.New(rand.NewPCG(uint64(w), 7)).Perm(len(ls)) {
				r := result{line: i}
				r.skip, r.ok, r.hit, r.err = fd.decode(ls[i], &r.rec)
				results[w] = append(results[w], r)
			}
		}()
	}
	wg.Wait()
	var ledger recordtest.IDLedger
	// an endpoint (namespace, pod, address, labels) → its IDs
	ids := map[string]map[*record.EndpointID]bool{}
	for w := range results {
		for _, r := range results[w] {
			if !r.hit {
				t.Fatalf("decoder %d: line %d not taken by the fast path", w, r.line+1)
			}
			for _, ep := range []*record.Endpoint{&r.rec.Src, &r.rec.Dst} {
				if ep.ID == nil {
					continue
				}
				k := fmt.Sprint(ep.Namespace, "/", ep.Pod, "/", ep.IP, "/", ep.Labels)
				if ids[k] == nil {
					ids[k] = map[*record.EndpointID]bool{}
				}
				ids[k][ep.ID] = true
			}
			agreeResult(t, &ledger, ls[r.line], &r.rec, r.skip, r.ok, r.err)
		}
	}
	if len(ids) == 0 {
		t.Fatal("no endpoint carried an ID")
	}
	for k, m := range ids {
		if len(m) != 1 {
			t.Errorf("endpoint %s: %d IDs from %d decoders sharing a table, want 1", k, len(m), workers)
		}
	}
}

// TestEndpointTable: templates added to a shared table from several
// goroutines, hashes colliding, are each found by their hash and key as
// the table grows; an add of a key already there returns the template
// there; a full table is emptied and takes new templates.
func TestEndpointTable(t *testing.T) {
	tab := newEpTable()
	tmpl := func(i int) *epTemplate {
		key := []byte(fmt.Sprintf("pod-%d|ns|10.0.0.1", i))
		return &epTemplate{key: key, lens: epLens{uint16(len(key)), 0, 0, noAddr}}
	}
	// hashes collide in groups of 8: probes run past other keys
	hash := func(i int) uint64 { return uint64(i/8) * 0x9E3779B97F4A7C15 }
	lookup := func(i int) *epTemplate {
		want := tmpl(i)
		return find(tab.load(), hash(i), want.key, want.lens)
	}
	const n, workers = 5000, 4
	added := make([][]*epTemplate, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				// every worker adds every key: one template per key wins
				added[w] = append(added[w], tab.add(hash(i), tmpl(i)))
			}
		}()
	}
	wg.Wait()
	if got := len(tab.load()); got < 2*n {
		t.Errorf("%d slots for %d templates: the table did not grow", got, n)
	}
	for i := range n {
		got := lookup(i)
		if got == nil {
			t.Fatalf("template %d not found", i)
		}
		for w := range workers {
			if added[w][i] != got {
				t.Fatalf("worker %d got another template for key %d than the table holds", w, i)
			}
		}
	}
	// fill the table up: the next add empties it
	for i := n; i < maxEndpoints; i++ {
		tab.add(hash(i), tmpl(i))
	}
	if lookup(0) == nil {
		t.Fatal("a template was lost before the table was full")
	}
	last := tmpl(maxEndpoints)
	if got := tab.add(hash(maxEndpoints), last); got != last || lookup(maxEndpoints) != last {
		t.Fatal("a full table did not take a new template")
	}
	if lookup(0) != nil {
		t.Error("a full table was not emptied")
	}
}
