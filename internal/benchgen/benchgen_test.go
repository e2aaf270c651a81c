package benchgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// capture is the real Felix flows.log line the Calico lines are shaped
// after (a copy of ../shared/captures/calico-flowlogs/, see SOURCES.md
// there: tigera-cs/observability-clinic).
const capture = "testdata/felix-flows-log-deny.jsonl"

// members returns a JSON object's keys in order and the kind of each
// value (string, number, null, array, object, bool).
func members(t *testing.T, line []byte) ([]string, map[string]string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	kinds := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, line)
		}
		k := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		keys = append(keys, k)
		switch v.(type) {
		case nil:
			kinds[k] = "null"
		case []any:
			kinds[k] = "array"
		case map[string]any:
			kinds[k] = "object"
		default:
			kinds[k] = fmt.Sprintf("%T", v)
		}
	}
	return keys, kinds
}

func calicoLines(t *testing.T, shape CalicoShape) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCalico(&buf, Spec{Namespaces: 3, Workloads: 30, Replicas: 2, Nodes: 3, Peers: 3, Flows: 500, Seed: 2, CalicoShape: shape}); err != nil {
		t.Fatal(err)
	}
	var ls [][]byte
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		ls = append(ls, slices.Clone(sc.Bytes()))
	}
	if len(ls) != 500 {
		t.Fatalf("%d lines, want 500", len(ls))
	}
	return ls
}

// TestCalicoFelixShape: the Felix-shaped lines have the captured line's
// members, in its order and with values of the same kinds, followed by
// the host and @timestamp fluentd adds; the short lines keep a subset,
// in the same order.
func TestCalicoFelixShape(t *testing.T) {
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	if shared, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "captures", "calico-flowlogs", filepath.Base(capture))); err == nil && !bytes.Equal(shared, raw) {
		t.Errorf("%s is not a copy of the shared capture", capture)
	}
	wantKeys, wantKinds := members(t, bytes.TrimSpace(raw))
	wantKeys = append(wantKeys, "host", "@timestamp")
	wantKinds["host"], wantKinds["@timestamp"] = "string", "json.Number"
	for i, l := range calicoLines(t, CalicoFelix) {
		keys, kinds := members(t, l)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("line %d: members\n%q\nwant (the capture's)\n%q", i+1, keys, wantKeys)
		}
		for _, k := range keys {
			// endpoints and ports are null or not as the traffic has it
			if kinds[k] != wantKinds[k] && k != "source_port" && k != "dest_port" && k != "dest_labels" {
				t.Errorf("line %d: %s is a %s, the capture's a %s", i+1, k, kinds[k], wantKinds[k])
			}
		}
	}
	short := calicoLines(t, CalicoShort)
	keys, _ := members(t, short[0])
	if len(keys) >= len(wantKeys) || !isSubsequence(keys, wantKeys) {
		t.Errorf("short line's members %q are not fewer members of the Felix line, in order", keys)
	}
}

func isSubsequence(sub, of []string) bool {
	i := 0
	for _, s := range of {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

func TestSpecValidateShape(t *testing.T) {
	s := Default()
	s.CalicoShape = CalicoShort + 1
	if err := s.Validate(); err == nil {
		t.Error("an unknown Calico shape is valid")
	}
}
