// Command benchlive measures the live path: a replay relay and a learner
// reading it over real gRPC on loopback, each in its own process, and the
// CPU time each of them spends (user+sys) for the flows of one window.
// CPU time, not wall time, is the figure: on a shared machine wall-clock
// flows/s says more about the neighbours than about flowfence. It prints
// flows per learner-CPU-second, per relay-CPU-second (serving only: the
// relay's CPU is read after it loaded the recording and again when the
// learner is done; the first run also pays for masking every event to the
// learner's field mask, which the relay keeps for the next runs) and per
// combined CPU-second; the live target (issue
// #20: 200k flows/s with relay and learner sharing two cores) is 100k
// flows per combined CPU-second.
//
// With -flowfence BIN the two processes are the flowfence binary itself
// (`flowfence relay` and `flowfence learn --from hubble://…`), as a user
// runs them. Without it they are this command in its relay and learner
// roles (the same packages: relay.Load/Serve, pipeline.Learn with the
// garbage collector's target flowfence learn sets, pipeline.LiveGC, and
// pipeline.WriteGraphFile), which can write CPU profiles of each side:
//
//	go run ./internal/benchgen/cmd/benchgen -flows 200000 -out /tmp/flows.jsonl
//	go run ./internal/benchgen/cmd/benchlive -from /tmp/flows.jsonl \
//	    -learner-cpuprofile learner.pprof -relay-cpuprofile relay.pprof
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/relay"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchlive:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchlive", flag.ContinueOnError)
	from := fs.String("from", "", "recorded Hubble JSON the relay serves (a file or glob)")
	ff := fs.String("flowfence", "", "run this flowfence binary as relay and learner (default: this command's own roles)")
	repeat := fs.Int("repeat", 1, "the relay serves the recording this many times back to back (times shifted, uuids made unique; own roles only)")
	runs := fs.Int("runs", 3, "learner runs against the one relay; the run with the least combined CPU is reported too")
	learnerProf := fs.String("learner-cpuprofile", "", "write the learner's CPU profile here (the last run's; own roles only)")
	relayProf := fs.String("relay-cpuprofile", "", "write the relay's CPU profile of its serving here (all runs; own roles only)")
	role := fs.String("role", "", "internal: relay or learner")
	addr := fs.String("addr", "", "internal: the relay's address")
	graph := fs.String("graph", "", "internal: the learner's graph file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *role {
	case "relay":
		return serveRelay(*from, *addr, *relayProf, *repeat)
	case "learner":
		return learn(*addr, *graph, *learnerProf)
	case "":
	default:
		return fmt.Errorf("-role %q: want relay or learner", *role)
	}
	if *from == "" {
		return errors.New("-from: no recording given")
	}
	if *ff != "" && (*learnerProf != "" || *relayProf != "" || *repeat != 1) {
		return errors.New("-learner-cpuprofile, -relay-cpuprofile, -repeat: only without -flowfence (the binary's own relay and learner)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchlive")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	var relayCmd *exec.Cmd
	if *ff != "" {
		relayCmd = exec.Command(*ff, "relay", "--quiet", "--from", *from, "--listen", listen)
	} else {
		relayCmd = exec.Command(self, "-role", "relay", "-from", *from, "-addr", listen, "-relay-cpuprofile", *relayProf, "-repeat", strconv.Itoa(*repeat))
	}
	relayCmd.Stderr = os.Stderr
	relayCmd.Stdout = os.Stderr
	loadStart := time.Now()
	if err := relayCmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- relayCmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = relayCmd.Process.Kill()
			<-exited
		}
	}()
	if err := waitListening(listen, exited, 10*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "benchlive: relay (pid %d) loaded %s in %.1fs, serving on %s; load average %s, %d runs\n",
		relayCmd.Process.Pid, *from, time.Since(loadStart).Seconds(), listen, loadavg(), *runs)
	type result struct {
		flows          uint64
		learner, relay time.Duration
		wall           time.Duration
	}
	var results []result
	for i := range *runs {
		g := filepath.Join(dir, "graph.json")
		var cmd *exec.Cmd
		if *ff != "" {
			cmd = exec.Command(*ff, "learn", "--from", "hubble://"+listen, "--graph", g, "--replace")
		} else {
			prof := ""
			if i == *runs-1 {
				prof = *learnerProf
			}
			cmd = exec.Command(self, "-role", "learner", "-addr", listen, "-graph", g, "-learner-cpuprofile", prof)
		}
		var errOut strings.Builder
		cmd.Stderr = &errOut
		cmd.Stdout = &errOut
		r0, err := procCPU(relayCmd.Process.Pid)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("learner: %w\n%s", err, errOut.String())
		}
		wall := time.Since(start)
		r1, err := procCPU(relayCmd.Process.Pid)
		if err != nil {
			return err
		}
		flows, err := flowsLearned(errOut.String())
		if err != nil {
			return err
		}
		res := result{flows: flows, wall: wall, relay: r1 - r0,
			learner: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
		results = append(results, res)
		report(stdout, fmt.Sprintf("run %d", i+1), res.flows, res.learner, res.relay, res.wall)
	}
	_ = relayCmd.Process.Signal(syscall.SIGTERM)
	stopped = true
	if err := <-exited; err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	best := slices.MinFunc(results, func(a, b result) int { return int(a.learner + a.relay - b.learner - b.relay) })
	report(stdout, "best", best.flows, best.learner, best.relay, best.wall)
	// the median of each figure over the runs (per flow, as runs may
	// learn different counts): on a shared machine one run, even the
	// best, says little about a change of a few percent
	median := func(of func(result) time.Duration) time.Duration {
		per := make([]float64, len(results))
		for i, r := range results {
			per[i] = float64(of(r)) / float64(r.flows)
		}
		slices.Sort(per)
		m := (per[(len(per)-1)/2] + per[len(per)/2]) / 2
		return time.Duration(m * float64(best.flows))
	}
	report(stdout, "median", best.flows,
		median(func(r result) time.Duration { return r.learner }),
		median(func(r result) time.Duration { return r.relay }),
		median(func(r result) time.Duration { return r.wall }))
	return nil
}

