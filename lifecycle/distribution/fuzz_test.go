package distribution

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// fuzzFile writes data as name in a fresh directory and returns its path.
func fuzzFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// singleElement reports whether name is one path element: what a file
// name under /cnb/build-config/env must be.
func singleElement(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// FuzzReadBuilderConfig reads builder.toml files: an error names the file;
// a config read has run images and order entries that name something, one
// build image, and build env files that are single path elements.
func FuzzReadBuilderConfig(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "walkthrough-builder.toml")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"[[buildpacks]]\nid = \"a\"\nimage = \"x\"\n[[order]]\n[[order.group]]\nid = \"a\"\n[build]\nimage = \"b\"\n[[build.env]]\nname = \"FOO\"\nvalue = \"1\"\nsuffix = \"append\"\ndelim = \":\"\n[run]\n[[run.images]]\nimage = \"r\"\nmirrors = [\"m\"]\n",
		"[stack]\nid = \"s\"\nbuild-image = \"b\"\nrun-image = \"r\"\n[build]\nimage = \"c\"\n",
		"[[build.env]]\nname = \"..\"\nvalue = \"x\"\n", "[[build.env]]\nname = \"A\"\nsuffix = \"bogus\"\n",
		"[lifecycle]\nversion = \"0.20.0\"\n", "unknown = 1\n[x]\ny = 2\n", "[[order]]\n[[order.group]]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzFile(t, "builder.toml", data)
		c, err := ReadBuilderConfig(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for _, r := range c.RunImages() {
			if r.Image == "" {
				t.Fatalf("a run image without a name: %+v", c.RunImages())
			}
		}
		if c.Build.Image != "" && c.Stack.BuildImage != "" && c.BuildImage() != c.Build.Image {
			t.Fatalf("two build images: %q, %q; BuildImage() = %q", c.Build.Image, c.Stack.BuildImage, c.BuildImage())
		}
		for _, o := range []Order{c.Order, c.OrderExtensions} {
			for _, e := range o {
				for _, r := range e.Group {
					if r.ID == "" {
						t.Fatal("an order group entry without an id")
					}
				}
			}
		}
		files, err := c.BuildEnvFiles()
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("BuildEnvFiles: %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		for name := range files {
			if !singleElement(name) {
				t.Fatalf("build env file %q is not one path element", name)
			}
		}
	})
}

// FuzzReadPackageConfig reads package.toml files: an error names the file;
// a config read is a buildpack or an extension (not both), for linux or
// windows, and each dependency has exactly one of uri and image.
func FuzzReadPackageConfig(f *testing.F) {
	for _, s := range []string{
		"[buildpack]\nuri = \".\"\n[[dependencies]]\nuri = \"dep.cnb\"\n[[dependencies]]\nimage = \"reg/dep:1\"\n[platform]\nos = \"linux\"\n",
		"[extension]\nuri = \"ext\"\n", "[buildpack]\nimage = \"x\"\n", "[extension]\n", "[platform]\nos = \"plan9\"\n",
		"[[dependencies]]\nuri = \"a\"\nimage = \"b\"\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzFile(t, "package.toml", data)
		c, err := ReadPackageConfig(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if c.Platform.OS != "linux" && c.Platform.OS != "windows" {
			t.Fatalf("platform.os %q", c.Platform.OS)
		}
		if (c.Buildpack.URI == "") == (c.Extension.URI == "") {
			t.Fatalf("buildpack uri %q, extension uri %q: want exactly one", c.Buildpack.URI, c.Extension.URI)
		}
		for i, d := range c.Dependencies {
			if (d.URI == "") == (d.Image == "") {
				t.Fatalf("dependencies[%d] = %+v", i, d)
			}
		}
	})
}

// FuzzReadDescriptor reads buildpack.toml (or, as chosen, extension.toml)
// files: an error names the file; a descriptor read has an id and version
// that name a directory <escaped-id>/<version> inside the buildpacks (or
// extensions) dir, and an id that is not reserved.
func FuzzReadDescriptor(f *testing.F) {
	for _, p := range []string{"../../testdata/walkthrough/buildpacks/*/buildpack.toml", "../testdata/buildpacks/*/*/buildpack.toml"} {
		// The repo's fixtures, where the test runs in the checkout (the
		// rootless pass runs a copy of this package's testdata only).
		fixtures, _ := filepath.Glob(p)
		for _, fx := range fixtures {
			if b, err := os.ReadFile(fx); err == nil {
				f.Add(b, false)
			}
		}
	}
	for _, s := range []string{
		"api = \"0.10\"\n[buildpack]\nid = \"example/hello\"\nversion = \"0.0.1\"\nname = \"Hello\"\n[[stacks]]\nid = \"*\"\n[[targets]]\nos = \"linux\"\narch = \"amd64\"\n",
		"api = \"0.7\"\n[buildpack]\nid = \"x/y\"\nversion = \"1\"\n[[order]]\n[[order.group]]\nid = \"a\"\nversion = \"1\"\noptional = true\n",
		"[buildpack]\nid = \"..\"\nversion = \"1\"\n", "[buildpack]\nid = \"a\"\nversion = \"../x\"\n", "[buildpack]\nid = \"app\"\nversion = \"1\"\n",
		"[buildpack]\nid = \"a\"\nversion = \"1\\u0000\"\n", "[buildpack]\nid = \"a/..\"\nversion = \"1\"\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(strings.ReplaceAll(s, "[buildpack]", "[extension]")), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, extension bool) {
		dir := t.TempDir()
		name, read := DescriptorFile, ReadDescriptor
		if extension {
			name, read = ExtensionDescriptorFile, ReadExtensionDescriptor
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := read(dir)
		if err != nil {
			if !strings.Contains(err.Error(), filepath.Join(dir, name)) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if d.Extension != extension {
			t.Fatalf("read %s: Extension = %v", name, d.Extension)
		}
		if err := CheckIDVersion(d.ID, d.Version); err != nil {
			t.Fatalf("a descriptor read fails CheckIDVersion: %v", err)
		}
		root := "/cnb/buildpacks"
		p := filepath.Join(root, EscapeID(d.ID), d.Version)
		if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, "/") != 1 {
			t.Fatalf("id %q version %q lay out at %s, not two levels inside %s", d.ID, d.Version, p, root)
		}
	})
}

