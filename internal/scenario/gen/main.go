// Command gen writes the sample cluster scenario's Hubble flow files (see
// package scenario) into a directory:
//
//	go run ./internal/scenario/gen -out testdata/flows
//
// With -inventory FILE it also writes the cluster inventory (what kubectl
// get … -A -o json prints, with the silent workloads no flow shows):
//
//	go run ./internal/scenario/gen -out testdata/flows -inventory testdata/inventory/sample.json
//
// With -ciliumendpoints FILE it also writes the cluster's CiliumEndpoints
// (what kubectl get ciliumendpoints -A -o json prints; one pod has none):
//
//	go run ./internal/scenario/gen -out testdata/flows -ciliumendpoints testdata/inventory/sample-ciliumendpoints.json
//
// The output is deterministic: running it again gives byte-identical files.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowfence/flowfence/internal/scenario"
)

func main() {
	out := flag.String("out", "testdata/flows", "directory to write the scenario files into")
	inv := flag.String("inventory", "", "also write the scenario's cluster inventory (kubectl -o json List) to this file")
	ceps := flag.String("ciliumendpoints", "", "also write the scenario's CiliumEndpoints (kubectl -o json List) to this file")
	flag.Parse()
	if err := scenario.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for path, render := range map[string]func() ([]byte, error){*inv: scenario.Inventory, *ceps: scenario.CiliumEndpoints} {
		if path == "" {
			continue
		}
		if err := writeFile(path, render); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

func writeFile(path string, render func() ([]byte, error)) error {
	data, err := render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
