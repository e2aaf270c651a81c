// Command benchlearn runs flowfence's learn stage (pipeline.Learn: read,
// decode, learn) on flow files or stdin, with optional pprof profiles, and
// prints what it read and how fast: flows/s, MB/s, CPU time and peak RSS.
// It is the profiling harness behind `make bench` (hack/bench.sh).
//
//	go run ./internal/benchgen/cmd/benchgen -flows 1000000 | go run ./internal/benchgen/cmd/benchlearn -from - -cpuprofile cpu.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/pipeline"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchlearn:", err)
		os.Exit(1)
	}
}

// countingReader counts the bytes read from stdin.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readAll reads the (decompressed) input through input.Open and reports
// the rate.
func readAll(from string, stdin io.Reader, stdout io.Writer) error {
	start := time.Now()
	f, err := input.Open(from, stdin)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f.Reader())
	if err != nil {
		return err
	}
	wall := time.Since(start)
	fmt.Fprintf(stdout, "benchlearn: read %d bytes (gzip: %v) in %.2fs: %.1f MB/s of decompressed input\n", n, f.Gzip, wall.Seconds(), float64(n)/1e6/wall.Seconds())
	return nil
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchlearn", flag.ContinueOnError)
	from := fs.String("from", "-", "flow file, glob or - for stdin")
	workers := fs.Int("workers", 0, "decode workers (0 = all cores)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	memprofile := fs.String("memprofile", "", "write an allocation profile here")
	traceOut := fs.String("trace", "", "write an execution trace here (go tool trace: where the cores wait)")
	readOnly := fs.Bool("read-only", false, "only read (and gunzip) the input, as flowfence opens it: the I/O and decompression bound")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, r := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{{*cpuprofile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {*traceOut, trace.Start, trace.Stop}} {
		if r.path == "" {
			continue
		}
		f, err := os.Create(r.path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := r.start(f); err != nil {
			return err
		}
		defer r.stop()
	}
	in := &countingReader{r: stdin}
	if *readOnly {
		return readAll(*from, in, stdout)
	}
	var inBytes int64
	if *from != "-" {
		if st, err := os.Stat(*from); err == nil {
			inBytes = st.Size()
		}
	}
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	opts := pipeline.LearnOptions{Collect: collectors.Options{Stdin: in, Workers: *workers}}
	g, sum, err := pipeline.Learn(context.Background(), []string{*from}, opts, nil)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if *from == "-" {
		inBytes = in.n
	}
	cpu := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	used := cpu(after) - cpu(before)
	flows := sum.Input.FlowEvents
	fmt.Fprintf(stdout, "benchlearn: %d flow events (%d lines) in %.2fs wall, %.2fs CPU: %.0f flows/s, %.1f MB/s, %.0f flows per CPU-second; %d nodes, %d edges; peak RSS %d MB\n",
		flows, sum.Input.Lines, wall.Seconds(), used.Seconds(), float64(flows)/wall.Seconds(), float64(inBytes)/1e6/wall.Seconds(),
		float64(flows)/used.Seconds(), len(g.Nodes), len(g.Edges), after.Maxrss/1024)
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return nil
}
