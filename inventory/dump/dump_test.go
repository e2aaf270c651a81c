package dump

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/record"
)

const sample = "../../" + scenario.InventoryFile

// framings returns the sample inventory in every framing kubectl users
// produce: the -o json List, the -o yaml List, a multi-document YAML
// stream of the items, concatenated JSON objects, and the List gzipped.
func framings(t *testing.T) map[string][]byte {
	t.Helper()
	list, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(list, &l); err != nil {
		t.Fatal(err)
	}
	yamlList, err := yaml.JSONToYAML(list)
	if err != nil {
		t.Fatal(err)
	}
	var stream, concat bytes.Buffer
	for i, it := range l.Items {
		y, err := yaml.JSONToYAML(it)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			stream.WriteString("---\n")
		}
		stream.Write(y)
		concat.Write(it)
		concat.WriteByte('\n')
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(list)
	zw.Close()
	return map[string][]byte{"list.json": list, "list.yaml": yamlList, "stream.yaml": stream.Bytes(), "objects.json": concat.Bytes(), "list.json.gz": gz.Bytes()}
}

func TestEveryFramingReadsTheSame(t *testing.T) {
	dir := t.TempDir()
	var want *inventory.Snapshot
	for name, data := range framings(t) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read([]string{path}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Sources[0] != path {
			t.Errorf("%s: sources %v", name, got.Sources)
		}
		got.Sources = nil
		if want == nil {
			want = got
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads differently from the others", name)
		}
	}
	// stdin and a glob
	got, err := Read([]string{"-"}, Options{Stdin: bytes.NewReader(framings(t)["stream.yaml"])})
	if err != nil || got.Sources[0] != "stdin" {
		t.Fatalf("stdin: %v %v", err, got)
	}
	got, err = Read([]string{filepath.Join(dir, "list.*")}, Options{})
	if err != nil || len(got.Sources) != 3 || len(got.Pods) != len(want.Pods) {
		t.Fatalf("glob: %v, %d sources, %d pods (read twice: deduplicated)", err, len(got.Sources), len(got.Pods))
	}
}

