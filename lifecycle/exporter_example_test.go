package lifecycle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// Build the walkthrough's empty buildpack on the host and export it onto a
// run image: the image is returned unwritten, its layers already in the
// store for oci.Write.
func ExampleExporter() {
	root, _ := os.MkdirTemp("", "exporter-example")
	defer os.RemoveAll(root)
	buildpacks, _ := filepath.Abs("testdata/buildpacks")
	paths := lifecycle.HostPaths(filepath.Join(root, "layers"), filepath.Join(root, "workspace"), filepath.Join(root, "platform"), buildpacks)
	for _, d := range []string{paths.Layers.Host, paths.App.Host, paths.Platform.Host} {
		_ = os.MkdirAll(d, 0o755)
	}
	_ = os.WriteFile(filepath.Join(paths.App.Host, "index.js"), []byte("console.log('hi')\n"), 0o644)
	ctx := context.Background()

	built, err := (&lifecycle.Builder{
		Paths:  paths,
		Runner: lifecycle.ExecRunner{},
		Group:  lifecycle.Group{Group: []lifecycle.GroupEntry{{ID: "buildpacks/empty", Version: "0.0.1"}}},
		Env:    []string{"PATH=/usr/bin:/bin"},
	}).Run(ctx)
	if err != nil {
		fmt.Println("build:", err)
		return
	}

	store, _ := oci.OpenStore(filepath.Join(root, "store"))
	// A real build reads the run image with oci.Read.
	run := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, report, err := (&lifecycle.Exporter{
		RunImage: run,
		Layers:   lifecycle.Dir{Host: paths.Layers.Host, Container: "/layers"},
		App:      lifecycle.Dir{Host: paths.App.Host, Container: "/workspace"},
		UID:      1000,
		GID:      1000,
		Launcher: []byte("the launcher executable"),
		Store:    store,
		Out:      os.Stdout,
	}).Run(ctx, built)
	if err != nil {
		fmt.Println("export:", err, "exit", lifecycle.ExitCode(err))
		return
	}
	layers, _ := img.Layers()
	fmt.Println(len(layers), "layers; entrypoint", report.Entrypoint)
	// Output:
	// Adding 1/1 app layer(s)
	// Adding layer 'buildpacksio/lifecycle:launcher'
	// Adding layer 'buildpacksio/lifecycle:config'
	// Adding label 'io.buildpacks.lifecycle.metadata'
	// Adding label 'io.buildpacks.build.metadata'
	// Adding label 'io.buildpacks.project.metadata'
	// Warning: default process type 'web' not present in list []
	// 3 layers; entrypoint [/cnb/lifecycle/launcher]
}
