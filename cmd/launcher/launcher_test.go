package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// image is a layers dir, an app dir and /cnb/process-style symlinks to the
// launcher, laid out in a temporary directory as an exported image has them.
type image struct {
	layers, app, process string
	env                  []string
}

const metadata = `buildpack-default-process-type = "web"

[[buildpacks]]
  id = "acme/app"
  version = "1.0.0"
  api = "0.10"

[[buildpacks]]
  id = "acme/old"
  version = "0.1.0"
  api = "0.8"

[[processes]]
  type = "web"
  command = ["app", "fixed"]
  args = ["default"]
  direct = true
  buildpack-id = "acme/app"

[[processes]]
  type = "legacy-shell"
  command = ["echo"]
  args = ["$GREETING", "$FROM_PROFILE"]
  direct = false
  buildpack-id = "acme/old"
`

func newImage(t *testing.T, md string) *image {
	t.Helper()
	root := t.TempDir()
	im := &image{
		layers:  filepath.Join(root, "layers"),
		app:     filepath.Join(root, "workspace"),
		process: filepath.Join(root, "cnb", "process"),
	}
	write(t, filepath.Join(im.layers, "config", "metadata.toml"), md, 0o644)
	write(t, filepath.Join(im.layers, "acme_app", "main", "bin", "app"),
		"#!/bin/sh\necho \"args=$* greeting=$GREETING pwd=$(pwd)\"\nenv | grep ^CNB_ || true\nexit 7\n", 0o755)
	write(t, filepath.Join(im.layers, "acme_app", "main", "env", "GREETING.default"), "hello", 0o644)
	write(t, filepath.Join(im.layers, "acme_app", "main", "profile.d", "p.sh"), "export FROM_PROFILE=profile\n", 0o644)
	write(t, filepath.Join(im.app, "file"), "", 0o644)
	if err := os.MkdirAll(im.process, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"web", "legacy-shell", "missing"} {
		if err := os.Symlink(launcherBinary(t), filepath.Join(im.process, typ)); err != nil {
			t.Fatal(err)
		}
	}
	im.env = []string{
		"CNB_PLATFORM_API=0.14", "CNB_LAYERS_DIR=" + im.layers, "CNB_APP_DIR=" + im.app,
		"CNB_DEPRECATION_MODE=quiet", "PATH=/cnb/process:/cnb/lifecycle:/usr/bin:/bin",
	}
	return im
}

// run starts the launcher as path (the launcher itself or a process-type
// symlink) and returns its exit code and output.
func (im *image) run(t *testing.T, path string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

func TestLauncher(t *testing.T) {
	im := newImage(t, metadata)
	web := filepath.Join(im.process, "web")
	tests := []struct {
		name       string
		path       string // default: the launcher
		env        []string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{{
		name: "process type from argv[0], default args", path: web,
		wantCode: 7, wantStdout: "args=fixed default greeting=hello pwd=" + im.app + "\n",
	}, {
		name: "user args replace the defaults", path: web, args: []string{"u1", "u 2"},
		wantCode: 7, wantStdout: "args=fixed u1 u 2 greeting=hello pwd=" + im.app + "\n",
	}, {
		name: "a user-set variable survives a .default file; CNB_PROCESS_TYPE is ignored", path: web,
		env:      []string{"GREETING=from-user", "CNB_PROCESS_TYPE=other"},
		wantCode: 7, wantStdout: "args=fixed default greeting=from-user pwd=" + im.app + "\n",
		wantStderr: "CNB_PROCESS_TYPE is not supported",
	}, {
		name: "direct command", args: []string{"--", "app", "$GREETING"},
		wantCode: 7, wantStdout: "args=$GREETING greeting=hello pwd=" + im.app + "\n",
	}, {
		name: "a command string is a bash script; profile.d is sourced", args: []string{`echo "$GREETING $FROM_PROFILE"; exit 5`},
		wantCode: 5, wantStdout: "hello profile\n",
	}, {
		name: "with arguments each token is evaluated on its own", args: []string{"echo", "$GREETING", "a  b", "$(echo sub)"},
		wantStdout: "hello a b sub\n", // as in the lifecycle, eval re-splits a token
	}, {
		name: "a buildpack API 0.8 shell process gets the user's args appended", path: filepath.Join(im.process, "legacy-shell"),
		args: []string{"$PWD"}, wantStdout: "hello profile " + im.app + "\n",
	}, {
		name: "argv[0] naming no process and no command", path: filepath.Join(im.process, "missing"),
		wantCode: 82, wantStderr: "when there is no default process a command is required",
	}, {
		name: "the launcher without a command", wantCode: 82, wantStderr: "a command is required",
	}, {
		name: "a direct command that does not exist", args: []string{"--", "no-such-command"},
		wantCode: 82, wantStderr: "no-such-command",
	}, {
		name: "UMASK sets the umask", env: []string{"UMASK=0027"}, args: []string{"--", "sh", "-c", "umask"},
		wantStdout: "0027\n",
	}, {
		name: "an invalid UMASK is a launch error", env: []string{"UMASK=999"}, args: []string{"--", "true"},
		wantCode: 82, wantStderr: "UMASK",
	}, {
		name: "no platform API", env: []string{"CNB_PLATFORM_API="}, args: []string{"--", "true"},
		wantCode: 11, wantStderr: "CNB_PLATFORM_API is not set",
	}, {
		name: "unsupported platform API", env: []string{"CNB_PLATFORM_API=0.3"}, args: []string{"--", "true"},
		wantCode: 11, wantStderr: "platform API 0.3",
	}, {
		name: "no metadata.toml", env: []string{"CNB_LAYERS_DIR=" + t.TempDir()}, args: []string{"--", "true"},
		wantCode: 1, wantStderr: "metadata",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = launcherBinary(t)
			}
			code, stdout, stderr := im.run(t, path, append(append([]string(nil), im.env...), tt.env...), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			if tt.wantStdout != "" && stdout != tt.wantStdout {
				t.Errorf("stdout %q, want %q (stderr %q)", stdout, tt.wantStdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestLauncherBuildpackAPI(t *testing.T) {
	im := newImage(t, strings.Replace(metadata, `api = "0.10"`, `api = "0.1"`, 1))
	code, _, stderr := im.run(t, launcherBinary(t), im.env, "--", "true")
	if code != 12 {
		t.Errorf("exit code %d, want 12; stderr %s", code, stderr)
	}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
