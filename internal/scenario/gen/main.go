// Command gen writes the sample cluster scenario's Hubble flow files (see
// package scenario) into a directory:
//
//	go run ./internal/scenario/gen -out testdata/flows
//
// The output is deterministic: running it again gives byte-identical files.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/flowfence/flowfence/internal/scenario"
)

func main() {
	out := flag.String("out", "testdata/flows", "directory to write the scenario files into")
	flag.Parse()
	if err := scenario.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
