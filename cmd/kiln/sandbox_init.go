package main

import (
	"fmt"
	"os"

	"github.com/kilnbuild/kiln/sandbox"
)

// The sandbox re-executes kiln inside containers (libcontainer's init, the
// container's PID 1 and its zygotes). That must be caught before anything
// else looks at the command line: package main's init runs after every
// imported package's and before main, so before cobra.
func init() {
	sandbox.Init()
	// In a builder, kiln is the lifecycle: /cnb/lifecycle/creator and the
	// other phases are links to it (lifecycle.go).
	if code, ok := lifecycleMain(os.Args, os.Stdout, os.Stderr, os.Environ()); ok {
		os.Exit(code)
	}
	if startsManyContainers(os.Args[1:]) {
		// Seal the binary once rather than once per container.
		if err := sandbox.Preseal(); err != nil {
			fmt.Fprintln(os.Stderr, "WARNING:", err)
		}
	}
}

// startsManyContainers reports whether the command line is one that starts
// a container per phase (kiln build). A wrong guess costs only time.
func startsManyContainers(args []string) bool {
	for _, a := range args {
		if a == "build" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
}
