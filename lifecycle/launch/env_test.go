package launch

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewLaunchEnv(t *testing.T) {
	e := newLaunchEnv([]string{
		"HOME=/home/cnb",
		"PATH=/cnb/process:/usr/bin:/cnb/lifecycle/:/bin",
		"CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace", "CNB_PROCESS_TYPE=web",
		"CNB_PLATFORM_API=0.14", "CNB_DEPRECATION_MODE=quiet",
		"CNB_OTHER=kept", "EMPTY=", "noequals", "HOME=/root",
	})
	want := []string{"HOME=/root", "PATH=/usr/bin:/bin", "CNB_OTHER=kept", "EMPTY="}
	if diff := cmp.Diff(want, e.list()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAddEnvDir(t *testing.T) {
	tests := []struct {
		name   string
		legacy bool     // Buildpack API < 0.5
		start  []string // environment before
		files  map[string]string
		want   map[string]string
	}{{
		name: "no suffix overrides from API 0.5", start: []string{"X=user"},
		files: map[string]string{"X": "b"}, want: map[string]string{"X": "b"},
	}, {
		name: "no suffix prepends with ':' below API 0.5", legacy: true, start: []string{"X=a"},
		files: map[string]string{"X": "b"}, want: map[string]string{"X": "b:a"},
	}, {
		name: "no suffix below API 0.5 uses NAME.delim", legacy: true, start: []string{"X=a"},
		files: map[string]string{"X": "b", "X.delim": "|"}, want: map[string]string{"X": "b|a"},
	}, {
		name: "no suffix below API 0.5 on an unset variable", legacy: true,
		files: map[string]string{"X": "b"}, want: map[string]string{"X": "b"},
	}, {
		name: "override beats the user's value", start: []string{"OVR=user"},
		files: map[string]string{"OVR.override": "zeta"}, want: map[string]string{"OVR": "zeta"},
	}, {
		name: "default keeps a set value and fills an unset one", start: []string{"A=user", "B="},
		files: map[string]string{"A.default": "d", "B.default": "d", "C.default": "d"},
		want:  map[string]string{"A": "user", "B": "d", "C": "d"},
	}, {
		name: "prepend and append without .delim concatenate", start: []string{"P=alpha", "Q=alpha"},
		files: map[string]string{"P.prepend": "zeta", "Q.append": "zeta"},
		want:  map[string]string{"P": "zetaalpha", "Q": "alphazeta"},
	}, {
		name: "prepend and append with .delim", start: []string{"P=a", "Q=a"},
		files: map[string]string{"P.prepend": "b", "P.delim": ",", "Q.append": "b", "Q.delim": ", "},
		want:  map[string]string{"P": "b,a", "Q": "a, b"},
	}, {
		name:  "prepend and append to an unset variable add no delimiter",
		files: map[string]string{"P.prepend": "b", "P.delim": ":", "Q.append": "b", "Q.delim": ":"},
		want:  map[string]string{"P": "b", "Q": "b"},
	}, {
		name:  "values are neither trimmed nor evaluated",
		files: map[string]string{"V.override": " $HOME\n"},
		want:  map[string]string{"V": " $HOME\n"},
	}, {
		name: "unknown suffixes and .delim alone do nothing", start: []string{"X=a"},
		files: map[string]string{"X.bogus": "b", "X.override.extra": "c", "Y.delim": ":"},
		want:  map[string]string{"X": "a", "Y": ""},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content, 0o644)
			}
			e := newLaunchEnv(tt.start)
			if err := e.addEnvDir(dir, tt.legacy); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k := range tt.want {
				got[k] = e.get(k)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
