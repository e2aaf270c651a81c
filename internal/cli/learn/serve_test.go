package learn_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// buildBinary builds cmd/flowfence once into a temporary directory: the
// tests below run the learner as the cluster does, a process that can be
// killed.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs processes: not with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "flowfence")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/flowfence/flowfence/cmd/flowfence")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a flowfence process whose stderr is watched for a line.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	errb bytes.Buffer
	done chan struct{}
	err  error
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.errb.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.String()
}

// find waits for re to match stderr and returns its first group.
func (p *proc) find(re *regexp.Regexp) string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stderr()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before printing %s:\n%s", p.cmd.Args[1], p.err, re, p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("%s did not print %s:\n%s", p.cmd.Args[1], re, p.stderr())
	return ""
}

func (p *proc) wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.t.Fatalf("%s still running after %s:\n%s", p.cmd.Args[1], d, p.stderr())
		return nil
	}
}

var (
	relayAddr = regexp.MustCompile(`on (127\.0\.0\.1:\d+) \(plaintext`)
	serveAddr = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics with Prometheus' own text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v\n%s", err, body)
	}
	return mfs
}

// value is the sum of a family's samples whose labels include want.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum, found
}

// eventually polls cond every 50ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, d, last)
}

func readGraph(t *testing.T, doc string) *learner.Graph {
	t.Helper()
	g, err := learner.ReadGraph("graph", strings.NewReader(doc))
	if err != nil {
		t.Fatalf("read graph: %v", err)
	}
	return g
}

// TestServeKillResume runs the learner as the chart does (learn --follow
// --graph FILE --listen) against `flowfence relay` replaying the sample
// in real time: probes and metrics answer over HTTP, a kill -9 mid-stream
// loses nothing saved, the restarted process resumes from the
// checkpoint's cursor, and once the replay is over its graph counts every
// flow once (equal to a one-shot learn of the whole buffer); relay gone,
// /readyz fails; SIGTERM writes the graph and exits 0.
func TestServeKillResume(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	graph := filepath.Join(dir, "graph.json")
	// the sample spans a day: at 20000× it replays in about 4.3 s
	const speed = 20000
	rel := start(t, bin, "relay", "--from", relaytest.SampleGlob(), "--listen", "127.0.0.1:0", "--pace", "realtime", "--speed", fmt.Sprint(speed))
	addr := rel.find(relayAddr)
	relayStart := time.Now() // the replay starts when the relay serves
	// --since the recording's start: the first window reads what the relay
	// released before it connected, then follows
	args := []string{"learn", "--from", "hubble://" + addr, "--follow", "--since", "2026-11-15T00:00:00Z", "--graph", graph, "--listen", "127.0.0.1:0", "--checkpoint-interval", "300ms"}

	a := start(t, bin, args...)
	base := "http://" + a.find(serveAddr)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	source := map[string]string{"source": "hubble://" + addr}
	eventually(t, 20*time.Second, "first learner ready and checkpointed", func() (bool, string) {
		code, body := get(t, base+"/readyz")
		mfs := scrape(t, base)
		up, _ := value(mfs, "flowfence_source_connected", source)
		cps, _ := value(mfs, "flowfence_checkpoints_total", nil)
		learned, _ := value(mfs, "flowfence_records_learned_total", nil)
		last, _ := value(mfs, "flowfence_last_checkpoint_timestamp_seconds", nil)
		return code == http.StatusOK && up == 1 && cps >= 2 && learned > 0 && last > float64(relayStart.Unix()-1),
			fmt.Sprintf("readyz %d %q connected=%v checkpoints=%v learned=%v", code, body, up, cps, learned)
	})
	if code, body := get(t, base+"/graph"); code != http.StatusOK || !strings.Contains(body, `"cursors"`) {
		t.Fatalf("/graph: %d, want the checkpoint with its cursors:\n%.300s", code, body)
	}
	// kill -9 mid-replay: only the checkpoints survive
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.wait(10 * time.Second)
	b, err := os.ReadFile(graph)
	if err != nil {
		t.Fatalf("no checkpoint after kill -9: %v", err)
	}
	saved := readGraph(t, string(b))
	if len(saved.Cursors) != 1 || saved.Stats.Learned == 0 {
		t.Fatalf("checkpoint: %d cursors, %d learned; want the relay's cursor and flows", len(saved.Cursors), saved.Stats.Learned)
	}

	bproc := start(t, bin, args...)
	base = "http://" + bproc.find(serveAddr)
	// the reference: everything the relay holds once the replay is over,
	// learned in one window
	time.Sleep(time.Until(relayStart.Add(24*time.Hour/speed + time.Second)))
	ref := filepath.Join(dir, "ref.json")
	refRun := start(t, bin, "learn", "--from", "hubble://"+addr, "--graph", ref, "--quiet")
	if err := refRun.wait(30 * time.Second); err != nil {
		t.Fatalf("reference learn: %v\n%s", err, refRun.stderr())
	}
	rb, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := readGraph(t, string(rb))
	if saved.Stats.Learned >= want.Stats.Learned {
		t.Logf("the kill came after the replay (%d of %d flows saved): the resume is still checked, but not mid-stream", saved.Stats.Learned, want.Stats.Learned)
	}
	eventually(t, 20*time.Second, "restarted learner caught up", func() (bool, string) {
		code, body := get(t, base+"/graph")
		if code != http.StatusOK {
			return false, fmt.Sprintf("/graph %d", code)
		}
		g := readGraph(t, body)
		return g.Stats.Learned == want.Stats.Learned && len(g.Edges) == len(want.Edges),
			fmt.Sprintf("learned %d of %d, %d of %d edges", g.Stats.Learned, want.Stats.Learned, len(g.Edges), len(want.Edges))
	})
	mfs := scrape(t, base)
	if v, _ := value(mfs, "flowfence_graph_records", map[string]string{"kind": "learned"}); v != float64(want.Stats.Learned) {
		t.Errorf("flowfence_graph_records{kind=learned} = %v, want %d", v, want.Stats.Learned)
	}
	if v, _ := value(mfs, "flowfence_graph_edges", nil); v != float64(len(want.Edges)) {
		t.Errorf("flowfence_graph_edges = %v, want %d", v, len(want.Edges))
	}
	if v, ok := value(mfs, "flowfence_records_skipped_total", source); !ok || v == 0 {
		t.Errorf("flowfence_records_skipped_total{source}: %v (present %v); the sample has skipped events", v, ok)
	}

	// the relay gone: not ready, reconnects counted
	rel.cmd.Process.Kill()
	_ = rel.wait(10 * time.Second)
	eventually(t, 20*time.Second, "not ready without the relay", func() (bool, string) {
		code, body := get(t, base+"/readyz")
		rc, _ := value(scrape(t, base), "flowfence_reconnects_total", source)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "not connected: hubble://"+addr) && rc >= 1,
			fmt.Sprintf("readyz %d %q reconnects %v", code, body, rc)
	})
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d while the relay is away: the process is alive", code)
	}

	// SIGTERM: the graph is written, the exit status is 0
	if err := bproc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := bproc.wait(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, bproc.stderr())
	}
	b, err = os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	final := readGraph(t, string(b))
	if final.Stats.Learned != want.Stats.Learned || len(final.Edges) != len(want.Edges) || final.Stats.Requests != want.Stats.Requests {
		t.Errorf("graph after SIGTERM: %d learned, %d requests, %d edges; want %d, %d, %d (each flow once)",
			final.Stats.Learned, final.Stats.Requests, len(final.Edges), want.Stats.Learned, want.Stats.Requests, len(want.Edges))
	}
}
