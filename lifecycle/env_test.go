package lifecycle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			if err := e.addEnvDir(SameDir(root), "env", tt.noSuffix); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, e); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvFilesStayInside(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(outside, "SECRET"), "host secret")
	writeFile(t, filepath.Join(root, "layer", "env", "placeholder"), "")
	// A buildpack's symlink to a host file resolves inside the layers dir.
	if err := os.Symlink(filepath.Join(outside, "SECRET"), filepath.Join(root, "layer", "env", "LEAK.override")); err != nil {
		t.Fatal(err)
	}
	e := env{}
	if err := e.addEnvDir(SameDir(root), "layer/env", actionOverride); err != nil {
		t.Fatal(err)
	}
	if v, ok := e["LEAK"]; ok {
		t.Errorf("LEAK = %q read through a symlink out of the layers dir", v)
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
