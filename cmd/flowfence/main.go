// Command flowfence learns the flows a CNI recorded and writes the network
// policies that admit exactly them. All logic lives in the library packages;
// this is only the process entry point.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/cli/root"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// the first signal ends a live window cleanly (the graph and the tree
	// are still written); a second one kills at once
	go func() { <-ctx.Done(); stop() }()
	cmd := root.NewCommand(flags.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "flowfence:", msg)
		}
		stop()
		os.Exit(exitCode(err))
	}
}

// exitCode maps a command's error to the process exit code: the code of a
// flags.ExitError (3 = verify/diff found something), else 1.
func exitCode(err error) int { return flags.Code(err) }
