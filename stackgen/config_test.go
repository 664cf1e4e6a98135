package stackgen_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/stackgen"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stack.toml")
	write(t, path, `id = "io.example.python"
uid = 1001
gid = 1002
user-name = "builder"

[build]
base = "rootfs:bookworm.tar"
packages = ["python3", "python3-venv"]
exclude = ["perl-base"]
env = ["LANG=C.UTF-8"]

[run]
base = "oci:images/run:1"
packages = ["ca-certificates"]
user = true
rebasable = false
labels = { "org.example" = "x" }

[debian]
architecture = "arm64"
merged-usr = false

[[debian.sources]]
uri = "file:repo"
suites = ["stable"]
components = ["main"]
signed-by = "keys/repo.asc"
`, 0o644)
	got, err := stackgen.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := stackgen.Spec{
		ID: "io.example.python", UID: 1001, GID: 1002, UserName: "builder",
		Build: stackgen.ImageSpec{Base: "rootfs:" + filepath.Join(dir, "bookworm.tar"), Packages: []string{"python3", "python3-venv"},
			Exclude: []string{"perl-base"}, Env: []string{"LANG=C.UTF-8"}},
		Run: stackgen.ImageSpec{Base: "oci:" + filepath.Join(dir, "images/run:1"), Packages: []string{"ca-certificates"}, User: true,
			NotRebasable: true, Labels: map[string]string{"org.example": "x"}},
		Debian: stackgen.DebianSpec{Architecture: "arm64", MergedUsr: &no, Sources: []debian.Source{{
			URI: "file:" + filepath.Join(dir, "repo"), Suites: []string{"stable"}, Components: []string{"main"},
			SignedBy: filepath.Join(dir, "keys/repo.asc")}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		text string
		want error
		msg  string
	}{
		{"id = \"x\"\nstack-id = \"y\"\n[build]\nbase = \"a\"\n[run]\nbase = \"b\"\n", stackgen.ErrConfig, "unknown key stack-id"},
		{"id = \"x\"\n[build]\nbase = \"a\"\npackage = [\"p\"]\n[run]\nbase = \"b\"\n", stackgen.ErrConfig, "unknown key build.package"},
		{"[build]\nbase = \"a\"\n[run]\nbase = \"b\"\n", stackgen.ErrConfig, "id: missing"},
		{"id = \"x\"\nuid = 0\n[build]\nbase = \"a\"\n[run]\nbase = \"b\"\n", stackgen.ErrRootUser, "uid = 0"},
		{"id = \"x\"\n[build]\nbase = \"a\"\n", stackgen.ErrConfig, "run: needs a base or packages"},
		{"id = \"x\"\n[build]\nbase = \"a\"\n[run]\nbase = \"b\"\n[[debian.sources]]\nuri = \"http://x\"\n", stackgen.ErrConfig, "debian.sources[0]"},
		{"id = \"x\"\nuid = \"1000\"\n", nil, "stack.toml"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "stack.toml")
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := stackgen.LoadConfig(path)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadConfig(%q) = %v, want %v naming the file and %q", tt.text, err, tt.want, tt.msg)
		}
	}
}

// TestExampleConfig keeps the example Python stack loadable.
func TestExampleConfig(t *testing.T) {
	spec, err := stackgen.LoadConfig(filepath.Join("testdata", "python", "stack.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.ID != "io.kiln.stacks.python" || len(spec.Run.Packages) == 0 || spec.Build.Base != "" {
		t.Errorf("example spec = %+v", spec)
	}
}
