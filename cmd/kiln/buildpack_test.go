package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

// TestBuildpackPackageAndBuilderCreate packages the hello buildpack as a
// .cnb and as a layout image, makes a builder from the .cnb on the busybox
// stack, and reads the builder back.
func TestBuildpackPackageAndBuilderCreate(t *testing.T) {
	if _, err := launcherBinary("amd64"); err != nil {
		testutil.Skip(t, err.Error())
	}
	ctx := context.Background()
	e := newBuildEnv(t)
	write := func(name, content string) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkg := write("package.toml", "[buildpack]\nuri = \""+filepath.Join(pkgDir, "testdata", "buildpacks", "hello")+"\"\n")

	cnbOut, errOut, code := e.kiln(t, "buildpack", "package", "hello.cnb", "--config", pkg)
	if code != 0 {
		t.Fatalf("kiln buildpack package hello.cnb: exit %d\n%s", code, errOut)
	}
	imgOut, errOut, code := e.kiln(t, "buildpack", "package", "oci:pkgs:hello", "--config", pkg)
	if code != 0 {
		t.Fatalf("kiln buildpack package oci:pkgs:hello: exit %d\n%s", code, errOut)
	}
	if cnbOut != imgOut || !strings.HasPrefix(cnbOut, "sha256:") {
		t.Errorf("digests %q (.cnb) and %q (layout): want the same", cnbOut, imgOut)
	}
	testutil.SameAcrossModes(t, "buildpack package hello", strings.TrimSpace(cnbOut))

	cfg := write("builder.toml", `description = "hello builder"
[[buildpacks]]
uri = "hello.cnb"
[[order]]
  [[order.group]]
  id = "example/hello"
[stack]
id = "io.github.future-architect.samples.debian"
build-image = "oci:stack:build"
run-image = "oci:stack:run"
`)
	out, errOut, code := e.kiln(t, "builder", "create", "oci:builder", "--config", cfg)
	if code != 0 {
		t.Fatalf("kiln builder create: exit %d\n%s", code, errOut)
	}
	ref, err := oci.ParseReference("oci:builder")
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.Read(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	if h, _ := img.Digest(); h.String() != strings.TrimSpace(out) {
		t.Errorf("printed %q, wrote %s", out, h)
	}
	b, err := distribution.ReadBuilderImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	// The local run image is recorded in kiln's label only: pack cannot read
	// "oci:stack:run", and kiln warns that pack cannot use the builder.
	if len(b.Order) != 1 || b.Order[0].Group[0].String() != "example/hello@0.0.1" || len(b.RunImages) != 0 || b.LocalRunImage != "oci:stack:run" {
		t.Errorf("order %v, run images %v, local run image %q", b.Order, b.RunImages, b.LocalRunImage)
	}
	if !strings.Contains(errOut, "has no registry name") {
		t.Errorf("no warning that pack cannot use the builder:\n%s", errOut)
	}
	if b.Metadata.CreatedBy.Name != "kiln" || b.Metadata.CreatedBy.Version != version {
		t.Errorf("createdBy %+v", b.Metadata.CreatedBy)
	}
	// The lifecycle is kiln's, with exactly the API versions kiln implements.
	if lc := b.Metadata.Lifecycle; lc.Version != version || !cmp.Equal(lc.APIs, distribution.KilnAPIs) ||
		lc.API.Platform != api.Platform.Min.String() || lc.API.Buildpack != api.Buildpack.Min.String() {
		t.Errorf("lifecycle %+v, want kiln %s with %+v", lc, version, distribution.KilnAPIs)
	}

	testutil.SameAcrossModes(t, "builder create hello", strings.TrimSpace(out))
	again, errOut, code := e.kiln(t, "builder", "create", "oci:builder:again", "--config", cfg)
	if code != 0 || again != out {
		t.Errorf("second builder: exit %d, digest %q, first %q\n%s", code, again, out, errOut)
	}

	// The round trip: build from that builder image alone (its buildpacks
	// come from its layers), then run the result. The image equals the one
	// built from builder.toml with the buildpack directory.
	bout, errOut, code := e.kiln(t, "build", "oci:out:from-builder", "--builder", "oci:builder", "--path", e.app)
	if code != 0 {
		t.Fatalf("kiln build --builder oci:builder: exit %d\n%s\n%s", code, bout, errOut)
	}
	got, errOut, code := e.kiln(t, "run", "oci:out:from-builder", "z")
	if code != 0 || got != "app: tool says hi args=z\n" {
		t.Errorf("running the image built from the builder: exit %d, %q\n%s", code, got, errOut)
	}
	direct := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	dout, errOut, code := e.kiln(t, "build", "oci:out:from-toml", "--builder", direct, "--path", e.app)
	if code != 0 {
		t.Fatalf("kiln build --builder builder.toml: exit %d\n%s", code, errOut)
	}
	if id := imagesLine(bout); id == "" || id != imagesLine(dout) {
		t.Errorf("built from the builder image: %q; from builder.toml: %q; want the same image", id, imagesLine(dout))
	}

	_, errOut, code = e.kiln(t, "builder", "create", "oci:bad", "--config", write("bad.toml", "[[buildpacks]]\nuri = \"hello.cnb\"\nfoo = 1\n"))
	if code == 0 || !strings.Contains(errOut, `"buildpacks.foo"`) {
		t.Errorf("unknown key: exit %d\n%s", code, errOut)
	}
}

// imagesLine is the "*** Images (…)" line of kiln build's output.
func imagesLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "*** Images (") {
			return l
		}
	}
	return ""
}
