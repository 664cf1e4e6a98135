package distribution

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// fakeLauncher stands for the launcher binary cmd/kiln embeds.
func fakeLauncher(arch string) ([]byte, error) { return []byte("launcher for " + arch), nil }

// builderFixture packages the fixture buildpacks and writes a builder.toml
// naming the package, with an order whose first entry leaves the version
// out.
func builderFixture(t *testing.T, extra string) *BuilderConfig {
	t.Helper()
	a, b, meta := fixtureSet(t)
	dir := t.TempDir()
	packageTo(t, &PackageConfig{Buildpack: PackageModule{URI: meta},
		Dependencies: []PackageModule{{URI: a}, {URI: b}}}, filepath.Join(dir, "meta.cnb"))
	path := testutil.WriteFile(t, filepath.Join(dir, "builder.toml"), `
description = "a test builder"
[[buildpacks]]
uri = "meta.cnb"
[[order]]
  [[order.group]]
  id = "acme/meta"
[[order]]
  [[order.group]]
  id = "acme/b"
  version = "2.0.0"
  optional = true
[build]
image = "build-image"
  [[build.env]]
  name = "JAVA_OPTS"
  value = "-Xmx1g"
  suffix = "append"
  delim = " "
[[run.images]]
image = "example.com/run:1"
mirrors = ["mirror.example.com/run:1"]
[[run.images]]
image = "example.com/run-alt:1"
`+extra)
	cfg, err := ReadBuilderConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func createTestBuilder(t *testing.T, cfg *BuilderConfig, build v1.Image) v1.Image {
	t.Helper()
	img, err := CreateBuilder(context.Background(), cfg, build, WithLauncher(fakeLauncher), WithKilnLifecycle("9.9.9-test", nil), WithTempDir(t.TempDir()),
		WithCreator("kiln", "test"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestCreateBuilder(t *testing.T) {
	ctx := context.Background()
	cfg := builderFixture(t, "")
	build := testBuildImage(t, testStack())
	img := createTestBuilder(t, cfg, build)

	if mt, err := img.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s, %v: the build image's kind should be kept", mt, err)
	}
	labels := configLabels(t, img)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.WorkingDir != "/layers" || cf.Config.User != "1000:1000" || labels[StackIDLabel] != "io.kiln.test" {
		t.Errorf("working dir %q, user %q, stack %q", cf.Config.WorkingDir, cf.Config.User, labels[StackIDLabel])
	}

	runImages := []RunImage{{Image: "example.com/run:1", Mirrors: []string{"mirror.example.com/run:1"}}, {Image: "example.com/run-alt:1"}}
	fixture := func(id, version string) ModuleInfo { return ModuleInfo{ID: id, Version: version, Name: "Fixture"} }
	wantMD := BuilderMetadata{
		Description: "a test builder",
		// pack's order: builder.toml's, a package's main buildpack before
		// the others it holds (sorted).
		Buildpacks: []ModuleInfo{fixture("acme/meta", "0.1.0"), fixture("acme/a", "1.0.0"), fixture("acme/b", "2.0.0")},
		Stack:      StackMetadata{RunImage: runImages[0]},
		Lifecycle: LifecycleMetadata{Version: "9.9.9-test",
			API: LifecycleAPI{Buildpack: "0.2", Platform: "0.7"},
			APIs: LifecycleAPIs{
				Buildpack: APIVersions{Deprecated: []string{}, Supported: []string{"0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "0.10", "0.11", "0.12"}},
				Platform:  APIVersions{Deprecated: []string{}, Supported: []string{"0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14"}},
			}},
		CreatedBy: CreatorMetadata{Name: "kiln", Version: "test"},
		Images:    runImages,
	}
	var md BuilderMetadata
	if err := json.Unmarshal([]byte(labels[BuilderMetadataLabel]), &md); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantMD, md); diff != "" {
		t.Errorf("%s (-want +got):\n%s", BuilderMetadataLabel, diff)
	}
	if got, want := labels[BuildpackOrderLabel], `[{"group":[{"id":"acme/meta"}]},{"group":[{"id":"acme/b","version":"2.0.0","optional":true}]}]`; got != want {
		t.Errorf("%s = %s, want the order as written: %s", BuildpackOrderLabel, got, want)
	}
	if got := labels[MixinsLabel]; got != "null" {
		t.Errorf("%s = %s", MixinsLabel, got)
	}
	// The extension labels pack writes on a builder without extensions.
	if got := labels[ExtensionLayersLabel]; got != "{}" {
		t.Errorf("%s = %q, want {} as pack writes it", ExtensionLayersLabel, got)
	}
	if got, ok := labels[OrderExtensionsLabel]; got != "null" || !ok {
		t.Errorf("%s = %q (present %v), want null as pack writes it", OrderExtensionsLabel, got, ok)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := build.Layers()
	added := layers[len(baseLayers):]
	if len(added) != 6 {
		t.Fatalf("%d layers added, want dirs, lifecycle, 3 buildpacks, config", len(added))
	}
	checkDirsLayer(t, added[0])
	checkLifecycleLayer(t, added[1], "amd64")
	var bpLayers LayersMetadata
	if err := json.Unmarshal([]byte(labels[BuildpackLayersLabel]), &bpLayers); err != nil {
		t.Fatal(err)
	}
	for i, bp := range []struct {
		id, version string
		composite   bool
	}{{"acme/a", "1.0.0", false}, {"acme/b", "2.0.0", false}, {"acme/meta", "0.1.0", true}} {
		l := added[2+i]
		if got, want := mustDiffID(t, l).String(), bpLayers[bp.id][bp.version].LayerDiffID; got != want {
			t.Errorf("layer %d diffID %s, label says %s for %s", 2+i, got, want, bp.id)
		}
		if diff := cmp.Diff(wantBuildpackLayer(bp.id, bp.version, bp.composite), describe(t, layerHeaders(t, l))); diff != "" {
			t.Errorf("layer of %s (-want +got):\n%s", bp.id, diff)
		}
	}
	checkConfigLayer(t, added[5])

	t.Run("read back", func(t *testing.T) {
		b, err := ReadBuilderImage(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		want := &BuilderImage{
			Metadata: wantMD,
			Order: Order{{Group: []ModuleRef{{ID: "acme/meta", Version: "0.1.0"}}},
				{Group: []ModuleRef{{ID: "acme/b", Version: "2.0.0", Optional: true}}}},
			RunImages:  runImages,
			StackID:    "io.kiln.test",
			UID:        1000,
			GID:        1000,
			Env:        cf.Config.Env,
			User:       "1000:1000",
			Platform:   v1.Platform{OS: "linux", Architecture: "amd64"},
			Distro:     Distro{Name: "debian", Version: "12"},
			Buildpacks: bpLayers,
			Extensions: LayersMetadata{},
		}
		if diff := cmp.Diff(want, b); diff != "" {
			t.Errorf("ReadBuilderImage (-want +got):\n%s", diff)
		}
		dst := t.TempDir()
		ds, err := ExtractBuildpacks(ctx, img, dst)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 3 {
			t.Errorf("%d buildpacks extracted", len(ds))
		}
		checkLaidOut(t, dst, fixtureBuildpack{id: "acme/a", version: "1.0.0"})
		checkLaidOut(t, dst, fixtureBuildpack{id: "acme/b", version: "2.0.0"})
	})
	t.Run("reproducible", func(t *testing.T) {
		again := createTestBuilder(t, builderFixture(t, ""), testBuildImage(t, testStack()))
		if digest(t, img) != digest(t, again) {
			t.Errorf("digests %s and %s", digest(t, img), digest(t, again))
		}
	})
	t.Run("through a layout", func(t *testing.T) {
		ref, err := oci.ParseReference("oci:" + filepath.Join(t.TempDir(), "builder"))
		if err != nil {
			t.Fatal(err)
		}
		h, err := oci.Write(ctx, ref, img)
		if err != nil {
			t.Fatal(err)
		}
		read, err := oci.Read(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if h != digest(t, img) || digest(t, read) != h {
			t.Errorf("written %s, read %s, built %s", h, digest(t, read), digest(t, img))
		}
		if _, err := ReadBuilderImage(ctx, read); err != nil {
			t.Error(err)
		}
	})
}

func checkDirsLayer(t *testing.T, l v1.Layer) {
	t.Helper()
	var got []string
	for _, h := range layerHeaders(t, l) {
		got = append(got, fmt.Sprintf("%s %o %d:%d", h.Name, h.Mode, h.UID, h.GID))
	}
	want := []string{"/workspace 755 1000:1000", "/layers 755 1000:1000", "/cnb 755 0:0", "/cnb/buildpacks 755 0:0",
		"/cnb/extensions 755 0:0", "/platform 755 0:0", "/platform/env 755 0:0", "/cnb/build-config 755 0:0",
		"/cnb/build-config/env 755 0:0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dirs layer (-want +got):\n%s", diff)
	}
}

func checkLifecycleLayer(t *testing.T, l v1.Layer, arch string) {
	t.Helper()
	want := []header{
		{Name: "/cnb/lifecycle", Mode: 0o755, Type: tar.TypeDir},
		{Name: "/cnb/lifecycle/launcher", Mode: 0o755, Type: tar.TypeReg, Body: "launcher for " + arch},
		{Name: "/lifecycle", Mode: 0o644, Type: tar.TypeSymlink, Linkname: "/cnb/lifecycle"}, // pack's mode
	}
	if diff := cmp.Diff(want, layerHeaders(t, l)); diff != "" {
		t.Errorf("lifecycle layer (-want +got):\n%s", diff)
	}
}

func checkConfigLayer(t *testing.T, l v1.Layer) {
	t.Helper()
	files := map[string]string{}
	for _, h := range layerHeaders(t, l) {
		if h.Type != tar.TypeReg || h.Mode != 0o644 || h.UID != 0 {
			t.Errorf("%s: %+v", h.Name, h)
		}
		files[h.Name] = h.Body
	}
	want := map[string]string{
		"/cnb/order.toml": `[[order]]

  [[order.group]]
    id = "acme/meta"
    version = "0.1.0"

[[order]]

  [[order.group]]
    id = "acme/b"
    version = "2.0.0"
    optional = true
`,
		"/cnb/stack.toml": `[run-image]
  image = "example.com/run:1"
  mirrors = ["mirror.example.com/run:1"]
`,
		"/cnb/run.toml": `[[images]]
  image = "example.com/run:1"
  mirrors = ["mirror.example.com/run:1"]

[[images]]
  image = "example.com/run-alt:1"
`,
		"/cnb/build-config/env/JAVA_OPTS.append": "-Xmx1g",
		"/cnb/build-config/env/JAVA_OPTS.delim":  " ",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("configuration layer (-want +got):\n%s", diff)
	}
}

func TestCreateBuilderErrors(t *testing.T) {
	stack := testStack()
	stack.withBox = false
	noUser := stack
	noUser.env = []string{"PATH=/bin", "CNB_GROUP_ID=1000"}
	arm := stack
	arm.arch = "arm64"
	otherStack := stack
	otherStack.labels = map[string]string{StackIDLabel: "io.other"}

	dir := t.TempDir()
	jammy := filepath.Join(dir, "jammy")
	testutil.WriteFile(t, filepath.Join(jammy, DescriptorFile), "api = \"0.10\"\n[buildpack]\nid = \"acme/jammy\"\nversion = \"1\"\n[[stacks]]\nid = \"jammy\"\n")
	oldAPI := filepath.Join(dir, "old")
	testutil.WriteFile(t, filepath.Join(oldAPI, DescriptorFile), "api = \"0.1\"\n[buildpack]\nid = \"acme/old\"\nversion = \"1\"\n")

	for _, tc := range []struct {
		name  string
		stack stackImage
		extra string // appended to the fixture builder.toml
		edit  func(*BuilderConfig)
		want  error
	}{
		{name: "no CNB_USER_ID", stack: noUser, want: ErrInvalidBuildImage},
		{name: "order names a missing buildpack", stack: stack, extra: "[[order]]\n[[order.group]]\nid = \"acme/nope\"\n", want: ErrInvalidConfig},
		{name: "order names a missing version", stack: stack, extra: "[[order]]\n[[order.group]]\nid = \"acme/a\"\nversion = \"9\"\n", want: ErrInvalidConfig},
		{name: "no target for the build image", stack: arm, want: ErrIncompatible},
		{name: "stack id differs", stack: stack, extra: "[stack]\nid = \"io.elsewhere\"\n", want: ErrInvalidBuildImage},
		{name: "buildpack stack unsupported", stack: otherStack,
			edit: func(c *BuilderConfig) { c.Buildpacks = append(c.Buildpacks, ModuleConfig{URI: jammy}) }, want: ErrIncompatible},
		{name: "buildpack API unsupported", stack: stack,
			edit: func(c *BuilderConfig) { c.Buildpacks = append(c.Buildpacks, ModuleConfig{URI: oldAPI}) }, want: ErrIncompatible},
		{name: "lifecycle from the network", stack: stack, extra: "[lifecycle]\nuri = \"https://example.com/lifecycle.tgz\"\n", want: ErrInvalidConfig},
		{name: "composite without its buildpacks", stack: stack, edit: func(c *BuilderConfig) {
			_, _, meta := fixtureSet(t)
			c.Buildpacks = []ModuleConfig{{URI: meta}}
			c.Order = nil
		}, want: ErrInvalidConfig},
		{name: "no run image", stack: stack, edit: func(c *BuilderConfig) { c.Run.Images = nil }, want: ErrInvalidConfig},
		{name: "wrong id in builder.toml", stack: stack, edit: func(c *BuilderConfig) { c.Buildpacks[0].ID = "acme/other" }, want: ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := builderFixture(t, tc.extra)
			if tc.edit != nil {
				tc.edit(cfg)
			}
			_, err := CreateBuilder(context.Background(), cfg, testBuildImage(t, tc.stack), WithLauncher(fakeLauncher), WithKilnLifecycle("9.9.9-test", nil),
				WithTempDir(t.TempDir()))
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			t.Log(err)
			if err != nil && !strings.Contains(err.Error(), "builder.toml") {
				t.Errorf("error %q does not name the configuration", err)
			}
		})
	}
}

func TestCreateBuilderLifecycleArchive(t *testing.T) {
	dir := t.TempDir()
	entries := []tarEntry{
		{name: "lifecycle.toml", typeflag: tar.TypeReg, mode: 0o644, body: "[apis]\n[apis.buildpack]\ndeprecated = []\nsupported = [\"0.7\", \"0.10\", \"0.11\"]\n" +
			"[apis.platform]\ndeprecated = []\nsupported = [\"0.13\", \"0.14\"]\n[lifecycle]\nversion = \"0.20.1\"\n"},
		{name: "lifecycle/", typeflag: tar.TypeDir, mode: 0o755},
	}
	for _, b := range lifecycleBinaries {
		entries = append(entries, tarEntry{name: "lifecycle/" + b, typeflag: tar.TypeReg, mode: 0o700, body: "#!" + b})
	}
	src := filepath.Join(dir, "src")
	for _, e := range entries {
		if e.typeflag == tar.TypeReg {
			testutil.WriteFile(t, filepath.Join(src, e.name), e.body)
		}
	}
	writeTgz(t, filepath.Join(dir, "lifecycle.tgz"), src, "")
	cfg := builderFixture(t, "[lifecycle]\nuri = \""+filepath.Join(dir, "lifecycle.tgz")+"\"\n")
	stack := testStack()
	stack.withBox = false
	img := createTestBuilder(t, cfg, testBuildImage(t, stack))
	b, err := ReadBuilderImage(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	want := LifecycleMetadata{Version: "0.20.1", API: LifecycleAPI{Buildpack: "0.7", Platform: "0.13"},
		APIs: LifecycleAPIs{Buildpack: APIVersions{Deprecated: []string{}, Supported: []string{"0.7", "0.10", "0.11"}},
			Platform: APIVersions{Deprecated: []string{}, Supported: []string{"0.13", "0.14"}}}}
	if diff := cmp.Diff(want, b.Metadata.Lifecycle); diff != "" {
		t.Errorf("lifecycle (-want +got):\n%s", diff)
	}
	layers, _ := img.Layers()
	var got []string
	for _, h := range layerHeaders(t, layers[2]) { // base, dirs, lifecycle
		got = append(got, fmt.Sprintf("%s %o", h.Name, h.Mode))
	}
	wantEntries := []string{"/cnb/lifecycle 755"}
	for _, b := range lifecycleBinaries {
		wantEntries = append(wantEntries, "/cnb/lifecycle/"+b+" 755")
	}
	wantEntries = append(wantEntries, "/lifecycle 644")
	if diff := cmp.Diff(wantEntries, got); diff != "" {
		t.Errorf("lifecycle layer (-want +got):\n%s", diff)
	}

	t.Run("not a lifecycle", func(t *testing.T) {
		writeTgz(t, filepath.Join(dir, "bad.tgz"), filepath.Join(src, "lifecycle"), "lifecycle")
		cfg := builderFixture(t, "[lifecycle]\nuri = \""+filepath.Join(dir, "bad.tgz")+"\"\n")
		_, err := CreateBuilder(context.Background(), cfg, testBuildImage(t, stack), WithTempDir(t.TempDir()))
		if !errors.Is(err, ErrInvalidLifecycle) {
			t.Errorf("error %v, want %v", err, ErrInvalidLifecycle)
		}
	})
}

func TestCreateBuilderExtensionsAndSystem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	extDir := filepath.Join(dir, "ext")
	testutil.WriteFile(t, filepath.Join(extDir, ExtensionDescriptorFile),
		"api = \"0.10\"\n[extension]\nid = \"acme/ext\"\nversion = \"0.1.0\"\n")
	testutil.WriteFile(t, filepath.Join(extDir, "bin/generate"), "#!/bin/sh\n")
	// The extension goes through an extension package on its way.
	if _, err := func() (v1.Image, error) {
		img, err := PackageBuildpack(ctx, &PackageConfig{Extension: PackageModule{URI: extDir}}, WithTempDir(t.TempDir()))
		if err == nil {
			err = WriteCNB(ctx, img, filepath.Join(dir, "ext.cnb"))
		}
		return img, err
	}(); err != nil {
		t.Fatal(err)
	}
	cfg := builderFixture(t, "[[extensions]]\nuri = \""+filepath.Join(dir, "ext.cnb")+"\"\n"+
		"[[order-extensions]]\n[[order-extensions.group]]\nid = \"acme/ext\"\n"+
		"[system]\n[[system.pre.buildpacks]]\nid = \"acme/a\"\n")
	stack := testStack()
	stack.withBox = false
	img := createTestBuilder(t, cfg, testBuildImage(t, stack))
	labels := configLabels(t, img)
	if got, want := labels[OrderExtensionsLabel], `[{"group":[{"id":"acme/ext"}]}]`; got != want {
		t.Errorf("%s = %s, want %s", OrderExtensionsLabel, got, want)
	}
	if got, want := labels[SystemLabel], `{"pre":{"buildpacks":[{"id":"acme/a","version":"1.0.0"}]},"post":{}}`; got != want {
		t.Errorf("%s = %s, want %s", SystemLabel, got, want)
	}
	b, err := ReadBuilderImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Order{{Group: []ModuleRef{{ID: "acme/ext", Version: "0.1.0"}}}}, b.OrderExtensions); diff != "" {
		t.Errorf("extension order (-want +got):\n%s", diff)
	}
	if len(b.Metadata.Extensions) != 1 || b.Extensions["acme/ext"]["0.1.0"].LayerDiffID == "" {
		t.Errorf("extensions %+v, layers %+v", b.Metadata.Extensions, b.Extensions)
	}
	layers, _ := img.Layers()
	config := layerHeaders(t, layers[len(layers)-1])
	files := map[string]string{}
	for _, h := range config {
		files[h.Name] = h.Body
	}
	if !strings.Contains(files["/cnb/order.toml"], "[[order-extensions]]") ||
		files["/cnb/system.toml"] != "[system]\n  [system.pre]\n\n    [[system.pre.buildpacks]]\n      id = \"acme/a\"\n      version = \"1.0.0\"\n  [system.post]\n" {
		t.Errorf("order.toml:\n%s\nsystem.toml:\n%s", files["/cnb/order.toml"], files["/cnb/system.toml"])
	}
	ext := layerHeaders(t, layers[len(layers)-2])
	if ext[0].Name != "/cnb/extensions/acme_ext" || ext[1].Name != "/cnb/extensions/acme_ext/0.1.0" {
		t.Errorf("extension layer starts %s, %s", ext[0].Name, ext[1].Name)
	}
	dst := t.TempDir()
	if _, err := ExtractBuildpacks(ctx, img, dst, AsExtensions()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.Tree(t, filepath.Join(dst, "acme_ext", "0.1.0"))["bin/generate"]; got != "-rwxr-xr-x #!/bin/sh\n" {
		t.Errorf("bin/generate laid out as %q", got)
	}
}

// The builder metadata lists buildpacks in builder.toml's order, as pack
// does, not sorted.
func TestCreateBuilderListsBuildpacksInConfigOrder(t *testing.T) {
	a, b, _ := fixtureSet(t)
	dir := t.TempDir()
	path := testutil.WriteFile(t, filepath.Join(dir, "builder.toml"), `
[[buildpacks]]
uri = "`+b+`"
[[buildpacks]]
uri = "`+a+`"
[[order]]
  [[order.group]]
  id = "acme/a"
[build]
image = "build-image"
[[run.images]]
image = "example.com/run:1"
`)
	cfg, err := ReadBuilderConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	img := createTestBuilder(t, cfg, testBuildImage(t, testStack()))
	bi, err := ReadBuilderImage(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range bi.Metadata.Buildpacks {
		got = append(got, m.ID)
	}
	if want := []string{"acme/b", "acme/a"}; !cmp.Equal(got, want) {
		t.Errorf("metadata buildpacks %v, want builder.toml's order %v", got, want)
	}
}

// A run image with only a kiln-local name is recorded in kiln's own label:
// the names pack reads stay registry names (pack refuses "oci:stack:run"),
// a registry mirror standing in for the local name when there is one.
func TestCreateBuilderLocalRunImage(t *testing.T) {
	ctx := context.Background()
	a, _, _ := fixtureSet(t)
	for _, tc := range []struct {
		name, run    string
		wantRecorded []RunImage
	}{
		{"local only", `image = "oci:stack:run"`, nil},
		{"local with a registry mirror", `image = "oci:stack:run"
mirrors = ["docker-archive:run.tar", "registry.example/run:1", "mirror.example/run:1"]`,
			[]RunImage{{Image: "registry.example/run:1", Mirrors: []string{"mirror.example/run:1"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := testutil.WriteFile(t, filepath.Join(t.TempDir(), "builder.toml"), `
[[buildpacks]]
uri = "`+a+`"
[[order]]
  [[order.group]]
  id = "acme/a"
[build]
image = "build-image"
[[run.images]]
`+tc.run+"\n")
			cfg, err := ReadBuilderConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			img := createTestBuilder(t, cfg, testBuildImage(t, testStack()))
			labels := configLabels(t, img)
			if got := labels[LocalRunImageLabel]; got != "oci:stack:run" {
				t.Errorf("%s = %q, want the local name as written", LocalRunImageLabel, got)
			}
			if strings.Contains(labels[BuilderMetadataLabel], "oci:") || strings.Contains(labels[BuilderMetadataLabel], "docker-archive:") {
				t.Errorf("builder metadata names a local image: %s", labels[BuilderMetadataLabel])
			}
			files, err := readImageFiles(ctx, img, []string{runPath, stackPath})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{runPath, stackPath} {
				if strings.Contains(string(files[f]), "oci:") {
					t.Errorf("%s names a local image:\n%s", f, files[f])
				}
			}
			bi, err := ReadBuilderImage(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRecorded, bi.RunImages); diff != "" || bi.LocalRunImage != "oci:stack:run" {
				t.Errorf("read back: local %q, run images (-want +got):\n%s", bi.LocalRunImage, diff)
			}
		})
	}
}
