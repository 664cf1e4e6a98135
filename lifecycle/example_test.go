package lifecycle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/lifecycle"
)

// Detect and build the walkthrough's empty buildpack on the host.
func Example() {
	root, _ := os.MkdirTemp("", "lifecycle-example")
	defer os.RemoveAll(root)
	buildpacks, _ := filepath.Abs("testdata/buildpacks")
	paths := lifecycle.HostPaths(filepath.Join(root, "layers"), filepath.Join(root, "workspace"), filepath.Join(root, "platform"), buildpacks)
	for _, d := range []string{paths.Layers.Host, paths.App.Host, paths.Platform.Host} {
		_ = os.MkdirAll(d, 0o755)
	}
	ctx := context.Background()

	detected, err := (&lifecycle.Detector{
		Paths:  paths,
		Runner: lifecycle.ExecRunner{},
		Order:  lifecycle.Order{{Group: []lifecycle.GroupEntry{{ID: "buildpacks/empty", Version: "0.0.1"}}}},
		Target: lifecycle.TargetData{OS: "linux", Arch: "amd64"},
		Env:    []string{"PATH=/usr/bin:/bin"},
	}).Run(ctx)
	if err != nil {
		fmt.Println("detect:", err, "exit", lifecycle.ExitCode(err))
		return
	}
	for _, bp := range detected.Group.Group {
		fmt.Println("detected", bp.ID, bp.Version)
	}

	built, err := (&lifecycle.Builder{
		Paths:  paths,
		Runner: lifecycle.ExecRunner{},
		Group:  detected.Group,
		Plan:   detected.Plan,
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stdout: os.Stdout,
	}).Run(ctx)
	if err != nil {
		fmt.Println("build:", err, "exit", lifecycle.ExitCode(err))
		return
	}
	fmt.Println("processes:", len(built.Metadata.Processes))
	// Output:
	// detected buildpacks/empty 0.0.1
	// ---> Building Empty Buildpack
	// ---> Done
	// processes: 0
}
