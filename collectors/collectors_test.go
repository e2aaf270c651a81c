package collectors_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/internal/testsupport"
)

// firstLines are first lines of every input shape, copied from the real
// captures in ../shared/captures (see SOURCES.md there for provenance) and
// trimmed, so that the table runs without them.
var firstLines = []struct {
	name string
	head string
	want collectors.Format
}{
	{"hubble exporter line (exporter-drops-2lines.jsonl)",
		`{"flow":{"time":"2023-08-21T12:12:13.517394084Z","verdict":"DROPPED","IP":{"source":"fe80::64d8:8aff:fe72:fc14","destination":"ff02::2","ipVersion":"IPv6"},"l4":{"ICMPv6":{"type":133}},"source":{},"destination":{},"node_name":"kind-kind/kind-worker","drop_reason_desc":"INVALID_SOURCE_IP"},"node_name":"kind-kind/kind-worker","time":"2023-08-21T12:12:13.517394084Z"}` + "\n",
		collectors.FormatHubble},
	{"hubble lost_events first",
		`{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3","cpu":2},"node_name":"node-a","time":"2026-11-16T10:19:12.599332412Z"}` + "\n{\"flow\":{}}\n",
		collectors.FormatHubble},
	{"hubble relay node_status first",
		`{"node_status":{"state_change":"NODE_CONNECTED","node_names":["node-b"]},"time":"2026-11-15T23:59:58Z"}` + "\n",
		collectors.FormatHubble},
	{"hubble camelCase lostEvents",
		`{"lostEvents":{"source":"HUBBLE_RING_BUFFER","numEventsLost":"3"},"nodeName":"node-a"}` + "\n",
		collectors.FormatHubble},
	{"bare legacy flow (node-c-legacy.json)",
		`{"time":"2026-11-16T00:20:49.495051608Z","verdict":"FORWARDED","IP":{"source":"203.0.113.50","destination":"10.244.3.17","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":55559,"destination_port":8080,"flags":{"SYN":true}}},"source":{"identity":2,"labels":["reserved:world"]}}` + "\n",
		collectors.FormatHubbleLegacy},
	{"calico flow log (felix-flows-log-deny.jsonl)",
		`{"start_time":1659621542,"end_time":1659621842,"source_ip":"10.48.116.157","source_name":"multitool","source_name_aggr":"multitool","source_namespace":"default","source_type":"wep","dest_port":5050,"proto":"tcp","action":"deny","reporter":"dst"}` + "\n",
		collectors.FormatCalicoFlowLog},
	{"calico elasticsearch document",
		`{"_source":{"start_time":1536897600,"source_ip":"35.32.82.134","source_name_aggr":"pub","source_type":"net"}}` + "\n",
		collectors.FormatCalicoFlowLog},
	{"goldmane protojson, pretty (goldmane-flow-protojson.json)",
		"{\n  \"Key\": {\n    \"sourceName\": \"longhorn-manager-*\",\n    \"sourceNamespace\": \"longhorn-system\",\n    \"reporter\": \"Src\",\n    \"action\": \"Allow\"\n  }\n}\n",
		collectors.FormatGoldmane},
	{"goldmane protojson, one flow per line",
		`{"Key":{"sourceName":"longhorn-manager-*","sourceNamespace":"longhorn-system","destName":"instance-manager","proto":"tcp","reporter":"Src","action":"Allow"},"startTime":"1748000000","numConnectionsStarted":"1"}` + "\n",
		collectors.FormatGoldmane},
	{"flowfence graph", `{"flowfenceGraph": 1, "workloads": []}` + "\n", collectors.FormatGraph},
	{"flowfence graph, pretty", "{\n  \"flowfenceGraph\": 1,\n  \"edges\": []\n}\n", collectors.FormatGraph},
	{"hubble after a UTF-8 BOM and blank lines", "\ufeff\n\n" + `{"flow":{"verdict":"FORWARDED"}}` + "\n", collectors.FormatHubble},
	{"hubble with CRLF", `{"flow":{"verdict":"FORWARDED"}}` + "\r\n", collectors.FormatHubble},
	{"hubble pretty-printed (jq .)", "{\n  \"flow\": {\n    \"verdict\": \"FORWARDED\"\n  },\n  \"node_name\": \"n\"\n}\n", collectors.FormatHubble},
	{"hubble jq -s array", "[\n  {\n    \"flow\": {\n      \"verdict\": \"FORWARDED\"\n    }\n  }\n]\n", collectors.FormatHubble},
	{"hubble jq -sc one-line array", `[{"flow":{"verdict":"FORWARDED"},"node_name":"n"},{"flow":{}}]`, collectors.FormatHubble},
	{"bare legacy flow pretty-printed", "{\n  \"time\": \"2026-11-16T00:20:49Z\",\n  \"verdict\": \"FORWARDED\",\n  \"source\": {}\n}\n", collectors.FormatHubbleLegacy},
	{"garbage line, then hubble", "tail: flows.json: file truncated\n" + `{"flow":{"verdict":"FORWARDED"}}` + "\n", collectors.FormatHubble},
	{"garbage line, then calico", "%%garbage%%\n" + `{"source_name_aggr":"a-*","dest_name_aggr":"b-*","reporter":"dst"}` + "\n", collectors.FormatCalicoFlowLog},
	{"garbage line, then goldmane", "xx\n" + `{"Key":{"sourceName":"a","sourceNamespace":"n"}}` + "\n", collectors.FormatGoldmane},
	{"empty", "", collectors.FormatEmpty},
	{"whitespace only", " \n\t\r\n\n", collectors.FormatEmpty},
	{"BOM only", "\ufeff", collectors.FormatEmpty},
	{"garbage text", "hello world\nthis is not a flow log\n", collectors.FormatUnknown},
	{"binary garbage", "\x00\x01\x02\xff\xfe\x00\x1f\x8b\n\x00", collectors.FormatUnknown},
	{"unrelated JSON", `{"apiVersion":"v1","kind":"List","items":[]}` + "\n", collectors.FormatUnknown},
	{"YAML", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n", collectors.FormatUnknown},
}

func TestDetect(t *testing.T) {
	for _, tc := range firstLines {
		t.Run(tc.name, func(t *testing.T) {
			if got := collectors.Detect([]byte(tc.head)); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDetectCaptures detects every real capture from its first 8 KiB, as
// the pipeline does (it peeks 8192 bytes).
func TestDetectCaptures(t *testing.T) {
	want := []struct {
		dir    string
		format collectors.Format
	}{
		{"hubble", collectors.FormatHubble}, // every Hubble capture has the exporter / observe shape
		{"calico-flowlogs", collectors.FormatCalicoFlowLog},
		{"goldmane", collectors.FormatGoldmane},
	}
	n := 0
	for _, w := range want {
		if _, ok := testsupport.FindCaptures(w.dir); !ok {
			t.Skipf("shared/captures/%s not found above the package directory (set FLOWFENCE_CAPTURES to its parent): skipping", w.dir)
		}
	}
	for _, w := range want {
		root, _ := testsupport.FindCaptures(w.dir)
		format := w.format
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n++
			if got := collectors.Detect(data[:min(len(data), 8192)]); got != format {
				t.Errorf("%s: Detect = %q, want %q", path, got, format)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no capture found")
	}
	// the repository's legacy scenario file: bare flows
	data, err := os.ReadFile(filepath.Join("..", "testdata", "flows", "node-c-legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := collectors.Detect(data[:8192]); got != collectors.FormatHubbleLegacy {
		t.Errorf("node-c-legacy.json: Detect = %q, want %q", got, collectors.FormatHubbleLegacy)
	}
}

func TestStats(t *testing.T) {
	var a collectors.Stats // zero value is usable
	a.Skip("b reason", 2)
	a.Skip("a reason", 1)
	a.Skip("b reason", 3)
	if got := a.SkippedReasons(); !reflect.DeepEqual(got, []string{"a reason", "b reason"}) || a.Skipped["b reason"] != 5 {
		t.Errorf("reasons %v, skipped %v", got, a.Skipped)
	}
	a.Files, a.Lines, a.FlowEvents, a.Malformed, a.Truncated, a.LostEvents = 1, 10, 7, 1, 1, 4

	tests := []struct {
		name       string
		into, from collectors.Stats
		want       collectors.Stats
	}{
		{"into empty", collectors.Stats{}, a, a},
		{"from empty", a, collectors.Stats{}, a},
		{"sums", a, a, collectors.Stats{Files: 2, Lines: 20, FlowEvents: 14, Malformed: 2, Truncated: 2, LostEvents: 8,
			Skipped: map[string]uint64{"a reason": 2, "b reason": 10}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			into := tc.into
			into.Skipped = clone(tc.into.Skipped)
			from := tc.from
			from.Skipped = clone(tc.from.Skipped)
			into.Add(&from)
			if !reflect.DeepEqual(into, tc.want) {
				t.Errorf("Add = %+v, want %+v", into, tc.want)
			}
			if !reflect.DeepEqual(from.Skipped, tc.from.Skipped) && len(tc.from.Skipped) > 0 {
				t.Errorf("Add changed its argument: %v", from.Skipped)
			}
		})
	}
	var empty collectors.Stats
	if r := empty.SkippedReasons(); len(r) != 0 {
		t.Errorf("no skips: reasons %v", r)
	}
}

func clone(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return nil
	}
	c := make(map[string]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestLineError(t *testing.T) {
	cause := errors.New("unexpected token")
	var err error = &collectors.LineError{File: "flows.jsonl", Line: 12, Err: cause}
	if err.Error() != "flows.jsonl:12: unexpected token" {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, cause) {
		t.Error("LineError does not unwrap to its cause")
	}
	var le *collectors.LineError
	if !errors.As(err, &le) || le.Line != 12 {
		t.Error("errors.As does not find the LineError")
	}
}

// TestFormatsDistinct: every format constant is distinct and only
// FormatUnknown is empty (callers switch on them).
func TestFormatsDistinct(t *testing.T) {
	all := []collectors.Format{collectors.FormatHubble, collectors.FormatHubbleLegacy, collectors.FormatCalicoFlowLog,
		collectors.FormatGoldmane, collectors.FormatGraph, collectors.FormatEmpty}
	seen := map[collectors.Format]bool{collectors.FormatUnknown: true}
	for _, f := range all {
		if seen[f] {
			t.Errorf("format %q repeated or empty", f)
		}
		seen[f] = true
	}
}
