package distribution_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// A platform reads builder.toml and lays the buildpacks out as a builder
// holds them, before the phases run.
func Example() {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "platform-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	// A buildpack directory and a builder.toml naming it by a relative path.
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			log.Fatal(err)
		}
	}
	write("bp/buildpack.toml", "api = \"0.10\"\n[buildpack]\nid = \"acme/hello\"\nversion = \"1.0.0\"\n", 0o644)
	write("bp/bin/detect", "#!/bin/sh\nexit 0\n", 0o755)
	write("bp/bin/build", "#!/bin/sh\necho hello\n", 0o755)
	write("builder.toml", `
[[buildpacks]]
uri = "bp"
[[order]]
  [[order.group]]
  id = "acme/hello"
[build]
image = "registry.example/build:1"
[[run.images]]
image = "registry.example/run:1"
`, 0o644)
	cfg, err := distribution.ReadBuilderConfig(filepath.Join(work, "builder.toml"))
	if err != nil {
		log.Fatal(err)
	}
	var locators []string
	for _, b := range cfg.Buildpacks {
		locators = append(locators, b.Locator())
	}
	bps, err := distribution.FetchBuildpacks(ctx, locators, filepath.Join(work, "cnb", "buildpacks"))
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range cfg.Order[0].Group {
		d, ok := bps.Lookup(g.ID, g.Version) // the version may be left out
		fmt.Println(g.ID, "→", d.Version, ok, "laid out in", filepath.Base(filepath.Dir(d.Dir)))
	}

	fmt.Println("run image:", cfg.RunImages()[0].Image)
	// Output:
	// acme/hello → 1.0.0 true laid out in acme_hello
	// run image: registry.example/run:1
}