// FuzzBuilderImageFiles parses the TOML files a builder image carries
// (/cnb/order.toml, /cnb/run.toml, /cnb/stack.toml), as kiln reads them
// from an image: errors are ErrNotBuilder, and run images read name
// something.
func FuzzBuilderImageFiles(f *testing.F) {
	f.Add([]byte("[[order]]\n[[order.group]]\nid = \"a\"\nversion = \"1\"\n"), []byte("[[images]]\nimage = \"r\"\nmirrors = [\"m\"]\n"), []byte("[run-image]\nimage = \"s\"\n"))
	f.Add([]byte(""), []byte("[[images]]\n"), []byte("[run-image]\nimage = 1\n"))
	f.Fuzz(func(t *testing.T, order, run, stack []byte) {
		var b BuilderImage
		err := b.parseFiles(map[string][]byte{orderPath: order, runPath: run, stackPath: stack})
		if err != nil {
			if !errors.Is(err, ErrNotBuilder) {
				t.Fatalf("%v does not wrap ErrNotBuilder", err)
			}
			return
		}
		for _, r := range b.RunImages {
			if r.Image == "" {
				t.Fatalf("a run image without a name: %+v", b.RunImages)
			}
		}
	})
}

// FuzzReadLifecycleArchive reads lifecycle.toml as kiln finds it in a
// lifecycle archive (with the binaries pack requires): an error names the
// archive; metadata read has a version, supported APIs for both lists,
// versions of the form <major>.<minor> (pack parses them from the builder's
// label), and single-version API fields that are versions of those lists.
func FuzzReadLifecycleArchive(f *testing.F) {
	for _, s := range []string{
		"[apis]\n[apis.buildpack]\ndeprecated = []\nsupported = [\"0.7\", \"0.8\", \"0.9\", \"0.10\", \"0.11\"]\n[apis.platform]\ndeprecated = [\"0.3\"]\nsupported = [\"0.12\", \"0.13\"]\n[lifecycle]\nversion = \"0.20.5\"\n",
		"[api]\nplatform = \"0.3\"\nbuildpack = \"0.2\"\n[lifecycle]\nversion = \"0.9.0\"\n",
		"[lifecycle]\nversion = \"1\"\n", "[apis.buildpack]\nsupported = [\"\"]\n[lifecycle]\nversion = \"1\"\n",
		"[apis.buildpack]\nsupported = [\"x.y\", \"0.1\"]\n[apis.platform]\ndeprecated = [\"-1.-1\"]\nsupported = [\"0.9\"]\n[lifecycle]\nversion = \"1\"\n",
		"[lifecycle]\nversion = 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		add := func(name string, b []byte, mode int64) {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		add("lifecycle.toml", data, 0o644)
		for _, b := range lifecycleBinaries {
			add("lifecycle/"+b, []byte("#!/bin/sh\n"), 0o755)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		file := fuzzFile(t, "lifecycle.tar", buf.Bytes())
		md, err := readLifecycleArchive(file)
		if err != nil {
			if !strings.Contains(err.Error(), file) || !errors.Is(err, ErrInvalidLifecycle) {
				t.Fatalf("the error does not name the archive or wrap ErrInvalidLifecycle: %v", err)
			}
			return
		}
		if md.Version == "" {
			t.Fatal("no version")
		}
		for _, l := range []struct {
			name, api string
			v         APIVersions
		}{{"buildpack", md.API.Buildpack, md.APIs.Buildpack}, {"platform", md.API.Platform, md.APIs.Platform}} {
			if len(l.v.Supported) == 0 || l.v.Supported[0] == "" || l.v.Deprecated == nil {
				t.Fatalf("%s APIs %+v", l.name, l.v)
			}
			if !slices.Contains(l.v.Supported, l.api) && !slices.Contains(l.v.Deprecated, l.api) {
				t.Fatalf("%s API %q is none of %+v", l.name, l.api, l.v)
			}
			for _, s := range slices.Concat(l.v.Deprecated, l.v.Supported) {
				if _, err := api.Parse(s); err != nil {
					t.Fatalf("%s APIs %+v: %v", l.name, l.v, err)
				}
			}
		}
	})
}