func report(w io.Writer, name string, flows uint64, learner, relayCPU, wall time.Duration) {
	per := func(d time.Duration) float64 { return float64(flows) / d.Seconds() }
	fmt.Fprintf(w, "benchlive: %-6s %d flows, CPU learner %.2fs relay %.2fs: %.0f flows/learner-CPU-s, %.0f flows/relay-CPU-s, %.0f flows/combined-CPU-s (target ≥ 100000); wall %.2fs (%.0f flows/s)\n",
		name, flows, learner.Seconds(), relayCPU.Seconds(), per(learner), per(relayCPU), per(learner+relayCPU), wall.Seconds(), per(wall))
}

// flowsLearned reads the flow count from the learner's summary (the
// `live:` line of `flowfence learn`, or the own role's line).
func flowsLearned(out string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "             N flows, M resent flows dropped, …" (flowfence learn)
		// "benchlive-learner: N flows" (own role)
		for i := 0; i+1 < len(f); i++ {
			if f[i+1] == "flows," || (f[i+1] == "flows" && i == 1 && f[0] == "benchlive-learner:") {
				if n, err := strconv.ParseUint(f[i], 10, 64); err == nil {
					return n, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("learner: no flow count in its output:\n%s", out)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

// waitListening waits until addr accepts connections (the relay loaded
// its recording), or the relay exits.
func waitListening(addr string, exited chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err // for whoever waits next
			return fmt.Errorf("relay exited before serving: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("relay not serving on %s after %s", addr, limit)
}

// procCPU is the user+sys CPU time a running process has used so far
// (/proc/PID/stat, in clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// the fields after the command name (which may hold spaces) in parentheses
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * (time.Second / 100), nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// serveRelay is the relay role: load the recording, then serve it (as
// `flowfence relay --pace fast` does; repeated, as Recording.Repeat makes
// it) until SIGTERM, profiling the serving.
func serveRelay(from, addr, prof string, repeat int) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rec, err := relay.Load(ctx, []string{from}, collectors.Options{})
	if err == nil && repeat > 1 {
		rec, err = rec.Repeat(repeat)
	}
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	stopProfile, err := cpuProfile(prof)
	if err != nil {
		return err
	}
	defer stopProfile()
	return relay.Serve(ctx, lis, relay.New(rec, relay.Options{}), nil)
}

// learn is the learner role: `flowfence learn --from hubble://ADDR --graph
// GRAPH --replace` without the command line.
func learn(addr, graph, prof string) error {
	stop, err := cpuProfile(prof)
	if err != nil {
		return err
	}
	defer stop()
	g, sum, err := pipeline.Learn(context.Background(), []string{"hubble://" + addr},
		pipeline.LearnOptions{Live: pipeline.LiveOptions{GCPercent: pipeline.LiveGC()}}, nil)
	if err != nil {
		return err
	}
	if err := pipeline.WriteGraphFile(graph, g); err != nil {
		return err
	}
	fmt.Printf("benchlive-learner: %d flows, %d edges\n", sum.Input.FlowEvents, len(g.Edges))
	return nil
}

// cpuProfile starts a CPU profile into path ("" for none) and returns
// what stops it.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