func TestSample(t *testing.T) {
	snap, err := Read([]string{sample}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := snap.Summary(), "6 namespaces, 18 workloads, 33 pods (snapshot of "+sample+")"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	kinds := map[string]string{}
	for _, w := range snap.Workloads {
		kinds[w.Namespace+"/"+w.Name] = w.Kind
	}
	for name, kind := range map[string]string{
		"shop/frontend": inventory.KindDeployment, "shop/report": inventory.KindCronJob, "data/redis": inventory.KindStatefulSet,
		"shop/" + scenario.SilentDeployment: inventory.KindDeployment, "shop/" + scenario.SilentCronJob: inventory.KindCronJob,
		"monitoring/" + scenario.HostNetworkDaemonSet: inventory.KindDaemonSet,
	} {
		if kinds[name] != kind {
			t.Errorf("%s: kind %q, want %q (ReplicaSets and Jobs fold into their owners)", name, kinds[name], kind)
		}
	}
	for _, w := range snap.Workloads {
		switch w.Namespace + "/" + w.Name {
		case "shop/report":
			if len(w.Pods) != 2 || w.Schedule != "0 1,23 * * *" {
				t.Errorf("report: %+v", w)
			}
		case "shop/frontend":
			if !w.SelectorExact || len(w.Pods) != 3 || w.Selector["app.kubernetes.io/name"] != "frontend" {
				t.Errorf("frontend: %+v", w)
			}
		}
	}
	for _, p := range snap.Pods {
		if p.Workload.Name == scenario.HostNetworkDaemonSet && !p.HostNetwork {
			t.Errorf("%s: not host network", p.Name)
		}
		if p.Namespace == "shop" && p.Workload.Name == "frontend" && (len(p.Ports) != 2 || p.Ports[0].Name != "http" || p.Ports[0].Port != 8080) {
			t.Errorf("%s: named ports %+v", p.Name, p.Ports)
		}
	}
	// the sample's kube-dns Service and its cluster IP; the existing policy
	var dnsIPs []netip.Addr
	for _, svc := range snap.Services {
		if svc.Namespace == "kube-system" && svc.Name == "kube-dns" {
			dnsIPs = svc.ClusterIPs
		}
	}
	if len(dnsIPs) != 1 || !dnsIPs[0].Is4() {
		t.Errorf("kube-system/kube-dns cluster IPs %v, want one IPv4 address", dnsIPs)
	}
	if len(snap.Policies) != 1 || snap.Policies[0].Name != scenario.ExistingPolicy || !snap.Policies[0].Ingress || snap.Policies[0].Egress {
		t.Errorf("policies %+v, want the ingress policy %s", snap.Policies, scenario.ExistingPolicy)
	}
	if n := snap.Nodes[0]; n.Name != "node-a" || len(n.Addresses) != 1 || n.Addresses[0] != netip.MustParseAddr("10.0.0.11") || n.PodCIDRs[0] != netip.MustParsePrefix("10.244.1.0/24") {
		t.Errorf("node-a: %+v", n)
	}
}

func TestUnknownKindsAndTypedLists(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"namespace":"shop","name":"bare","labels":{"app":"bare"}}}]}
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"namespace":"shop","name":"x"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: shop, name: c}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {namespace: shop, name: c}
`
	// JSON then YAML in one file is not a framing kubectl writes: read the
	// two halves as two files
	parts := strings.SplitN(in, "---\n", 2)
	var snaps []*inventory.Snapshot
	for i, p := range parts {
		s, err := ReadFrom("part"+string(rune('1'+i)), strings.NewReader(p), Options{})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	if len(snaps[0].Pods) != 1 || snaps[0].Workloads[0].Kind != inventory.KindPod || snaps[0].Workloads[0].Template["app"] != "bare" {
		t.Errorf("PodList: %+v", snaps[0])
	}
	if snaps[0].Skipped["EndpointSlice"] != 1 || snaps[1].Skipped["ConfigMap"] != 1 || snaps[1].Skipped["CiliumNetworkPolicy"] != 1 {
		t.Errorf("skipped %v %v", snaps[0].Skipped, snaps[1].Skipped)
	}
	if got := snaps[1].Summary(); got != "0 namespaces, 0 workloads, 0 pods (snapshot of part2); skipped 1 CiliumNetworkPolicy, 1 ConfigMap" {
		t.Errorf("summary %q", got)
	}
}

func TestHostileInventory(t *testing.T) {
	pod := func(meta string) string {
		return `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}},{"apiVersion":"v1","kind":"Pod","metadata":` + meta + `}]}`
	}
	for _, tc := range []struct {
		name, in, want string
		max            int64
	}{
		{"bad namespace", pod(`{"namespace":"Shop!","name":"p"}`), `inv.json: document 1, item 2 (Pod): namespace "Shop!" of "p" is not a valid namespace name`, 0},
		{"bad pod name", pod(`{"namespace":"shop","name":"../../etc"}`), `item 2 (Pod): name "../../etc" is not a valid Kubernetes name`, 0},
		{"bad label", pod(`{"namespace":"shop","name":"p","labels":{"app":"a b"}}`), `label "app"="a b" is not a valid Kubernetes label`, 0},
		{"bad owner", pod(`{"namespace":"shop","name":"p","ownerReferences":[{"kind":"Replica Set","name":"x","controller":true}]}`), `owner "Replica Set"/"x" is not a valid kind and name`, 0},
		{"terminal escapes", pod(`{"namespace":"shop","name":"\u001b]0;pwned\u0007"}`), `is not a valid Kubernetes name`, 0},
		{"bad node address", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.300"}]}}`, `document 1 (Node): node "n": address "10.0.0.300" is not an IP address`, 0},
		{"bad port name", pod(`{"namespace":"shop","name":"p"},"spec":{"containers":[{"name":"c","ports":[{"name":"HTTP_PORT","containerPort":80}]}]}`), `container port "HTTP_PORT"`, 0},
		{"bad cluster IP", `{"apiVersion":"v1","kind":"Service","metadata":{"namespace":"kube-system","name":"kube-dns"},"spec":{"clusterIP":"10.96.0.300"}}`, `service "kube-dns": cluster IP "10.96.0.300" is not an IP address`, 0},
		{"bad cron schedule bytes", `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"namespace":"shop","name":"c"},"spec":{"schedule":"0 3 * * *\n| x |"}}`, `is not a cron schedule`, 0},
		{"bad endpoint address", `{"apiVersion":"cilium.io/v2","kind":"CiliumEndpoint","metadata":{"namespace":"shop","name":"p"},"status":{"networking":{"addressing":[{"ipv4":"10.244.1.300"}]}}}`, `document 1 (CiliumEndpoint): ciliumendpoint "p": address "10.244.1.300" is not an IP address`, 0},
		{"bad endpoint name", `{"apiVersion":"cilium.io/v2","kind":"CiliumEndpoint","metadata":{"namespace":"shop","name":"P Q"}}`, `(CiliumEndpoint): name "P Q" is not a valid Kubernetes name`, 0},
		{"wrong type", pod(`{"namespace":"shop","name":["p"]}`), `inv.json: document 1, item 2 (Pod): "json: cannot unmarshal`, 0},
		{"not an object", `[1, 2, 3]`, `inv.json: document 1: not a Kubernetes object or list`, 0},
		{"broken json", `{"apiVersion":"v1","kind":"List","items":[{"kind":`, `inv.json: document 1: not a Kubernetes object or list`, 0},
		{"second document bad", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: NOT_OK}\n", `inv.json: document 2 (Namespace): name "NOT_OK" is not a valid namespace name`, 0},
		{"alias bomb", yamlBomb(), `inv.json: document 1: not a Kubernetes object or list: "error converting YAML to JSON: yaml: document contains excessive aliasing"`, 0},
		{"huge file", pod(`{"namespace":"shop","name":"p","annotations":{"a":"` + strings.Repeat("x", 4096) + `"}}`), `inv.json: larger than 1024 bytes (the inventory bound of one file)`, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrom("inv.json", strings.NewReader(tc.in), Options{MaxBytes: tc.max})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") || len(err.Error()) > 600 {
				t.Errorf("error is not short and inert: %q", err)
			}
		})
	}
	// at the bound exactly: read
	in := pod(`{"namespace":"shop","name":"p"}`)
	if _, err := ReadFrom("inv.json", strings.NewReader(in), Options{MaxBytes: int64(len(in))}); err != nil {
		t.Errorf("a file of exactly the bound: %v", err)
	}
	if _, err := Read([]string{"-"}, Options{}); err == nil || !strings.Contains(err.Error(), "--inventory -: no standard input") {
		t.Errorf("stdin without one: %v", err)
	}
	if _, err := Read([]string{"/nonexistent/*.json"}, Options{}); err == nil || !strings.Contains(err.Error(), "--inventory /nonexistent/*.json: glob matches no file") {
		t.Errorf("empty glob: %v", err)
	}
}

