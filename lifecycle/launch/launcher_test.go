package launch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// execCall records what Launch would have exec'd.
type execCall struct {
	Path string
	Argv []string
	Env  map[string]string
	Dir  string
}

// fixture is a layers dir and an app dir with a launcher that records its
// exec instead of doing it.
type fixture struct {
	layers, app string
	l           *Launcher
	call        *execCall
	stderr      bytes.Buffer
}

func newFixture(t *testing.T, md Metadata, environ ...string) *fixture {
	t.Helper()
	t.Chdir(t.TempDir()) // Launch changes directory; restore it afterwards
	root := t.TempDir()
	f := &fixture{layers: filepath.Join(root, "layers"), app: filepath.Join(root, "workspace")}
	for _, d := range []string{f.layers, f.app} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.l = &Launcher{
		AppDir: f.app, LayersDir: f.layers, PlatformAPI: "0.14", ExecEnv: DefaultExecEnv,
		Metadata: md, Env: environ, Stdout: &f.stderr, Stderr: &f.stderr,
		Exec: func(path string, argv, env []string) error {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			c := &execCall{Path: path, Argv: argv, Env: map[string]string{}, Dir: wd}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				c.Env[k] = v
			}
			f.call = c
			return nil
		},
	}
	return f
}

// file writes a file below the layers dir.
func (f *fixture) file(t *testing.T, rel, content string, mode os.FileMode) {
	t.Helper()
	writeFile(t, filepath.Join(f.layers, rel), content, mode)
}

func (f *fixture) launch(t *testing.T, argv0 string, args ...string) *execCall {
	t.Helper()
	if err := f.l.Launch(context.Background(), argv0, args); err != nil {
		t.Fatalf("Launch: %v\n%s", err, f.stderr.String())
	}
	return f.call
}

func twoBuildpacks(api1, api2 string, procs ...Process) Metadata {
	return Metadata{Buildpacks: []Buildpack{{ID: "acme/bp1", API: api1}, {ID: "acme/bp2", API: api2}}, Processes: procs}
}

