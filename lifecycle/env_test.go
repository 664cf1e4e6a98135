package lifecycle

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/beneath"
)

func TestEnvFiles(t *testing.T) {
	tests := []struct {
		name     string
		start    env
		files    map[string]string // env dir contents
		noSuffix string
		want     env
	}{
		{name: "no suffix overrides (API ≥0.5)", start: env{"A": "old"}, files: map[string]string{"A": "new"},
			noSuffix: actionOverride, want: env{"A": "new"}},
		{name: "no suffix prepends with colon (API <0.5)", start: env{"A": "old"}, files: map[string]string{"A": "new"},
			noSuffix: actionPrependPath, want: env{"A": "new:old"}},
		{name: "prepend-path onto nothing", start: env{}, files: map[string]string{"A": "new"},
			noSuffix: actionPrependPath, want: env{"A": "new"}},
		{name: "no suffix is default (build config)", start: env{"A": "old"}, files: map[string]string{"A": "new", "B": "b"},
			noSuffix: actionDefault, want: env{"A": "old", "B": "b"}},
		{name: "append and prepend without delim", start: env{"A": "mid", "B": "mid"},
			files: map[string]string{"A.append": "end", "B.prepend": "start"}, want: env{"A": "midend", "B": "startmid"}},
		{name: "delim", start: env{"A": "mid", "B": "mid"},
			files: map[string]string{"A.append": "end", "A.delim": ",", "B.prepend": "start", "B.delim": "|"},
			want:  env{"A": "mid,end", "B": "start|mid"}},
		{name: "delim onto nothing", start: env{}, files: map[string]string{"A.append": "end", "A.delim": ","}, want: env{"A": "end"}},
		{name: "default", start: env{"A": "old"}, files: map[string]string{"A.default": "x", "B.default": "b"}, want: env{"A": "old", "B": "b"}},
		{name: "override", start: env{"A": "old"}, files: map[string]string{"A.override": "x"}, want: env{"A": "x"}},
		{name: "values are raw", start: env{}, files: map[string]string{"A.override": " spaced \n"}, want: env{"A": " spaced \n"}},
		{name: "unknown suffix ignored", start: env{}, files: map[string]string{"A.bogus": "x", "B.x.override": "y"}, want: env{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, v := range tt.files {
				writeFile(t, filepath.Join(root, "env", name), v)
			}
			e := tt.start.clone()
			if err := e.addEnvDir(openTestTree(t, root), "env", tt.noSuffix, nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, e); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnvFilesStayInside: a buildpack's symlink to a host file, in place
// of an env file or of the env dir, is an error naming it, never followed;
// a subdirectory is skipped with a warning and the files after it still
// apply.
func TestEnvFilesStayInside(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(outside, "SECRET"), "host secret")
	writeFile(t, filepath.Join(root, "layer", "env", "placeholder"), "")
	if err := os.Symlink(filepath.Join(outside, "SECRET"), filepath.Join(root, "layer", "env", "LEAK.override")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "layer", "env.build")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "layer", "env.launch", "A.override"), "a")
	writeFile(t, filepath.Join(root, "layer", "env.launch", "B", "x"), "")
	writeFile(t, filepath.Join(root, "layer", "env.launch", "C.override"), "c")
	dir := openTestTree(t, root)
	for _, rel := range []string{"layer/env", "layer/env.build"} {
		e := env{}
		err := e.addEnvDir(dir, rel, actionOverride, nil)
		if !errors.Is(err, beneath.ErrSymlink) {
			t.Errorf("%s with a symlink: %v, want an error about the symlink", rel, err)
		}
		if v, ok := e["LEAK"]; ok {
			t.Errorf("LEAK = %q read through a symlink out of the layers dir", v)
		}
	}
	var log bytes.Buffer
	e := env{}
	if err := e.addEnvDir(dir, "layer/env.launch", actionOverride, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env{"A": "a", "C": "c"}, e); diff != "" {
		t.Errorf("a subdirectory dropped variables (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "env.launch/B") {
		t.Errorf("no warning names the subdirectory: %q", log.String())
	}
}

func TestNewEnvAllowlist(t *testing.T) {
	got := newEnv([]string{"PATH=/bin", "HOME=/h", "HOSTNAME=h", "CNB_STACK_ID=s", "HTTPS_PROXY=p", "no_proxy=n",
		"CNB_PLATFORM_API=0.13", "SECRET=x", "LANG=C"})
	want := env{"PATH": "/bin", "HOME": "/h", "HOSTNAME": "h", "CNB_STACK_ID": "s", "HTTPS_PROXY": "p", "no_proxy": "n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}
