// Command benchgen writes cluster-scale synthetic flows (see package
// benchgen) to stdout or a file, for benchmarks:
//
//	go run ./internal/benchgen/cmd/benchgen -flows 10000000 | flowfence learn --from - --graph g.json
//	go run ./internal/benchgen/cmd/benchgen -format calico -flows 1000000 -out flows.log
//
// The output is deterministic for a given set of flags.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/flowfence/flowfence/internal/benchgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	d := benchgen.Default()
	fs := flag.NewFlagSet("benchgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "hubble", "hubble (exporter / observe -o jsonpb lines) or calico (Felix flows.log lines)")
	out := fs.String("out", "-", "file to write, - for stdout")
	gz := fs.Bool("gzip", false, "gzip the output")
	stats := fs.Bool("stats", false, "print the cluster's size (pods, edges) to stderr")
	fs.IntVar(&d.Namespaces, "namespaces", d.Namespaces, "namespaces")
	fs.IntVar(&d.Workloads, "workloads", d.Workloads, "workloads (spread over the namespaces)")
	fs.IntVar(&d.Replicas, "replicas", d.Replicas, "pods per workload")
	fs.IntVar(&d.Nodes, "nodes", d.Nodes, "cluster nodes")
	fs.IntVar(&d.Peers, "peers", d.Peers, "server workloads each workload calls")
	fs.Int64Var(&d.Flows, "flows", d.Flows, "flow lines to write")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "seed (same seed, same output)")
	shape := fs.String("calico-shape", "felix", "the Calico lines' fields: felix (all of Felix's flows.log fields, as Felix writes them) or short (the docs example's, plus the service and process fields)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *shape {
	case "felix":
		d.CalicoShape = benchgen.CalicoFelix
	case "short":
		d.CalicoShape = benchgen.CalicoShort
	default:
		return fmt.Errorf("-calico-shape %q: felix or short", *shape)
	}
	c, err := benchgen.NewCluster(d)
	if err != nil {
		return err
	}
	if *stats {
		fmt.Fprintf(stderr, "benchgen: %d namespaces, %d workloads, %d pods, %d nodes, %d edges, %d flows\n",
			d.Namespaces, d.Workloads, c.NumPods(), d.Nodes, c.NumEdges(), d.Flows)
	}
	var w io.Writer = stdout
	var fh *os.File
	if *out != "-" {
		if fh, err = os.Create(*out); err != nil {
			return err
		}
		defer fh.Close()
		w = fh
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	w = bw
	var zw *gzip.Writer
	if *gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	switch *format {
	case "hubble":
		err = c.WriteHubble(w, d.Flows)
	case "calico":
		err = c.WriteCalico(w, d.Flows)
	default:
		return fmt.Errorf("-format %q: hubble or calico", *format)
	}
	if err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if fh != nil {
		return fh.Close()
	}
	return nil
}