// TestCiliumEndpoints: `kubectl get ciliumendpoints -A -o json` as Cilium
// writes them (status.identity, status.networking.addressing with IPv4 and
// IPv6, fields the inventory does not read) reads into the snapshot's
// endpoints, and the summary counts them.
func TestCiliumEndpoints(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"cilium.io/v2","kind":"CiliumEndpoint","metadata":{"name":"web-1","namespace":"shop","labels":{"app":"web"},
 "ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"web-1","uid":"90b353f5"}]},
 "status":{"encryption":{},"external-identifiers":{"container-id":"ad4a629","k8s-namespace":"shop","k8s-pod-name":"web-1","pod-name":"shop/web-1"},
  "id":1234,"identity":{"id":48861,"labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop"]},
  "networking":{"addressing":[{"ipv4":"10.244.1.7","ipv6":"fd00::7"}],"node":"10.0.0.12"},
  "policy":{"egress":{"enforcing":false,"state":"<status disabled>"},"ingress":{"enforcing":true,"state":"enabled"}},"state":"ready"}},
{"apiVersion":"cilium.io/v2","kind":"CiliumEndpoint","metadata":{"name":"web-2","namespace":"shop"},"status":{"state":"waiting-for-identity"}}]}`
	s, err := ReadFrom("ceps.json", strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.CiliumEndpoint{
		{Namespace: "shop", Name: "web-1", IPs: []netip.Addr{netip.MustParseAddr("10.244.1.7"), netip.MustParseAddr("fd00::7")}, Identity: 48861},
		{Namespace: "shop", Name: "web-2"},
	}
	if !reflect.DeepEqual(s.Endpoints, want) {
		t.Errorf("endpoints %+v, want %+v", s.Endpoints, want)
	}
	if got := s.Summary(); got != "0 namespaces, 0 workloads, 0 pods, 2 CiliumEndpoints (snapshot of ceps.json)" {
		t.Errorf("summary %q", got)
	}
}

// yamlBomb is a "billion laughs" YAML document: nine levels of ten
// aliases each.
func yamlBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  labels: &a0 {a: lol}\n")
	for i := 1; i <= 9; i++ {
		ref := "*a" + string(rune('0'+i-1))
		b.WriteString("x" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.TrimSuffix(strings.Repeat(ref+",", 10), ",") + "]\n")
	}
	return b.String()
}

// FuzzReadFrom: any input is read or refused with a short error that
// holds no control character; an accepted snapshot holds only valid
// names and labels.
func FuzzReadFrom(f *testing.F) {
	for _, data := range framings(&testing.T{}) {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","name":"p","labels":{"app":"x"},"ownerReferences":[{"kind":"ReplicaSet","name":"p-abc","controller":true}]},"spec":{"hostNetwork":true,"containers":[{"name":"c","ports":[{"name":"http","containerPort":80}]}]},"status":{"podIPs":[{"ip":"10.0.0.1"}]}}]}`))
	f.Add([]byte("apiVersion: batch/v1\nkind: CronJob\nmetadata: {namespace: a, name: b}\nspec: {schedule: '*/5 * * * *', timeZone: Europe/Paris}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: a, name: d}\nspec: {selector: {matchLabels: {app: d}}}\n"))
	f.Add([]byte(yamlBomb()))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadFrom("fuzz", bytes.NewReader(data), Options{MaxBytes: 1 << 20})
		if err != nil {
			if msg := err.Error(); len(msg) > 1000 || strings.ContainsAny(msg, "\x00\x1b\x07\n") {
				t.Fatalf("error not short and inert: %q", msg)
			}
			return
		}
		for _, p := range s.Pods {
			if !record.ValidNamespace(p.Namespace) || !record.ValidName(p.Name) {
				t.Fatalf("accepted pod %q/%q", p.Namespace, p.Name)
			}
			for k, v := range p.Labels {
				if !record.ValidLabel(k, v) {
					t.Fatalf("accepted label %q=%q", k, v)
				}
			}
		}
		for _, w := range s.Workloads {
			if !record.ValidNamespace(w.Namespace) || !record.ValidName(w.Name) {
				t.Fatalf("accepted workload %q/%q", w.Namespace, w.Name)
			}
			w.Runs(time.Unix(0, 0), time.Unix(86400, 0))
		}
	})
}
