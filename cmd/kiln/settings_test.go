package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// listed returns the value and source kiln config list shows for key.
func listed(t *testing.T, out, key string) (value, source string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == key {
			return f[1], f[2]
		}
	}
	t.Fatalf("kiln config list has no %s:\n%s", key, out)
	return "", ""
}

// TestSettingsPrecedence: a setting comes from its flag, else its KILN_*
// variable, else the configuration file, else its default, for single
// values and lists alike; kiln config list says which, and the value is the
// one commands use (a pull policy never from the file reaches no registry).
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	for _, k := range []string{"KILN_CONFIG", "KILN_PULL", "KILN_INSECURE_REGISTRY", "KILN_STORE"} {
		t.Setenv(k, "")
	}
	file := filepath.Join(dir, "cfg", "kiln", "config.toml")
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := kilnImage(t, args...)
		if code != 0 {
			t.Fatalf("kiln %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	if v, src := listed(t, run("config", "list"), "pull-policy"); v != "-" || src != "default" {
		t.Errorf("nothing set: pull-policy %s from %s", v, src)
	}
	run("config", "pull-policy", "never")
	run("config", "add", "insecure-registries", "file.example:5000")
	run("config", "add", "insecure-registries", "file2.example")
	run("config", "set", "store", filepath.Join(dir, "file-store"))
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `pull-policy = "never"`) {
		t.Fatalf("%s: %q, %v", file, b, err)
	}
	for _, tc := range []struct {
		name      string
		env       map[string]string
		flags     []string
		key, want string
		source    string
	}{
		{"file", nil, nil, "pull-policy", "never", file},
		{"env over file", map[string]string{"KILN_PULL": "always"}, nil, "pull-policy", "always", "KILN_PULL"},
		{"flag over env", map[string]string{"KILN_PULL": "always"}, []string{"--pull", "if-missing"}, "pull-policy", "if-missing", "--pull"},
		{"pack's flag", nil, []string{"--pull-policy", "if-not-present"}, "pull-policy", "if-missing", "--pull"},
		{"list from file", nil, nil, "insecure-registries", "file.example:5000,file2.example", file},
		{"list from env", map[string]string{"KILN_INSECURE_REGISTRY": "a.example, b.example"}, nil, "insecure-registries", "a.example,b.example", "KILN_INSECURE_REGISTRY"},
		{"list from flags", map[string]string{"KILN_INSECURE_REGISTRY": "a.example"}, []string{"--insecure-registry", "c.example", "--insecure-registry", "d.example"},
			"insecure-registries", "c.example,d.example", "--insecure-registry"},
		{"store from env", map[string]string{"KILN_STORE": filepath.Join(dir, "env-store")}, nil, "store", filepath.Join(dir, "env-store"), "KILN_STORE"},
		{"default builder env", map[string]string{"KILN_BUILDER": "oci:b"}, nil, "default-builder", "oci:b", "KILN_BUILDER"},
		{"quiet from env", map[string]string{"KILN_QUIET": "true"}, nil, "quiet", "true", "KILN_QUIET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			v, src := listed(t, run(append(tc.flags, "config", "list")...), tc.key)
			if v != tc.want || src != tc.source {
				t.Errorf("%s = %s from %s, want %s from %s", tc.key, v, src, tc.want, tc.source)
			}
		})
	}

	// The resolved values are the ones used: the file's store and pull
	// policy never (no request reaches the registry), then KILN_PULL.
	reg := testutil.NewRegistry(t)
	pushRandom(t, reg.Host+"/kiln/app:1")
	before := len(reg.Requests())
	_, errOut, code := kilnImage(t, "image", "copy", reg.Host+"/kiln/app:1", "oci:copy")
	if n := len(reg.Requests()) - before; code == 0 || !strings.Contains(errOut, "pull policy is never") || n != 0 {
		t.Errorf("pull-policy never from the file: exit %d, %d requests\n%s", code, n, errOut)
	}
	t.Setenv("KILN_PULL", "if-missing")
	out, errOut, code := kilnImage(t, "image", "copy", reg.Host+"/kiln/app:1", "oci:copy")
	if code != 0 || !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("KILN_PULL=if-missing: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "file-store", "index.json")); err != nil {
		t.Errorf("the store from the file was not used: %v", err)
	}
	run("config", "unset", "pull-policy")
	if v, src := listed(t, run("config", "list"), "pull-policy"); v != "if-missing" || src != "KILN_PULL" {
		t.Errorf("after unset: %s from %s", v, src)
	}
}

// pushRandom pushes a small random image to ref.
func pushRandom(t *testing.T, ref string) {
	t.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Write(context.Background(), r, img); err != nil {
		t.Fatal(err)
	}
}
