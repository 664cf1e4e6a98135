// Command kiln turns application source into a container image with Cloud
// Native Buildpacks, without a Docker daemon, without root and without the
// network.
//
// main is wiring only: it creates a signal-cancelled context, builds the
// cobra command tree and maps typed errors to exit codes (see exit.go).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return exitCode(cmd.ErrOrStderr(), err)
}
