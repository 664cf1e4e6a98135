package main

import (
	"os"

	"github.com/kilnbuild/kiln/sandbox"
)

// The sandbox re-executes kiln as the init of its containers. That must be
// caught before anything else looks at the command line: package main's
// init runs after every imported package's and before main, so before
// cobra.
func init() {
	sandbox.Init()
	// In a builder, kiln is the lifecycle: /cnb/lifecycle/creator and the
	// other phases are links to it (lifecycle.go).
	if code, ok := lifecycleMain(os.Args, os.Stdout, os.Stderr, os.Environ()); ok {
		os.Exit(code)
	}
}
