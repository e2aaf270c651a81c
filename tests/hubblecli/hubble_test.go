package hubblecli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
)

// root is the flowfence repository (this module sits in tests/hubblecli).
var root = filepath.Join("..", "..")

// build builds a main package into a temp dir, in dir's module, skipping
// only when the module proxy cannot be reached. The Go build cache keeps
// the builds warm across runs.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := string(out)
		for _, offline := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "network is unreachable"} {
			if strings.Contains(msg, offline) {
				t.Skipf("cannot build %s offline (the module proxy is unreachable): %v\n%s", pkg, err, msg)
			}
		}
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(100*time.Millisecond))
	return bin
}

type tools struct{ hubble, flowfence string }

func buildTools(t *testing.T) tools {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the Hubble CLI from cilium's module (minutes with a cold build cache)")
	}
	return tools{
		hubble:    build(t, ".", "github.com/cilium/cilium/hubble", "hubble"),
		flowfence: build(t, root, "./cmd/flowfence", "flowfence"),
	}
}

var listening = regexp.MustCompile(`, on (127\.0\.0\.1:\d+) \(`)

// startRelay runs `flowfence relay` on a free loopback port and returns
// its address.
func startRelay(t *testing.T, ff string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ff, append([]string{"relay", "--from", filepath.Join(root, "testdata", "flows", "*.json*"), "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("flowfence relay ended without serving")
		}
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("flowfence relay did not start")
	}
	return ""
}

// run runs a binary and returns stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// flowKeys are the flows of Hubble JSON lines as "node time uuid", sorted,
// within [since, until] when set.
func flowKeys(t *testing.T, jsonLines string, since, until time.Time) []string {
	t.Helper()
	var keys []string
	sc := bufio.NewScanner(strings.NewReader(jsonLines))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var resp observerpb.GetFlowsResponse
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(line, &resp); err != nil || resp.GetFlow() == nil {
			continue // lost_events, node_status, legacy lines (handled below)
		}
		f := resp.GetFlow()
		at := f.GetTime().AsTime()
		if (!since.IsZero() && at.Before(since)) || (!until.IsZero() && at.After(until)) {
			continue
		}
		keys = append(keys, f.GetNodeName()+" "+at.UTC().Format(time.RFC3339Nano)+" "+f.GetUuid())
	}
	sort.Strings(keys)
	return keys
}

// recorded are the sample's flows as the relay serves them: JSON lines
// from `flowfence relay`'s own view (hubble observe --all against it is
// what is tested, so read the files here independently).
func recorded(t *testing.T, since, until time.Time) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "testdata", "flows", "*.json*"))
	var b strings.Builder
	for _, f := range files {
		data, err := readMaybeGzip(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			b.WriteString(wrapLegacy(line))
			b.WriteByte('\n')
		}
	}
	return flowKeys(t, b.String(), since, until)
}

// wrapLegacy turns a legacy bare-flow line into the {"flow":…} shape.
func wrapLegacy(line string) string {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(line), &top) != nil {
		return line
	}
	if _, ok := top["flow"]; ok {
		return line
	}
	if _, ok := top["lost_events"]; ok {
		return line
	}
	if _, ok := top["node_status"]; ok {
		return line
	}
	return `{"flow":` + line + `}`
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	diff := "one is a prefix of the other"
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			diff = got[i] + " vs " + want[i]
			break
		}
	}
	t.Errorf("%s: hubble printed %d flows, the recording has %d (first difference: %s)", what, len(got), len(want), diff)
}

// TestHubbleCLI runs the real Hubble CLI against `flowfence relay`.
func TestHubbleCLI(t *testing.T) {
	tl := buildTools(t)
	t.Run("observe", func(t *testing.T) { testObserve(t, tl) })
	t.Run("mTLS", func(t *testing.T) { testMTLS(t, tl) })
}

