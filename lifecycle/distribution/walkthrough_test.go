package distribution

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestWalkthroughBuilder follows the walkthrough: the empty buildpack
// (API 0.2, bash scripts) packaged as buildpacks/empty.cnb, and the old-form
// builder.toml naming it.
func TestWalkthroughBuilder(t *testing.T) {
	dir := t.TempDir()
	fixture, err := os.ReadFile("testdata/walkthrough-builder.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := testutil.WriteFile(t, filepath.Join(dir, "builder.toml"), string(fixture))

	bpDir := filepath.Join(t.TempDir(), "empty")
	testutil.WriteFile(t, filepath.Join(bpDir, "bin/detect"), "#!/usr/bin/env bash\n\nset -e\n\necho \"---> Detecting Empty Buildpack\"\n")
	testutil.WriteFile(t, filepath.Join(bpDir, "bin/build"), "#!/usr/bin/env bash\n\nset -e\n\necho \"---> Building Empty Buildpack\"\necho \"---> Done\"\n")
	testutil.WriteFile(t, filepath.Join(bpDir, DescriptorFile), `# Buildpack API version
api = "0.2"

[buildpack]
id = "buildpacks/empty"
version = "0.0.1"
name = "Empty Buildpack"
homepage = "https://github.com/future-architect/"

[[stacks]]
id = "io.github.future-architect.samples.debian"
`)
	empty := fixtureBuildpack{id: "buildpacks/empty", version: "0.0.1"}
	writeCNB(t, filepath.Join(dir, "buildpacks", "empty.cnb"),
		buildpackage(t, empty, map[string]fixtureBuildpack{bpDir: empty}))

	cfg, err := ReadBuilderConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StackID() != "io.github.future-architect.samples.debian" || cfg.BuildImage() != "distroless:python-builder" ||
		len(cfg.RunImages()) != 1 || cfg.RunImages()[0].Image != "distroless:python" {
		t.Errorf("stack: id %q, build %q, run %v", cfg.StackID(), cfg.BuildImage(), cfg.RunImages())
	}
	var locators []string
	for _, b := range cfg.Buildpacks {
		locators = append(locators, b.Locator())
	}
	dst := filepath.Join(t.TempDir(), "cnb", "buildpacks")
	bps, err := FetchBuildpacks(context.Background(), locators, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range cfg.Order[0].Group {
		d, ok := bps.Lookup(g.ID, g.Version)
		if !ok {
			t.Fatalf("order names %s@%s, not laid out", g.ID, g.Version)
		}
		if d.API != "0.2" || d.Homepage != "https://github.com/future-architect/" ||
			d.Stacks[0].ID != "io.github.future-architect.samples.debian" {
			t.Errorf("descriptor = %+v", d)
		}
		for _, exe := range []string{"bin/detect", "bin/build"} {
			fi, err := os.Stat(filepath.Join(dst, "buildpacks_empty", "0.0.1", exe))
			if err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: %v, %v", exe, fi, err)
			}
		}
	}
}
