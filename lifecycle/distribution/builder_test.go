package distribution

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestReadBuilderConfigWalkthrough(t *testing.T) {
	path, err := filepath.Abs("testdata/walkthrough-builder.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadBuilderConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &BuilderConfig{
		Buildpacks: []ModuleConfig{{URI: filepath.Join(filepath.Dir(path), "buildpacks/empty.cnb")}},
		Order:      Order{{Group: []ModuleRef{{ID: "buildpacks/empty", Version: "0.0.1"}}}},
		Stack: StackConfig{
			ID:         "io.github.future-architect.samples.debian",
			RunImage:   "distroless:python",
			BuildImage: "distroless:python-builder",
		},
		Path: path,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got := c.BuildImage(); got != "distroless:python-builder" {
		t.Errorf("BuildImage() = %q", got)
	}
	if diff := cmp.Diff([]RunImage{{Image: "distroless:python"}}, c.RunImages()); diff != "" {
		t.Errorf("RunImages() (-want +got):\n%s", diff)
	}
	if got := c.StackID(); got != "io.github.future-architect.samples.debian" {
		t.Errorf("StackID() = %q", got)
	}
}

func TestReadBuilderConfig(t *testing.T) {
	full := `
description = "a builder"

[[buildpacks]]
id = "acme/java"
version = "1.0.0"
uri = "bp/java"

[[buildpacks]]
uri = "docker://registry.example/acme/node:1"

[[buildpacks]]
image = "registry.example/acme/ruby:1"

[[buildpacks]]
uri = "./missing.cnb"

[[extensions]]
id = "acme/ext"
uri = "ext"

[[order]]
  [[order.group]]
  id = "acme/java"
  version = "1.0.0"
  [[order.group]]
  id = "acme/node"
  optional = true

[[order-extensions]]
  [[order-extensions.group]]
  id = "acme/ext"

[system]
  [[system.pre.buildpacks]]
  id = "acme/pre"
  version = "0.1.0"
  [system.post]
  buildpacks = [{ id = "acme/post", version = "0.2.0", optional = true }]

[build]
image = "registry.example/build:1"
  [[build.env]]
  name = "JAVA_OPTS"
  value = "-Xmx1g"
  suffix = "append"
  delim = " "
  [[build.env]]
  name = "PLAIN"
  value = "x"

[[run.images]]
image = "registry.example/run:1"
mirrors = ["mirror.example/run:1"]
[[run.images]]
image = "registry.example/run-alt:1"

[[targets]]
os = "linux"
arch = "arm64"
variant = "v8"
  [[targets.distros]]
  name = "ubuntu"
  version = "24.04"

[stack]
id = "io.buildpacks.stacks.jammy"
build-image = "registry.example/build:1"
run-image = "registry.example/run:1"

[lifecycle]
version = "0.21.0"
uri = "lifecycle.tgz"
`
	tests := []struct {
		name    string
		toml    string
		check   func(t *testing.T, dir string, c *BuilderConfig)
		wantErr error
		errHas  []string
	}{{
		name: "both forms",
		toml: full,
		check: func(t *testing.T, dir string, c *BuilderConfig) {
			want := &BuilderConfig{
				Description: "a builder",
				Buildpacks: []ModuleConfig{
					{ID: "acme/java", Version: "1.0.0", URI: filepath.Join(dir, "bp/java")},
					{URI: "docker://registry.example/acme/node:1"},
					{Image: "registry.example/acme/ruby:1"},
					{URI: filepath.Join(dir, "missing.cnb")},
				},
				Extensions: []ModuleConfig{{ID: "acme/ext", URI: filepath.Join(dir, "ext")}},
				Order: Order{{Group: []ModuleRef{
					{ID: "acme/java", Version: "1.0.0"}, {ID: "acme/node", Optional: true},
				}}},
				OrderExtensions: Order{{Group: []ModuleRef{{ID: "acme/ext"}}}},
				System: System{
					Pre:  SystemBuildpacks{Buildpacks: []ModuleRef{{ID: "acme/pre", Version: "0.1.0"}}},
					Post: SystemBuildpacks{Buildpacks: []ModuleRef{{ID: "acme/post", Version: "0.2.0", Optional: true}}},
				},
				Build: BuildConfig{Image: "registry.example/build:1", Env: []BuildEnv{
					{Name: "JAVA_OPTS", Value: "-Xmx1g", Suffix: "append", Delim: " "},
					{Name: "PLAIN", Value: "x"},
				}},
				Run: RunConfig{Images: []RunImage{
					{Image: "registry.example/run:1", Mirrors: []string{"mirror.example/run:1"}},
					{Image: "registry.example/run-alt:1"},
				}},
				Targets: []Target{{OS: "linux", Arch: "arm64", Variant: "v8", Distros: []Distro{{Name: "ubuntu", Version: "24.04"}}}},
				Stack: StackConfig{ID: "io.buildpacks.stacks.jammy", BuildImage: "registry.example/build:1",
					RunImage: "registry.example/run:1"},
				Lifecycle: LifecycleConfig{Version: "0.21.0", URI: filepath.Join(dir, "lifecycle.tgz")},
				Path:      filepath.Join(dir, "builder.toml"),
			}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if got := c.RunImages()[1].Image; got != "registry.example/run-alt:1" {
				t.Errorf("RunImages()[1] = %q", got)
			}
			if got := c.Buildpacks[2].Locator(); got != "docker://registry.example/acme/ruby:1" {
				t.Errorf("Locator() of an image entry = %q", got)
			}
			files, err := c.BuildEnvFiles()
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := map[string]string{"JAVA_OPTS.append": "-Xmx1g", "JAVA_OPTS.delim": " ", "PLAIN": "x"}
			if diff := cmp.Diff(wantFiles, files); diff != "" {
				t.Errorf("BuildEnvFiles (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "new form only",
		toml: "[build]\nimage = \"b\"\n[[run.images]]\nimage = \"r\"\nmirrors = [\"m\"]\n",
		check: func(t *testing.T, dir string, c *BuilderConfig) {
			if c.BuildImage() != "b" || c.StackID() != "" {
				t.Errorf("BuildImage() = %q, StackID() = %q", c.BuildImage(), c.StackID())
			}
			if diff := cmp.Diff([]RunImage{{Image: "r", Mirrors: []string{"m"}}}, c.RunImages()); diff != "" {
				t.Errorf("RunImages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"empty order definition"}, c.Warnings); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		},
	}, {
		name:    "unknown keys",
		toml:    "[stack]\nid = \"x\"\nrun-images = \"r\"\n[[buildpacks]]\nuri = \"a\"\nurl = \"b\"\n[whatever]\nk = 1\n",
		wantErr: ErrUnknownKeys,
		errHas:  []string{"builder.toml", `"stack.run-images"`, `"buildpacks.url"`, `"whatever.k"`},
	}, {
		name:    "build images differ",
		toml:    "[build]\nimage = \"a\"\n[stack]\nbuild-image = \"b\"\n",
		wantErr: ErrInvalidConfig,
		errHas:  []string{"build.image", "stack.build-image"},
	}, {
		name:    "run images differ",
		toml:    "[[run.images]]\nimage = \"a\"\n[stack]\nrun-image = \"b\"\n",
		wantErr: ErrInvalidConfig,
		errHas:  []string{"stack.run-image"},
	}, {
		name:    "append without delim",
		toml:    "[[build.env]]\nname = \"A\"\nvalue = \"x\"\nsuffix = \"prepend\"\n",
		wantErr: ErrInvalidConfig,
		errHas:  []string{"delim"},
	}, {
		name:    "unknown suffix",
		toml:    "[[build.env]]\nname = \"A\"\nvalue = \"x\"\nsuffix = \"later\"\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "uri and image",
		toml:    "[[buildpacks]]\nuri = \"a\"\nimage = \"b\"\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:   "bad toml",
		toml:   "[[order]\n",
		errHas: []string{"builder.toml"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteFile(t, filepath.Join(dir, "bp/java/buildpack.toml"), "")
			testutil.WriteFile(t, filepath.Join(dir, "ext/extension.toml"), "")
			path := testutil.WriteFile(t, filepath.Join(dir, "builder.toml"), tt.toml)
			c, err := ReadBuilderConfig(path)
			if tt.check != nil {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, dir, c)
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			for _, s := range append(tt.errHas, path) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestParseLocator(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "bp/buildpack.toml"), "")
	tests := []struct {
		loc      string
		wantKind LocatorKind
		want     string
	}{
		{"bp", LocatorPath, filepath.Join(dir, "bp")},
		{"file://bp", LocatorPath, filepath.Join(dir, "bp")},
		{"file:///abs/x.cnb", LocatorPath, "/abs/x.cnb"},
		{"/abs/dir", LocatorPath, "/abs/dir"},
		{"missing.cnb", LocatorPath, filepath.Join(dir, "missing.cnb")},
		{"./missing", LocatorPath, filepath.Join(dir, "missing")},
		{"~/bp", LocatorPath, filepath.Join(dir, "~/bp")},
		{"bp.toml", LocatorPath, filepath.Join(dir, "bp.toml")},
		{"acme/x@1.0.0", LocatorImage, "acme/x@1.0.0"},
		{"docker://registry.example/a/b:1", LocatorImage, "registry.example/a/b:1"},
		{"registry.example/a/b:1", LocatorImage, "registry.example/a/b:1"},
		{"oci:/tmp/layout:pkg", LocatorImage, "oci:/tmp/layout:pkg"},
		{"https://example.com/bp.tgz", LocatorURL, "https://example.com/bp.tgz"},
		{"urn:cnb:registry:acme/x@1.0.0", LocatorRegistry, "acme/x@1.0.0"},
		{"urn:cnb:builder:acme/x", LocatorBuilder, "acme/x"},
		{"from=builder", LocatorBuilder, ""},
		{"from=builder:acme/x@1", LocatorBuilder, "acme/x@1"},
		{"", LocatorInvalid, ""},
	}
	for _, tt := range tests {
		kind, got := ParseLocator(tt.loc, dir)
		if kind != tt.wantKind || got != tt.want {
			t.Errorf("ParseLocator(%q) = %v, %q; want %v, %q", tt.loc, kind, got, tt.wantKind, tt.want)
		}
	}
}

// TestCheckPaths: a uri naming a missing path is reported with the file and
// the key before anything is fetched; images and present paths pass.
func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "bp/buildpack.toml"), "")
	builder := testutil.WriteFile(t, filepath.Join(dir, "builder.toml"),
		"[[buildpacks]]\nuri = \"bp\"\n[[buildpacks]]\nuri = \"registry.example/bp:1\"\n[[buildpacks]]\nuri = \"./gone\"\n")
	cfg, err := ReadBuilderConfig(builder)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckPaths()
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "buildpacks[2].uri") || !strings.Contains(err.Error(), builder) {
		t.Errorf("CheckPaths = %v, want ErrInvalidConfig naming buildpacks[2].uri and %s", err, builder)
	}
	pkg := testutil.WriteFile(t, filepath.Join(dir, "package.toml"), "[buildpack]\nuri = \"no-such-dir\"\n")
	pc, err := ReadPackageConfig(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.CheckPaths(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "buildpack.uri") {
		t.Errorf("package CheckPaths = %v, want ErrInvalidConfig naming buildpack.uri", err)
	}
	ok := testutil.WriteFile(t, filepath.Join(dir, "ok.toml"), "[buildpack]\nuri = \"bp\"\n[[dependencies]]\nuri = \"docker://registry.example/x:1\"\n")
	if pc, err = ReadPackageConfig(ok); err != nil {
		t.Fatal(err)
	}
	if err := pc.CheckPaths(); err != nil {
		t.Errorf("CheckPaths of present paths and images: %v", err)
	}
}
