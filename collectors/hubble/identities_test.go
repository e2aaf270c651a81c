package hubble_test

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
)

// TestIdentitiesRealClustersProduce: endpoints as real clusters report
// them (testdata/identities.jsonl, one line per case, in order). A pod the
// CNI does not manage (identity 3, reserved:unmanaged or no label at all,
// namespace and pod name present) stays a pod, marked unmanaged; the local
// node that also runs the API server (identity 1, reserved:host and
// reserved:kube-apiserver) is host when it calls (a kubelet probe, and the
// reply to it) and kube-apiserver when a pod calls it (and its reply). The
// fast decoder agrees on every line.
func TestIdentitiesRealClustersProduce(t *testing.T) {
	type end struct {
		entity record.Entity
		pod    bool
	}
	want := []struct {
		what     string
		src, dst end
	}{
		{"pod -> unmanaged CoreDNS (reserved:unmanaged)", end{record.EntityNone, true}, end{record.EntityUnmanaged, true}},
		{"pod -> unmanaged CoreDNS (identity 3, no labels)", end{record.EntityNone, true}, end{record.EntityUnmanaged, true}},
		{"kubelet probe from the node with the API server", end{record.EntityHost, false}, end{record.EntityNone, true}},
		{"pod -> API server on its node", end{record.EntityNone, true}, end{record.EntityKubeAPIServer, false}},
		{"API server's reply", end{record.EntityKubeAPIServer, false}, end{record.EntityNone, true}},
		{"the pod's reply to the probe", end{record.EntityNone, true}, end{record.EntityHost, false}},
	}
	fh, err := os.Open(filepath.Join("testdata", "identities.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fd := hubble.NewFastDecoder()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		if i >= len(want) {
			t.Fatalf("more lines than cases")
		}
		w := want[i]
		i++
		var rec record.Record
		if _, _, ok, _, err := hubble.DecodeLine(sc.Bytes(), &rec); err != nil || !ok {
			t.Fatalf("line %d (%s): ok=%v err=%v", i, w.what, ok, err)
		}
		for _, s := range []struct {
			name string
			got  *record.Endpoint
			want end
		}{{"source", &rec.Src, w.src}, {"destination", &rec.Dst, w.dst}} {
			if s.got.Entity != s.want.entity || s.got.IsPod() != s.want.pod {
				t.Errorf("line %d (%s): %s entity %q pod %v, want %q pod %v", i, w.what, s.name, s.got.Entity, s.got.IsPod(), s.want.entity, s.want.pod)
			}
		}
		if w.dst.entity == record.EntityUnmanaged && (rec.Dst.Namespace != "kube-system" || rec.Dst.Pod == "" || len(rec.Dst.Labels) != 0) {
			t.Errorf("line %d: unmanaged pod %s/%s labels %v: want its namespace and pod, no labels", i, rec.Dst.Namespace, rec.Dst.Pod, rec.Dst.Labels)
		}
		if !agree(t, fd, sc.Bytes()) {
			t.Errorf("line %d (%s): the fast path did not take it", i, w.what)
		}
	}
	if i != len(want) {
		t.Fatalf("%d lines, want %d", i, len(want))
	}
}
