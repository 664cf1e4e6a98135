package lifecycle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// buildOne detects and builds a single inline buildpack test/x.
func buildOne(t *testing.T, api, extra, detect, build string) (Paths, BuildResult, error) {
	t.Helper()
	dir := t.TempDir()
	inlineBuildpack(t, dir, "test/x", api, extra, detect, build)
	p := testPaths(t, dir)
	ctx := context.Background()
	dr, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(ref("test/x")), Target: testTarget, Env: baseEnv}).Run(ctx)
	if err != nil {
		return p, BuildResult{}, err
	}
	br, err := (&Builder{Paths: p, Runner: ExecRunner{}, Group: dr.Group, Plan: dr.Plan, Target: testTarget, Env: baseEnv}).Run(ctx)
	return p, br, err
}

func TestBuildRules(t *testing.T) {
	const twoProcs = `cat > "$1/launch.toml" <<'T'
[[processes]]
type = "a"
command = %s
default = true
[[processes]]
type = "b"
command = %s
default = true
T`
	tests := []struct {
		name, api, extra, detect, build string
		wantCode                        int    // 0: success
		wantErr                         string // substring of the error
	}{
		{name: "top-level flags from 0.6", api: "0.6", build: `printf 'launch = true\n' > "$1/l.toml"`, wantCode: 52, wantErr: "[types]"},
		{name: "direct key from 0.9", api: "0.9", wantCode: 52, wantErr: "direct",
			build: `printf '[[processes]]\ntype = "w"\ncommand = ["x"]\ndirect = true\n' > "$1/launch.toml"`},
		{name: "string command from 0.9", api: "0.9", wantCode: 52, wantErr: "array",
			build: `printf '[[processes]]\ntype = "w"\ncommand = "x"\n' > "$1/launch.toml"`},
		{name: "array command before 0.9", api: "0.8", wantCode: 52, wantErr: "string",
			build: `printf '[[processes]]\ntype = "w"\ncommand = ["x"]\n' > "$1/launch.toml"`},
		{name: "two defaults", api: "0.9", wantCode: 52, wantErr: "multiple default",
			build: strings.ReplaceAll(twoProcs, "%s", `["x"]`)},
		{name: "two defaults below 0.6 are ignored", api: "0.5", build: strings.ReplaceAll(twoProcs, "%s", `"x"`)},
		{name: "bad process type", api: "0.9", wantCode: 52, wantErr: "invalid process type",
			build: `printf '[[processes]]\ntype = "a/b"\ncommand = ["x"]\n' > "$1/launch.toml"`},
		{name: "unknown unmet", api: "0.9", wantCode: 52, wantErr: "unmet name",
			build: `printf '[[unmet]]\nname = "nope"\n' > "$1/build.toml"`},
		{name: "undeclared SBOM type", api: "0.9", wantCode: 52, wantErr: "not declared",
			build: `echo '{}' > "$1/launch.sbom.cdx.json"`},
		{name: "unsupported SBOM format", api: "0.9", extra: "sbom-formats = [\"application/vnd.cyclonedx+json\"]\n",
			wantCode: 52, wantErr: "unsupported SBOM", build: `echo '{}' > "$1/launch.sbom.foo.json"`},
		{name: "SBOM below 0.7 ignored", api: "0.6", build: `echo '{}' > "$1/launch.sbom.cdx.json"`},
		{name: "top-level version from 0.11", api: "0.11", wantCode: 21, wantErr: "top-level version",
			detect: `printf '[[provides]]\nname = "n"\n[[requires]]\nname = "n"\nversion = "1"\n' > "$2"`},
		{name: "version and metadata.version", api: "0.3", wantCode: 21, wantErr: "both",
			detect: `printf '[[provides]]\nname = "n"\n[[requires]]\nname = "n"\nversion = "1"\n[requires.metadata]\nversion = "1"\n' > "$2"`},
		{name: "invalid plan TOML", api: "0.9", wantCode: 21, wantErr: "build plan", detect: `echo '[[[' > "$2"`},
		{name: "bom with top-level version", api: "0.6", wantCode: 52, wantErr: "top-level version",
			build: `printf '[[bom]]\nname = "x"\nversion = "1"\n' > "$1/launch.toml"`},
		{name: "bad launch.toml", api: "0.9", wantCode: 52, build: `echo '[[[' > "$1/launch.toml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := buildOne(t, tt.api, tt.extra, tt.detect, tt.build)
			if got := ExitCode(err); got != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)", got, tt.wantCode, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %q lacks %q", err, tt.wantErr)
			}
		})
	}
}

func TestLayerFormats(t *testing.T) {
	tests := []struct {
		name, api, toml string
		want            *Layer // nil: ignored
		renamed         bool   // dir renamed to <name>.ignore
	}{
		{name: "0.5 top-level", api: "0.5", toml: "launch = true\ncache = true\n[metadata]\nk = \"v\"\n",
			want: &Layer{Launch: true, Cache: true, Metadata: map[string]any{"k": "v"}}},
		{name: "0.5 types table ignored", api: "0.5", toml: "[types]\nlaunch = true\n"},
		{name: "0.6 types", api: "0.6", toml: "[types]\nbuild = true\nunknown = true\n", want: &Layer{Build: true}},
		{name: "0.6 restored metadata only", api: "0.6", toml: "[metadata]\nk = 1.0\n", renamed: true},
		{name: "0.6 all false", api: "0.6", toml: "[types]\nlaunch = false\n", renamed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := "mkdir -p \"$1/l\"\ncat > \"$1/l.toml\" <<'T'\n" + tt.toml + "T"
			p, br, err := buildOne(t, tt.api, "", "", build)
			if err != nil {
				t.Fatal(err)
			}
			var got []Layer
			if len(br.Buildpacks) == 1 {
				got = br.Buildpacks[0].Layers
			}
			var want []Layer
			if tt.want != nil {
				l := *tt.want
				l.Name, l.Dir, l.HasDir = "l", p.Layers.join("test_x", "l"), true
				want = []Layer{l}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("layers (-want +got):\n%s", diff)
			}
			if got := isDir(filepath.Join(p.Layers.Host, "test_x", "l.ignore")); got != tt.renamed {
				t.Errorf("renamed = %v, want %v", got, tt.renamed)
			}
		})
	}
}

func TestProcessesPerAPI(t *testing.T) {
	tests := []struct {
		name, api, launch string
		want              Process
		wantDefault       string
	}{
		{name: "0.2 web is the default", api: "0.2", launch: "type = \"web\"\ncommand = \"run\"\n",
			want: Process{Type: "web", Command: []string{"run"}}, wantDefault: "web"},
		{name: "0.5 default key ignored", api: "0.5", launch: "type = \"w\"\ncommand = \"run\"\ndefault = true\n",
			want: Process{Type: "w", Command: []string{"run"}}},
		{name: "0.6 web is not implicit", api: "0.6", launch: "type = \"web\"\ncommand = \"run\"\ndirect = true\n",
			want: Process{Type: "web", Command: []string{"run"}, Direct: true}},
		{name: "0.7 working-dir ignored", api: "0.7", launch: "type = \"w\"\ncommand = \"run\"\nworking-dir = \"/x\"\n",
			want: Process{Type: "w", Command: []string{"run"}}},
		{name: "0.9 array and direct", api: "0.9", launch: "type = \"w\"\ncommand = [\"run\", \"now\"]\nargs = [\"x\"]\ndefault = true\n",
			want: Process{Type: "w", Command: []string{"run", "now"}, Args: []string{"x"}, Direct: true}, wantDefault: "w"},
		{name: "0.11 exec-env ignored", api: "0.11", launch: "type = \"w\"\ncommand = [\"run\"]\nexec-env = [\"test\"]\n",
			want: Process{Type: "w", Command: []string{"run"}, Direct: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := "cat > \"$1/launch.toml\" <<'T'\n[[processes]]\n" + tt.launch + "T"
			_, br, err := buildOne(t, tt.api, "", "", build)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.BuildpackID = "test/x"
			if diff := cmp.Diff([]Process{tt.want}, br.Metadata.Processes); diff != "" {
				t.Errorf("processes (-want +got):\n%s", diff)
			}
			if br.Metadata.DefaultProcessType != tt.wantDefault {
				t.Errorf("default = %q, want %q", br.Metadata.DefaultProcessType, tt.wantDefault)
			}
		})
	}
}

func TestMetadataCommandStringBeforePlatform010(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.toml")
	m := BuildMetadata{Processes: []Process{{Type: "w", Command: []string{"run", "now"}, Args: []string{"x"}, Direct: true, BuildpackID: "b"}}}
	if err := WriteBuildMetadata(path, m, "0.9"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if !strings.Contains(got, `command = "run"`) || !strings.Contains(got, `args = ["now", "x"]`) {
		t.Errorf("metadata.toml for Platform 0.9:\n%s", got)
	}
}

func TestClearEnv(t *testing.T) {
	p, _, err := buildOne(t, "0.9", "clear-env = true\n", "", `env > "$1/env.txt"`)
	if err != nil {
		t.Fatal(err)
	}
	env := envFile(t, filepath.Join(p.Layers.Host, "test_x", "env.txt"))
	if env["PATH"] != "/usr/bin:/bin" || env["PLATFORM_VAR"] != "" {
		t.Errorf("clear-env buildpack saw PATH=%q PLATFORM_VAR=%q", env["PATH"], env["PLATFORM_VAR"])
	}
}

func TestWalkthroughEmptyBuildpack(t *testing.T) {
	p := testPaths(t, "")
	ctx := context.Background()
	var out strings.Builder
	dr, err := (&Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(GroupEntry{ID: "buildpacks/empty", Version: "0.0.1"}),
		Target: TargetData{OS: "linux", Arch: "amd64"}, Env: baseEnv, Output: &out}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "---> Detecting Empty Buildpack") {
		t.Errorf("detect output: %q", out.String())
	}
	out.Reset()
	br, err := (&Builder{Paths: p, Runner: ExecRunner{}, Group: dr.Group, Plan: dr.Plan, Env: baseEnv, Stdout: &out}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "---> Building Empty Buildpack\n---> Done\n" {
		t.Errorf("build output: %q", out.String())
	}
	want := BuildMetadata{Buildpacks: []GroupEntry{{ID: "buildpacks/empty", Version: "0.0.1", API: "0.2", Homepage: "https://github.com/future-architect/"}}}
	if diff := cmp.Diff(want, br.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(p.Layers.Host, "config", "metadata.toml")); err != nil {
		t.Error(err)
	}
}

// Symlinks a buildpack leaves in the layers dir, in place of what kiln
// writes there (sbom/, config/, another buildpack's layers dir), never make
// the phase code write or read outside it: the build fails with an error
// naming the path. A .kiln symlink is nothing to kiln.
func TestPlantedSymlinks(t *testing.T) {
	for _, tc := range []struct{ name, err string }{
		{"sbom", "/sbom"}, {"config", "/config"}, {"test_y", "/test_y"}, {".kiln", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside := t.TempDir()
			dir := t.TempDir()
			plant := `ln -s "` + outside + `" "$1/../` + tc.name + `"
echo '{}' > "$1/launch.sbom.cdx.json"`
			inlineBuildpack(t, dir, "test/x", "0.9", "sbom-formats = [\"application/vnd.cyclonedx+json\"]\n", "exit 0", plant)
			inlineBuildpack(t, dir, "test/y", "0.9", "", "exit 0", `printf '[types]\nlaunch = true\n' > "$1/l.toml"; mkdir "$1/l"`)
			p := testPaths(t, dir)
			b := &Builder{Paths: p, Runner: ExecRunner{}, Group: Group{Group: []GroupEntry{ref("test/x"), ref("test/y")}}, Env: baseEnv}
			br, err := b.Run(context.Background())
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (!errors.Is(err, beneath.ErrSymlink) || !strings.Contains(err.Error(), p.Layers.Container+tc.err)):
				t.Errorf("error %v, want one about the symlink at %s", err, tc.err)
			}
			entries, rerr := os.ReadDir(outside)
			if rerr != nil {
				t.Fatal(rerr)
			}
			for _, e := range entries {
				t.Errorf("the build wrote %s outside the layers dir", e.Name())
			}
			if err != nil {
				return
			}
			if l := br.Buildpacks[1].Layers; len(l) != 1 || !strings.HasPrefix(l[0].Dir.Host, p.Layers.Host) {
				t.Errorf("layers of test/y = %+v", l)
			}
		})
	}
}

func TestBuildConfigEnv(t *testing.T) {
	dir := t.TempDir()
	inlineBuildpack(t, dir, "test/x", "0.12", "clear-env = true\n", "exit 0", `env > "$1/env.txt"`)
	p := testPaths(t, dir)
	p.BuildConfig = t.TempDir()
	writeFile(t, filepath.Join(p.BuildConfig, "env", "HOME"), "/operator")    // no suffix: default, HOME is set
	writeFile(t, filepath.Join(p.BuildConfig, "env", "OPERATOR"), "op")       // default onto nothing
	writeFile(t, filepath.Join(p.BuildConfig, "env", "PATH.prepend"), "/op:") // applied even under clear-env
	b := &Builder{Paths: p, Runner: ExecRunner{}, Group: Group{Group: []GroupEntry{ref("test/x")}}, Env: baseEnv}
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	env := envFile(t, filepath.Join(p.Layers.Host, "test_x", "env.txt"))
	want := map[string]string{"HOME": "/home/cnb", "OPERATOR": "op", "PATH": "/op:/usr/bin:/bin", "PLATFORM_VAR": ""}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}
