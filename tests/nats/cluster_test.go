package nats

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowfence/flowfence/fleet/fleettest"
	"github.com/flowfence/flowfence/learner"
)

// bin is the flowfence binary built by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flowfence-nats-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "flowfence")
	out, err := exec.Command("go", "build", "-C", "../..", "-o", bin, "./cmd/flowfence").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build flowfence: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on now, below the
// kernel's ephemeral range: a server is given its port some time after
// this returns, and a port of the ephemeral range can meanwhile become
// the local end of any connection the other tests open (a node that
// cannot listen never gets ready).
func freePort(t *testing.T) int {
	t.Helper()
	low := 32768 // Linux's default start of the range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				low = n
			}
		}
	}
	for range 1000 {
		port := 1024 + rand.IntN(low-1024)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return 0
}

// serverLog keeps what a server says of its troubles (warnings, errors),
// for a test that fails because the server never got ready.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(level, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, v...))
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *serverLog) Noticef(string, ...any)         {}
func (l *serverLog) Debugf(string, ...any)          {}
func (l *serverLog) Tracef(string, ...any)          {}
func (l *serverLog) Warnf(format string, v ...any)  { l.add("warning", format, v...) }
func (l *serverLog) Errorf(format string, v ...any) { l.add("error", format, v...) }
func (l *serverLog) Fatalf(format string, v ...any) { l.add("fatal", format, v...) }

// cluster is a JetStream cluster of three servers on loopback.
type cluster struct {
	t       *testing.T
	opts    []*server.Options
	servers []*server.Server
}

// newCluster starts three JetStream servers routed to each other; edit
// adjusts every server's options (credentials, TLS).
func newCluster(t *testing.T, edit func(*server.Options)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	const n = 3
	ports, cports := make([]int, n), make([]int, n)
	for i := range n {
		ports[i], cports[i] = freePort(t), freePort(t)
	}
	var routes []string
	for _, p := range cports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: ports[i],
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "flowfence", Host: "127.0.0.1", Port: cports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		if edit != nil {
			edit(o)
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, nil)
	}
	for i := range n {
		c.start(i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	c.waitReady()
	return c
}

func (c *cluster) start(i int) {
	c.t.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	logs := &serverLog{}
	s.SetLogger(logs, false, false)
	go s.Start()
	// as long as waitReady waits for the cluster: on a loaded machine a
	// JetStream node has taken more than 10s to take connections
	if !s.ReadyForConnections(30 * time.Second) {
		c.t.Fatalf("server %d not ready after 30s; it said:\n%s", i+1, logs)
	}
	c.servers[i] = s
}

// stop shuts server i down (its store stays for a restart).
func (c *cluster) stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
	c.servers[i] = nil
}

// waitReady waits until JetStream has a meta leader (a stream can be made).
func (c *cluster) waitReady() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, s := range c.servers {
			if s != nil && !s.JetStreamIsCurrent() {
				ok = false
			}
		}
		if ok {
			for _, s := range c.servers {
				if s != nil && s.JetStreamIsLeader() {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatal("JetStream cluster has no leader after 30s")
}

// url is server i's client URL.
func (c *cluster) url(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// run runs the flowfence binary and fails the test on a non-zero exit.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runErr(args...)
	if err != nil {
		t.Fatalf("flowfence %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// refusal is a learn --publish the server must refuse: the flags it adds
// and what the error must say.
type refusal struct {
	name string
	args []string
	want string
}

// checkRefusals runs learn --publish url (graph g, cluster c1) with each
// refusal's flags as a subtest: learn must fail saying what it wants;
// check, when given, judges the output further.
func checkRefusals(t *testing.T, url, g string, cases []refusal, check func(t *testing.T, out string)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"learn", "--from", flows[0], "--graph", g, "--publish", url, "--cluster", "c1"}, tc.args...)
			out, err := runErr(args...)
			if err == nil {
				t.Fatalf("learn succeeded:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
			if check != nil {
				check(t, out)
			}
		})
	}
}

// start starts the flowfence binary in the background.
func start(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &buf
}

// kill9 kills cmd with SIGKILL and reaps it.
func kill9(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// readGraph reads a graph file.
func readGraph(t *testing.T, path string) *learner.Graph {
	t.Helper()
	g, err := learner.ReadGraphFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sameGraph fails unless got and want hold the same nodes, the same
// edges (learned and denied) with the same counts, first and last seen,
// the same unaddressed peers and stats: edge by edge, count by count.
func sameGraph(t *testing.T, what string, got, want *learner.Graph) {
	t.Helper()
	if len(want.Edges) == 0 {
		t.Fatalf("%s: the expected graph has no edges: the test proves nothing", what)
	}
	for _, set := range []struct {
		name      string
		got, want map[learner.EdgeKey]*learner.Edge
	}{{"edge", got.Edges, want.Edges}, {"denied", got.Denied, want.Denied}} {
		for k, w := range set.want {
			g := set.got[k]
			switch {
			case g == nil:
				t.Errorf("%s: %s %s missing", what, set.name, k)
			case g.Flows != w.Flows || g.Dropped != w.Dropped || g.Audit != w.Audit:
				t.Errorf("%s: %s %s: flows/dropped/audit %d/%d/%d, want %d/%d/%d", what, set.name, k, g.Flows, g.Dropped, g.Audit, w.Flows, w.Dropped, w.Audit)
			case !g.FirstSeen.Equal(w.FirstSeen) || !g.LastSeen.Equal(w.LastSeen):
				t.Errorf("%s: %s %s: seen %s..%s, want %s..%s", what, set.name, k, g.FirstSeen, g.LastSeen, w.FirstSeen, w.LastSeen)
			}
		}
		for k := range set.got {
			if set.want[k] == nil {
				t.Errorf("%s: %s %s not in the expected graph", what, set.name, k)
			}
		}
	}
	if fleettest.Text(t, got) != fleettest.Text(t, want) {
		t.Errorf("%s: the graphs differ (nodes, unaddressed, DNS or stats)", what)
	}
}

// streamInfo returns the stream's state as the server holds it.
func streamInfo(t *testing.T, url, name string, opts ...nats.Option) *jetstream.StreamInfo {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo()
}
