package hubblerelay_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

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

// serveBenchRelay serves the sample repeated `copies` times ("empty:N":
// N empty GetFlows responses) on a free loopback port, prints the address,
// and serves until stdin closes.
func serveBenchRelay(copies string) int {
	var rec *relay.Recording
	var err error
	if empty, ok := strings.CutPrefix(copies, "empty:"); ok {
		var n int
		if n, err = strconv.Atoi(empty); err == nil {
			rec, err = relay.NewRecording(slices.Repeat([]*observerpb.GetFlowsResponse{{}}, n))
		}
	} else {
		var n int
		if n, err = strconv.Atoi(copies); err == nil {
			rec, err = relay.Load(context.Background(), []string{relaytest.SampleGlob()}, collectors.Options{})
		}
		if err == nil {
			rec, err = rec.Repeat(n)
		}
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

// startBenchRelay starts this test binary as a replay relay of copies
// (see serveBenchRelay) and returns its address and what stops it and
// reads the relay's CPU nanoseconds per event sent.
func startBenchRelay(b *testing.B, copies string) (addr string, stop func() (cpuPerEvent float64)) {
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
	line, err := out.ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		b.Fatal(err)
	}
	return strings.Fields(line)[0], func() float64 {
		stdin.Close()
		defer func() { _ = cmd.Wait() }()
		var srvCPU, sent int64
		if line, err := out.ReadString('\n'); err == nil {
			if _, err := fmt.Sscan(line, &srvCPU, &sent); err == nil && sent > 0 {
				return float64(srvCPU) / float64(sent)
			}
		}
		return 0
	}
}

// countCodec receives messages without decoding them: it counts them.
type countCodec struct{ proto encoding.CodecV2 }

// counted is what a countCodec receives into.
type counted struct{ msgs, bytes int }

func (c countCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c countCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if n, ok := v.(*counted); ok {
		n.msgs++
		n.bytes += data.Len()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (countCodec) Name() string { return "proto" }

// BenchmarkReceiveFloor is gRPC's own cost per message on this machine,
// the floor under BenchmarkLiveLearn: a loopback replay relay in another
// process streams 261,400 events that the client receives and only
// counts (no decoding, no learning), with the dial options of a live
// source. "empty": empty GetFlows responses (the cost per message alone);
// "flows": the sample's events (as BenchmarkLiveLearn receives them).
func BenchmarkReceiveFloor(b *testing.B) {
	for _, c := range []struct{ name, copies string }{
		{"empty", "empty:261400"},
		{"flows", "100"},
	} {
		b.Run(c.name, func(b *testing.B) {
			addr, stop := startBenchRelay(b, c.copies)
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithReadBufferSize(256<<10), grpc.WithInitialWindowSize(4<<20), grpc.WithInitialConnWindowSize(16<<20))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := observerpb.NewObserverClient(conn)
			var msgs, bytes int
			var cpu, wall time.Duration
			for b.Loop() {
				before, start := rusage(), time.Now()
				stream, err := client.GetFlows(context.Background(), &observerpb.GetFlowsRequest{Number: math.MaxUint64},
					grpc.ForceCodecV2(countCodec{proto: encoding.GetCodecV2("proto")}))
				if err != nil {
					b.Fatal(err)
				}
				var n counted
				for {
					if err := stream.RecvMsg(&n); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				wall += time.Since(start)
				cpu += rusage() - before
				msgs += n.msgs
				bytes += n.bytes
			}
			b.StopTimer()
			b.ReportMetric(float64(msgs)/wall.Seconds(), "msgs/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(msgs), "client-cpu-ns/msg")
			b.ReportMetric(float64(bytes)/float64(msgs), "bytes/msg")
			b.ReportMetric(stop(), "relay-cpu-ns/event")
		})
	}
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
	addr, stop := startBenchRelay(b, copies)
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
	b.ReportMetric(stop(), "relay-cpu-ns/event")
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