func testObserve(t *testing.T, tl tools) {
	addr := startRelay(t, tl.flowfence, "--buffer-size", "4095")
	first := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	last := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)

	// the whole recording
	out := run(t, tl.hubble, "observe", "--server", addr, "--since", first.Format(time.RFC3339), "--until", last.Format(time.RFC3339), "-o", "json")
	same(t, "--since/--until over the recording", flowKeys(t, out, time.Time{}, time.Time{}), recorded(t, time.Time{}, time.Time{}))

	// flowfence learns from hubble's output what it learns from the files
	dir := t.TempDir()
	printed := filepath.Join(dir, "observe.json")
	if err := os.WriteFile(printed, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	g1, g2 := filepath.Join(dir, "from-hubble.json"), filepath.Join(dir, "from-files.json")
	run(t, tl.flowfence, "learn", "--quiet", "--from", printed, "--graph", g1)
	run(t, tl.flowfence, "learn", "--quiet", "--from", filepath.Join(root, "testdata", "flows", "*.json*"), "--graph", g2)
	if a, b := edgesOf(t, g1), edgesOf(t, g2); a != b {
		t.Errorf("graph learned from hubble's output differs from the files':\n%s\nvs\n%s", a, b)
	}

	// a window
	mid := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	out = run(t, tl.hubble, "observe", "--server", addr, "--since", mid.Format(time.RFC3339), "--until", mid.Add(2*time.Hour).Format(time.RFC3339), "-o", "json")
	same(t, "a two-hour window", flowKeys(t, out, time.Time{}, time.Time{}), recorded(t, mid, mid.Add(2*time.Hour)))

	// the last N, a namespace filter, the status
	if got := flowKeys(t, run(t, tl.hubble, "observe", "--server", addr, "--last", "7", "-o", "json"), time.Time{}, time.Time{}); len(got) != 7 {
		t.Errorf("--last 7: %d flows", len(got))
	}
	out = run(t, tl.hubble, "observe", "--server", addr, "--since", first.Format(time.RFC3339), "--namespace", "shop", "-o", "json")
	shop := flowKeys(t, out, time.Time{}, time.Time{})
	if len(shop) == 0 || len(shop) >= len(recorded(t, time.Time{}, time.Time{})) {
		t.Errorf("--namespace shop: %d flows", len(shop))
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, `"flow"`) && !strings.Contains(line, `"namespace":"shop"`) {
			t.Fatalf("--namespace shop printed a flow neither from nor to shop: %.300s", line)
		}
	}
	// field masks (--field-mask): each flow printed is the whole flow
	// with only the fields named
	window := []string{"observe", "--server", addr, "--since", first.Format(time.RFC3339), "--until", last.Format(time.RFC3339), "-o", "jsonpb"}
	paths := []string{"uuid", "time", "source.namespace", "source.pod_name", "l4.TCP.destination_port", "node_name"}
	whole := flowObjects(t, run(t, tl.hubble, window...))
	masked := flowObjects(t, run(t, tl.hubble, append(window, "--field-mask", strings.Join(paths, ","))...))
	if len(masked) != len(whole) || len(whole) < 100 {
		t.Fatalf("--field-mask: %d flows, %d without", len(masked), len(whole))
	}
	for i := range whole {
		want := map[string]any{}
		for _, p := range paths {
			project(want, whole[i], strings.Split(p, "."))
		}
		if !reflect.DeepEqual(masked[i], want) {
			t.Fatalf("--field-mask %s, flow %d:\n got  %v\n want %v", strings.Join(paths, ","), i, masked[i], want)
		}
	}

	status := run(t, tl.hubble, "status", "--server", addr)
	if !strings.Contains(status, "Current/Max Flows") || !strings.Contains(status, "3/3") {
		t.Errorf("hubble status:\n%s", status)
	}
}

// testMTLS: the CLI's TLS flags against the relay's mTLS.
func testMTLS(t *testing.T, tl tools) {
	p := newPKI(t)
	addr := startRelay(t, tl.flowfence, "--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey, "--tls-client-ca-files", p.ca)
	out := run(t, tl.hubble, "observe", "--server", addr, "--tls", "--tls-ca-cert-files", p.ca,
		"--tls-client-cert-file", p.clientCert, "--tls-client-key-file", p.clientKey, "--tls-server-name", serverName, "--last", "3", "-o", "json")
	if got := flowKeys(t, out, time.Time{}, time.Time{}); len(got) != 3 {
		t.Errorf("over mTLS: %d flows, want 3\n%s", len(got), out)
	}
}

// edgesOf summarises a flowfence graph file: edges with counts and stats.
func edgesOf(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Stats map[string]any `json:"stats"`
		Edges []struct {
			Src, Dst, Proto string
			Port            int
			Flows           int
		} `json:"edges"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "%s -> %s %s/%d flows=%d\n", e.Src, e.Dst, e.Proto, e.Port, e.Flows)
	}
	st, _ := json.Marshal(g.Stats)
	return b.String() + string(st)
}

// flowObjects are the flows of hubble observe -o jsonpb output, decoded.
func flowObjects(t *testing.T, out string) []map[string]any {
	t.Helper()
	var flows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Flow map[string]any `json:"flow"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%v: %.300s", err, line)
		}
		if ev.Flow != nil {
			flows = append(flows, ev.Flow)
		}
	}
	return flows
}

// project copies the field at path of src into dst, with the messages
// on the way (those src has).
func project(dst, src map[string]any, path []string) {
	v, ok := src[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		dst[path[0]] = v
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return
	}
	d, ok := dst[path[0]].(map[string]any)
	if !ok {
		d = map[string]any{}
		dst[path[0]] = d
	}
	project(d, sub, path[1:])
}
