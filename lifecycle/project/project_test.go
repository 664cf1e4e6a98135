package project

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

func TestReadProjectDescriptor(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    func(dir string) *Descriptor
		wantErr error
	}{{
		name: "schema 0.1 without version",
		toml: `
[project]
id = "io.example.app"
name = "App"
version = "1.0.0"
source-url = "https://example.com/app"
[[project.licenses]]
type = "MIT"
[build]
exclude = ["README.md", "docs/"]
builder = "registry.example/builder"
[[build.buildpacks]]
uri = "bp"
[[build.buildpacks]]
id = "acme/inline"
  [build.buildpacks.script]
  api = "0.10"
  inline = "echo hi"
[[build.env]]
name = "JAVA_OPTS"
value = "-Xmx1g"
[metadata]
team = "x"
[custom]
ignored = true
`,
		want: func(dir string) *Descriptor {
			return &Descriptor{
				SchemaVersion: "0.1",
				Metadata: Metadata{ID: "io.example.app", Name: "App", Version: "1.0.0",
					SourceURL: "https://example.com/app", Licenses: []distribution.License{{Type: "MIT"}},
					Metadata: map[string]any{"team": "x"}},
				Builder: "registry.example/builder",
				Exclude: []string{"README.md", "docs/"},
				Group: []Buildpack{
					{URI: filepath.Join(dir, "bp")},
					{ID: "acme/inline", Script: &InlineScript{API: "0.10", Inline: "echo hi"}},
				},
				Env:      []Env{{Name: "JAVA_OPTS", Value: "-Xmx1g"}},
				Warnings: []string{"no schema version declared in project.toml, defaulting to schema version 0.1"},
			}
		},
	}, {
		name: "schema 0.2",
		toml: `
[_]
schema-version = "0.2"
id = "io.example.app"
name = "App"
authors = ["a", "b"]
documentation-url = "https://example.com/docs"
[[_.licenses]]
uri = "https://example.com/license"
[_.metadata]
anything = 1
[io.buildpacks]
builder = "b"
include = ["cmd/", "*.go"]
[[io.buildpacks.group]]
id = "acme/java"
version = "1.0"
[[io.buildpacks.pre.group]]
id = "acme/pre"
[[io.buildpacks.post.group]]
uri = "docker://registry.example/post:1"
[[io.buildpacks.build.env]]
name = "BP_X"
value = "y"
[io.buildpacks.unknown]
k = 1
`,
		want: func(dir string) *Descriptor {
			return &Descriptor{
				SchemaVersion: "0.2",
				Metadata: Metadata{ID: "io.example.app", Name: "App", Authors: []string{"a", "b"},
					DocumentationURL: "https://example.com/docs",
					Licenses:         []distribution.License{{URI: "https://example.com/license"}},
					Metadata:         map[string]any{"anything": int64(1)}},
				Builder:  "b",
				Include:  []string{"cmd/", "*.go"},
				Group:    []Buildpack{{ID: "acme/java", Version: "1.0"}},
				Pre:      []Buildpack{{ID: "acme/pre"}},
				Post:     []Buildpack{{URI: "docker://registry.example/post:1"}},
				Env:      []Env{{Name: "BP_X", Value: "y"}},
				Warnings: []string{`key "io.buildpacks.unknown.k" is not supported in schema version 0.2 and is ignored`},
			}
		},
	}, {
		name: "schema 0.2 old env spelling",
		toml: "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.env.build]]\nname = \"A\"\nvalue = \"b\"\n",
		want: func(dir string) *Descriptor {
			return &Descriptor{SchemaVersion: "0.2", Env: []Env{{Name: "A", Value: "b"}},
				Warnings: []string{"io.buildpacks.env.build is deprecated, use io.buildpacks.build.env"}}
		},
	}, {
		name: "schema 0.3 exec-env",
		toml: `
[_]
schema-version = "0.3"
[[io.buildpacks.group]]
id = "acme/java"
exec-env = ["production"]
[[io.buildpacks.build.env]]
name = "A"
value = "b"
exec-env = ["test"]
`,
		want: func(dir string) *Descriptor {
			return &Descriptor{SchemaVersion: "0.3",
				Group: []Buildpack{{ID: "acme/java", ExecEnv: []string{"production"}}},
				Env:   []Env{{Name: "A", Value: "b", ExecEnv: []string{"test"}}}}
		},
	}, {
		name:    "include and exclude",
		toml:    "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\ninclude = [\"a\"]\nexclude = [\"b\"]\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "uri with version",
		toml:    "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"a\"\nversion = \"1\"\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "no id nor uri",
		toml:    "[[build.buildpacks]]\nversion = \"1\"\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "inline without api",
		toml:    "[[build.buildpacks]]\nid = \"x\"\n[build.buildpacks.script]\ninline = \"true\"\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "license without type or uri",
		toml:    "[[project.licenses]]\n",
		wantErr: ErrInvalidConfig,
	}, {
		name:    "unknown schema",
		toml:    "[_]\nschema-version = \"9.9\"\n",
		wantErr: ErrUnsupportedSchema,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteFile(t, filepath.Join(dir, "bp/buildpack.toml"), "")
			path := testutil.WriteFile(t, filepath.Join(dir, "project.toml"), tt.toml)
			p, err := Read(path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(dir)
			want.Path = path
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("project (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadProject(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(dir, "")
	if err != nil {
		t.Fatalf("missing default descriptor: %v", err)
	}
	if diff := cmp.Diff(&Descriptor{}, p); diff != "" {
		t.Errorf("project (-want +got):\n%s", diff)
	}
	if _, err := Load(dir, filepath.Join(dir, "other.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing explicit descriptor: error %v, want fs.ErrNotExist", err)
	}
	testutil.WriteFile(t, filepath.Join(dir, DescriptorFile), "[_]\nschema-version = \"0.2\"\n[_.metadata]\nx = 1\n")
	p, err = Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.SchemaVersion != "0.2" || p.Path != filepath.Join(dir, DescriptorFile) {
		t.Errorf("Load = %+v", p)
	}
}

func TestWriteInlineBuildpack(t *testing.T) {
	dir := t.TempDir()
	b := Buildpack{ID: "acme/inline", Script: &InlineScript{API: "0.10", Inline: "echo hi\nexit 0", Shell: "/bin/bash"}}
	if err := WriteInlineBuildpack(dir, b, "io.buildpacks.stacks.jammy"); err != nil {
		t.Fatal(err)
	}
	d, err := distribution.ReadDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := distribution.Descriptor{API: "0.10", ID: "acme/inline", Version: "0.0.0",
		Stacks: []distribution.Stack{{ID: "io.buildpacks.stacks.jammy"}}, Dir: dir, Path: filepath.Join(dir, distribution.DescriptorFile)}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("descriptor (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{
		"bin/build":  "#!/bin/bash\n\necho hi\nexit 0\n",
		"bin/detect": "#!/bin/bash\n\nexit 0\n",
	} {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, %v", name, fi.Mode(), err)
		}
	}
	bps, err := distribution.FetchBuildpacks(context.Background(), []string{dir}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := bps.Fetched[0].Main.FullName(); got != "acme/inline@0.0.0" {
		t.Errorf("fetched %s", got)
	}
	if err := WriteInlineBuildpack(t.TempDir(), Buildpack{ID: "x"}, ""); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no script: error %v", err)
	}
}
