package lifecycle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// baseEnv is the platform environment the tests give the phases: only the
// allowlisted variables may reach buildpacks.
var baseEnv = []string{"PATH=/usr/bin:/bin", "HOME=/home/cnb", "SECRET=must-not-leak", "http_proxy=http://proxy:3128"}

// testTarget is the run image target of the tests.
var testTarget = TargetData{OS: "linux", Arch: "amd64", Distro: &Distro{Name: "debian", Version: "12"}}

// testPaths makes layers, app and platform directories for one test and
// points the buildpacks directory at bpDir (testdata/buildpacks by default).
func testPaths(t *testing.T, bpDir string) Paths {
	t.Helper()
	root := t.TempDir()
	if bpDir == "" {
		var err error
		if bpDir, err = filepath.Abs("testdata/buildpacks"); err != nil {
			t.Fatal(err)
		}
	}
	p := HostPaths(filepath.Join(root, "layers"), filepath.Join(root, "workspace"), filepath.Join(root, "platform"), bpDir)
	for _, d := range []string{p.Layers.Host, p.App.Host, filepath.Join(p.Platform.Host, "env")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(p.Platform.Host, "env", "PATH"), "/platform/bin")
	writeFile(t, filepath.Join(p.Platform.Host, "env", "PLATFORM_VAR"), "from-platform")
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// envFile parses the output of env(1) that a fixture dumped.
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// orderOf builds an order of one group.
func orderOf(entries ...GroupEntry) Order {
	return Order{{Group: entries}}
}

func ref(id string) GroupEntry { return GroupEntry{ID: id, Version: "1.0.0"} }

// inlineBuildpack writes a buildpack into dir/<escaped-id>/1.0.0 with the
// given buildpack.toml body (after api and [buildpack]) and scripts.
func inlineBuildpack(t *testing.T, dir, id, api, extra, detect, build string) {
	t.Helper()
	root := filepath.Join(dir, EscapeID(id), "1.0.0")
	writeFile(t, filepath.Join(root, "buildpack.toml"),
		"api = \""+api+"\"\n[buildpack]\nid = \""+id+"\"\nversion = \"1.0.0\"\n"+extra)
	writeFile(t, filepath.Join(root, "bin", "detect"), "#!/bin/sh\n"+detect+"\n")
	writeFile(t, filepath.Join(root, "bin", "build"), "#!/bin/sh\n"+build+"\n")
}

// openTestTree opens dir as a tree of buildpack-written files.
func openTestTree(t *testing.T, dir string) *beneath.Dir {
	t.Helper()
	d, err := openTree(SameDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// decodeOptional decodes the TOML file at path into v and reports whether
// the file existed.
func decodeOptional(path string, v any) (toml.MetaData, bool, error) {
	md, err := toml.DecodeFile(path, v)
	if errors.Is(err, fs.ErrNotExist) {
		return md, false, nil
	}
	return md, err == nil, err
}