func TestLaunchPathOrder(t *testing.T) {
	f := newFixture(t, twoBuildpacks("0.10", "0.10"), "PATH=/cnb/process:/usr/bin:/cnb/lifecycle:/bin", "LD_LIBRARY_PATH=/orig")
	for _, bp := range []string{"acme_bp1", "acme_bp2"} {
		for _, layer := range []string{"zeta", "alpha"} {
			for _, sub := range []string{"bin", "lib"} {
				if err := os.MkdirAll(filepath.Join(f.layers, bp, layer, sub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// A buildpack of the group without a directory is skipped.
	f.l.Metadata.Buildpacks = append(f.l.Metadata.Buildpacks, Buildpack{ID: "acme/none", API: "0.10"})
	c := f.launch(t, "launcher", "--", "true")
	l := f.layers
	want := strings.Join([]string{
		l + "/acme_bp2/zeta/bin", l + "/acme_bp2/alpha/bin", l + "/acme_bp1/zeta/bin", l + "/acme_bp1/alpha/bin", "/usr/bin", "/bin",
	}, ":")
	if got := c.Env["PATH"]; got != want {
		t.Errorf("PATH =\n%s, want\n%s", got, want)
	}
	wantLib := strings.ReplaceAll(strings.ReplaceAll(want, "/bin", "/lib"), ":/usr/lib:/lib", ":/orig")
	if got := c.Env["LD_LIBRARY_PATH"]; got != wantLib {
		t.Errorf("LD_LIBRARY_PATH =\n%s, want\n%s", got, wantLib)
	}
	if c.Path != "/usr/bin/true" && c.Path != "/bin/true" {
		t.Errorf("exec path %s, want true looked up on PATH", c.Path)
	}
}

func TestLaunchEnvPrecedence(t *testing.T) {
	web := Process{Type: "web", Command: []string{"true"}, Direct: true, BuildpackID: "acme/bp2"}
	f := newFixture(t, twoBuildpacks("0.4", "0.9", web), "PATH=/usr/bin:/bin", "OVR=user", "LEG=user")
	// Buildpack 1 (API 0.4): no suffix prepends with ':'.
	f.file(t, "acme_bp1/a/env/LEG", "bp1", 0o644)
	f.file(t, "acme_bp1/a/env/DEF.default", "bp1", 0o644)
	f.file(t, "acme_bp1/a/env/OVR.override", "bp1", 0o644)
	// Buildpack 2 (API 0.9): later buildpack, later layer name win overrides.
	f.file(t, "acme_bp2/alpha/env/OVR", "alpha", 0o644)
	f.file(t, "acme_bp2/zeta/env/OVR.override", "zeta", 0o644)
	f.file(t, "acme_bp2/alpha/env/DEF.default", "bp2", 0o644)
	f.file(t, "acme_bp2/alpha/env.launch/L", "launch", 0o644)
	f.file(t, "acme_bp2/alpha/env.build/B", "build only", 0o644)
	f.file(t, "acme_bp2/alpha/env.launch/web/T", "web", 0o644)
	f.file(t, "acme_bp2/alpha/env.launch/worker/T", "worker", 0o644)
	f.file(t, "acme_bp2/alpha/env/CAT.append", "alpha", 0o644)
	f.file(t, "acme_bp2/zeta/env/CAT.append", "zeta", 0o644)

	c := f.launch(t, "/cnb/process/web")
	want := map[string]string{
		"LEG": "bp1:user", "DEF": "bp1", "OVR": "zeta", "L": "launch", "T": "web", "CAT": "alphazeta", "B": "",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = c.Env[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.Dir != f.app {
		t.Errorf("exec from %s, want the app dir %s", c.Dir, f.app)
	}
}

func TestLaunchExecD(t *testing.T) {
	needBash(t)
	web := Process{Type: "web", Command: []string{"true"}, Direct: true, BuildpackID: "acme/bp2"}
	f := newFixture(t, twoBuildpacks("0.4", "0.10", web), "PATH=/usr/bin:/bin", "BPL_X=platform")
	f.file(t, "acme_bp2/a/env/FROM_ENV", "env file", 0o644)
	f.file(t, "acme_bp2/a/exec.d/1", "#!/bin/bash\necho 'ORDER = \"1\"' >&3\n"+
		`printf 'SEEN = "%s"\nCWD = "%s"\nFROM_BPL = "%s"\n' "$FROM_ENV" "$(pwd)" "$BPL_X" >&3`+"\necho on-stdout\n", 0o755)
	f.file(t, "acme_bp2/a/exec.d/2", "#!/bin/bash\necho \"ORDER = \\\"$ORDER 2\\\"\" >&3\n", 0o755)
	f.file(t, "acme_bp2/a/exec.d/web/3", "#!/bin/bash\necho \"ORDER = \\\"$ORDER web\\\"\" >&3\n", 0o755)
	f.file(t, "acme_bp2/a/exec.d/worker/4", "#!/bin/bash\necho 'ORDER = \"worker\"' >&3\n", 0o755)
	f.file(t, "acme_bp2/b/exec.d/5", "#!/bin/bash\necho \"ORDER = \\\"$ORDER b\\\"\" >&3\n", 0o755)
	f.file(t, "acme_bp2/b/exec.d/6", "#!/bin/bash\n# prints nothing\n", 0o755)
	// Below Buildpack API 0.5 exec.d is not run.
	f.file(t, "acme_bp1/a/exec.d/x", "#!/bin/bash\necho 'OLD = \"ran\"' >&3\n", 0o755)

	c := f.launch(t, "web")
	want := map[string]string{
		"ORDER": "1 2 web b", "SEEN": "env file", "CWD": f.app, "FROM_BPL": "platform", "OLD": "",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = c.Env[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(f.stderr.String(), "on-stdout") {
		t.Errorf("exec.d stdout was not passed on: %q", f.stderr.String())
	}
}

func TestLaunchExecDErrors(t *testing.T) {
	needBash(t)
	for name, script := range map[string]string{
		"non-zero exit":   "#!/bin/bash\nexit 3\n",
		"not executable":  "",
		"not TOML":        "#!/bin/bash\necho 'garbage' >&3\n",
		"not a string":    "#!/bin/bash\necho 'N = 1' >&3\n",
		"a nested table:": "#!/bin/bash\necho '[t]' >&3\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, twoBuildpacks("0.10", "0.10"), "PATH=/usr/bin:/bin")
			mode := os.FileMode(0o755)
			if script == "" {
				script, mode = "#!/bin/bash\n", 0o644
			}
			f.file(t, "acme_bp1/a/exec.d/x", script, mode)
			err := f.l.Launch(context.Background(), "launcher", []string{"--", "true"})
			if !errors.Is(err, ErrExecD) {
				t.Fatalf("err = %v, want ErrExecD", err)
			}
			if f.call != nil {
				t.Error("the process was exec'd after an exec.d failure")
			}
		})
	}
}

func TestLaunchWorkingDirAndLookup(t *testing.T) {
	f := newFixture(t, twoBuildpacks("0.10", "0.10",
		Process{Type: "web", Command: []string{"myapp", "a"}, Args: []string{"b"}, Direct: true, BuildpackID: "acme/bp1"},
		Process{Type: "rel", Command: []string{"./run.sh"}, Direct: true, BuildpackID: "acme/bp1", WorkingDir: "/"},
	), "PATH=/usr/bin")
	f.file(t, "acme_bp1/layer/bin/myapp", "#!/bin/sh\n", 0o755)

	c := f.launch(t, "/cnb/process/web", "c")
	want := &execCall{Path: filepath.Join(f.layers, "acme_bp1/layer/bin/myapp"), Argv: []string{"myapp", "a", "c"}, Dir: f.app}
	if diff := cmp.Diff(want, c, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Env" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A relative command is found from the process's working directory.
	if err := f.l.Launch(context.Background(), "rel", nil); err == nil {
		t.Fatal("./run.sh does not exist in /; want a lookup error")
	}
	wd := t.TempDir()
	writeFile(t, filepath.Join(wd, "run.sh"), "#!/bin/sh\n", 0o755)
	f.l.Metadata.Processes[1].WorkingDir = wd
	c = f.launch(t, "rel")
	if c.Path != "./run.sh" || c.Dir != wd {
		t.Errorf("exec %s from %s, want ./run.sh from %s", c.Path, c.Dir, wd)
	}
}

func TestLaunchShell(t *testing.T) {
	needBash(t)
	web := Process{Type: "web", Command: []string{"echo $X"}, Args: []string{"$Y"}, BuildpackID: "acme/bp1"}
	f := newFixture(t, twoBuildpacks("0.8", "0.10", web), "PATH=/usr/bin:/bin")
	f.file(t, "acme_bp1/b/profile.d/2.sh", "", 0o644)
	f.file(t, "acme_bp1/a/profile.d/1.sh", "", 0o644)
	f.file(t, "acme_bp1/a/profile.d/web/w.sh", "", 0o644)
	f.file(t, "acme_bp1/a/profile.d/worker/x.sh", "", 0o644)
	f.file(t, "acme_bp2/a/profile.d/it's.sh", "", 0o644)
	writeFile(t, filepath.Join(f.app, ".profile"), "", 0o644)

	c := f.launch(t, "/cnb/process/web", "u")
	l := f.layers
	script := "source '" + l + "/acme_bp1/a/profile.d/1.sh'\n" +
		"source '" + l + "/acme_bp1/a/profile.d/web/w.sh'\n" +
		"source '" + l + "/acme_bp1/b/profile.d/2.sh'\n" +
		"source '" + l + `/acme_bp2/a/profile.d/it'\''s.sh'` + "\n" +
		"source '" + f.app + "/.profile'\n" +
		"cd '" + f.app + "'\n" +
		`exec bash -c '"$(eval echo \"$0\")" "$(eval echo \"$1\")" "$(eval echo \"$2\")"' "${@:1}"`
	want := []string{"bash", "-c", script, "/cnb/process/web", "echo $X", "$Y", "u"}
	if c.Path != "/bin/bash" {
		t.Errorf("exec %s, want /bin/bash", c.Path)
	}
	if diff := cmp.Diff(want, c.Argv); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A command without arguments is a script.
	c = f.launch(t, "launcher", "echo hi; exit 3")
	if got := c.Argv[2]; !strings.HasSuffix(got, "\nexec bash -c \"$@\"") {
		t.Errorf("script launch: %q", got)
	}
}

// needBash skips tests that run bash scripts where there is no bash.
func needBash(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(bashPath); err != nil {
		testutil.Skip(t, "exec.d and shell tests run bash scripts, and there is no /bin/bash")
	}
}
