package hubblerelay_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/relay"
	"github.com/flowfence/flowfence/relay/relaytest"
)

// benchRelayEnv makes the test binary a replay relay (for benchmarks that
// measure the client's CPU apart from the server's).
const benchRelayEnv = "FLOWFENCE_BENCH_RELAY_COPIES"

func TestMain(m *testing.M) {
	if s := os.Getenv(benchRelayEnv); s != "" {
		os.Exit(serveBenchRelay(s))
	}
	os.Exit(m.Run())
}

// serveBenchRelay serves the sample repeated `copies` times on a free
// loopback port, prints the address, and serves until stdin closes.
func serveBenchRelay(copies string) int {
	n, err := strconv.Atoi(copies)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rec, err := relay.Load(context.Background(), []string{relaytest.SampleGlob()}, collectors.Options{})
	if err == nil {
		rec, err = rec.Repeat(n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv := relay.New(rec, relay.Options{})
	ready := rusage()
	fmt.Printf("%s %d\n", lis.Addr(), rec.Len())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = bufio.NewReader(os.Stdin).ReadString('\n'); cancel() }()
	if err := relay.Serve(ctx, lis, srv, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// the CPU the serving took, and the events it sent
	fmt.Printf("%d %d\n", rusage()-ready, srv.Sent())
	return 0
}

// BenchmarkLiveLearn learns every flow of a loopback replay relay (the
// sample repeated 100 times: 261,400 flows) running in another process on
// the same machine, and reports flows/s and the client's own CPU time per
// flow (getrusage of this process: receive, decode, convert, learn).
func BenchmarkLiveLearn(b *testing.B) {
	copies := "100"
	if testing.Short() {
		copies = "10"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchRelayEnv+"="+copies)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, err := out.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(line)
	addr := f[0]
	n, _ := strconv.Atoi(copies)
	total := n * sampleFlows // flows the learner gets (others are skipped events)
	var flows uint64
	var cpu, wall time.Duration
	b.ResetTimer()
	for b.Loop() {
		src, err := hubblerelay.New("hubble://"+addr, hubblerelay.Options{})
		if err != nil {
			b.Fatal(err)
		}
		l := learner.New(learner.Options{})
		var st collectors.Stats
		before := rusage()
		start := time.Now()
		if err := src.Run(context.Background(), &st, func(r *record.Record) error { l.Add(r); return nil }); err != nil {
			b.Fatal(err)
		}
		g := l.Graph()
		wall += time.Since(start)
		cpu += rusage() - before
		flows += st.FlowEvents
		if st.FlowEvents != uint64(total) || len(g.Edges) == 0 {
			b.Fatalf("%d flows learned of %d", st.FlowEvents, total)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(flows)/wall.Seconds(), "flows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(flows), "client-cpu-ns/flow")
	stdin.Close()
	if line, err := out.ReadString('\n'); err == nil {
		var srvCPU, sent int64
		if _, err := fmt.Sscan(line, &srvCPU, &sent); err == nil && sent > 0 {
			b.ReportMetric(float64(srvCPU)/float64(sent), "relay-cpu-ns/event")
		}
	}
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
