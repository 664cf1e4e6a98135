package distribution_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// A buildpack is packaged as a .cnb file, a builder is made from the .cnb on
// a build image, and the builder is read back as kiln build reads one.
func ExampleCreateBuilder() {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "builder-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work) // also removes the layers written there
	write := func(name, content string) string {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			log.Fatal(err)
		}
		return p
	}
	write("hello/buildpack.toml", "api = \"0.10\"\n[buildpack]\nid = \"acme/hello\"\nversion = \"1.0.0\"\n")
	write("hello/bin/detect", "#!/bin/sh\n")
	write("hello/bin/build", "#!/bin/sh\necho hello\n")

	// kiln buildpack package hello.cnb --config hello/package.toml
	pkg, err := distribution.ReadPackageConfig(write("hello/package.toml", "[buildpack]\nuri = \".\"\n"))
	if err != nil {
		log.Fatal(err)
	}
	opts := []distribution.WriteOption{distribution.WithTempDir(work)}
	img, err := distribution.PackageBuildpack(ctx, pkg, opts...)
	if err != nil {
		log.Fatal(err)
	}
	if err := distribution.WriteCNB(ctx, img, filepath.Join(work, "hello.cnb")); err != nil {
		log.Fatal(err)
	}

	// kiln builder create REF --config builder.toml, on a build image with
	// a CNB user (here an empty one).
	cfg, err := distribution.ReadBuilderConfig(write("builder.toml", `
[[buildpacks]]
uri = "hello.cnb"
[[order]]
  [[order.group]]
  id = "acme/hello"
[[run.images]]
image = "registry.example/run:1"
`))
	if err != nil {
		log.Fatal(err)
	}
	build := buildImage([]string{"CNB_USER_ID=1000", "CNB_GROUP_ID=1000"})
	launcher := func(arch string) ([]byte, error) { return []byte("the launcher for " + arch), nil }
	builder, err := distribution.CreateBuilder(ctx, cfg, build, append(opts, distribution.WithLauncher(launcher), distribution.WithKilnLifecycle("0.1.0", nil))...)
	if err != nil {
		log.Fatal(err)
	}

	// kiln build --builder REF
	b, err := distribution.ReadBuilderImage(ctx, builder)
	if err != nil {
		log.Fatal(err)
	}
	run, _ := b.DefaultRunImage()
	fmt.Println("order:", b.Order[0].Group[0])
	fmt.Println("run image:", run.Image)
	fmt.Println("user:", b.UID, b.GID)
	ds, err := distribution.ExtractBuildpacks(ctx, builder, filepath.Join(work, "cnb", "buildpacks"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("laid out:", ds[0].FullName())
	// Output:
	// order: acme/hello@1.0.0
	// run image: registry.example/run:1
	// user: 1000 1000
	// laid out: acme/hello@1.0.0
}

// buildImage is a layerless linux/amd64 image with the given env.
func buildImage(env []string) v1.Image {
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.Env = "linux", "amd64", env
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		log.Fatal(err)
	}
	return img
}
