package distribution

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestReadPackageConfig(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    func(dir string) *PackageConfig
		wantErr error
		errHas  string
	}{{
		name: "walkthrough",
		toml: "[buildpack]\nuri = \"empty/\"\n",
		want: func(dir string) *PackageConfig {
			return &PackageConfig{Buildpack: PackageModule{URI: filepath.Join(dir, "empty")},
				Platform: PackagePlatform{OS: "linux"}}
		},
	}, {
		name: "defaults",
		toml: "",
		want: func(dir string) *PackageConfig {
			return &PackageConfig{Buildpack: PackageModule{URI: dir}, Platform: PackagePlatform{OS: "linux"}}
		},
	}, {
		name: "composite with dependencies and targets",
		toml: `
[buildpack]
uri = "meta"
[[dependencies]]
uri = "../hello-world"
[[dependencies]]
image = "registry.example/pkg:1"
[[dependencies]]
uri = "docker://registry.example/other:2"
[platform]
os = "linux"
[[targets]]
os = "linux"
arch = "arm64"
`,
		want: func(dir string) *PackageConfig {
			return &PackageConfig{
				Buildpack: PackageModule{URI: filepath.Join(dir, "meta")},
				Dependencies: []PackageModule{{URI: filepath.Join(filepath.Dir(dir), "hello-world")},
					{Image: "registry.example/pkg:1"}, {URI: "docker://registry.example/other:2"}},
				Platform: PackagePlatform{OS: "linux"},
				Targets:  []Target{{OS: "linux", Arch: "arm64"}},
			}
		},
	}, {
		name: "extension",
		toml: "[extension]\nuri = \"ext\"\n",
		want: func(dir string) *PackageConfig {
			return &PackageConfig{Extension: PackageModule{URI: filepath.Join(dir, "ext")}, Platform: PackagePlatform{OS: "linux"}}
		},
	}, {
		name: "unknown key", toml: "[buildpack]\nuri = \".\"\n[[dependencies]]\nurl = \"x\"\n",
		wantErr: ErrUnknownKeys, errHas: `"dependencies.url"`,
	}, {
		name: "uri and image", toml: "[[dependencies]]\nuri = \"a\"\nimage = \"b\"\n", wantErr: ErrInvalidConfig,
	}, {
		name: "bad os", toml: "[platform]\nos = \"plan9\"\n", wantErr: ErrInvalidConfig,
	}, {
		name: "buildpack and extension", toml: "[buildpack]\nuri = \"a\"\n[extension]\nuri = \"b\"\n", wantErr: ErrInvalidConfig,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"empty", "meta", "ext", "../hello-world"} {
				testutil.WriteFile(t, filepath.Join(dir, d, DescriptorFile), "")
			}
			path := testutil.WriteFile(t, filepath.Join(dir, "package.toml"), tt.toml)
			c, err := ReadPackageConfig(path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want %v naming %s and %q", err, tt.wantErr, path, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(dir)
			want.Path = path
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
