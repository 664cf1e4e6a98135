package launch

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProcessFor(t *testing.T) {
	md := Metadata{
		Buildpacks: []Buildpack{{ID: "new", API: "0.9"}, {ID: "old", API: "0.8"}},
		Processes: []Process{
			{Type: "web", Command: []string{"server", "--port", "8080"}, Args: []string{"--debug"}, Direct: true, BuildpackID: "new"},
			{Type: "single", Command: []string{"run"}, Args: []string{"dflt"}, Direct: true, BuildpackID: "new"},
			{Type: "legacy", Command: []string{"run"}, Args: []string{"dflt"}, BuildpackID: "old"},
			{Type: "orphan", Command: []string{"run"}, BuildpackID: "gone"},
			{Type: "tests", Command: []string{"t"}, Direct: true, BuildpackID: "new", ExecEnv: []string{"test"}},
			{Type: "any", Command: []string{"a"}, Direct: true, BuildpackID: "new", ExecEnv: []string{"*"}},
		},
	}
	tests := []struct {
		name     string
		platform apiVersion
		argv0    string
		args     []string
		want     Process
		wantErr  error
	}{{
		name: "multi-element command, no user args: command[1:] then defaults",
		// web's args are defaults, command[1:] always passed.
		argv0: "/cnb/process/web",
		want:  Process{Type: "web", Command: []string{"server"}, Args: []string{"--port", "8080", "--debug"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "multi-element command, user args replace the defaults",
		argv0: "/cnb/process/web", args: []string{"--quiet"},
		want: Process{Type: "web", Command: []string{"server"}, Args: []string{"--port", "8080", "--quiet"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "buildpack API 0.9: user args replace",
		argv0: "single", args: []string{"u1", "u2"},
		want: Process{Type: "single", Command: []string{"run"}, Args: []string{"u1", "u2"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "no user args keep the defaults",
		argv0: "single",
		want:  Process{Type: "single", Command: []string{"run"}, Args: []string{"dflt"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "buildpack API 0.8: user args are appended",
		argv0: "/cnb/process/legacy", args: []string{"u"},
		want: Process{Type: "legacy", Command: []string{"run"}, Args: []string{"dflt", "u"}, BuildpackID: "old"},
	}, {
		name: "platform API 0.9: user args are always appended", platform: apiVersion{0, 9},
		argv0: "single", args: []string{"u"},
		want: Process{Type: "single", Command: []string{"run"}, Args: []string{"dflt", "u"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "argv[0] with .exe",
		argv0: `web.exe`,
		want:  Process{Type: "web", Command: []string{"server"}, Args: []string{"--port", "8080", "--debug"}, Direct: true, BuildpackID: "new"},
	}, {
		name:  "launcher without arguments",
		argv0: "/cnb/lifecycle/launcher", wantErr: ErrNoCommand,
	}, {
		name:  "-- runs directly",
		argv0: "/cnb/lifecycle/launcher", args: []string{"--", "echo", "$HOME"},
		want: Process{Command: []string{"echo"}, Args: []string{"$HOME"}, Direct: true},
	}, {
		name:  "a command string goes through bash",
		argv0: "launcher", args: []string{"echo $HOME", "x"},
		want: Process{Command: []string{"echo $HOME"}, Args: []string{"x"}},
	}, {
		name:  "a lone -- is a bash command, as in the lifecycle",
		argv0: "launcher", args: []string{"--"},
		want: Process{Command: []string{"--"}, Args: []string{}},
	}, {
		name:  "argv[0] naming no process type",
		argv0: "/cnb/process/nope", args: []string{"ls"},
		want: Process{Command: []string{"ls"}, Args: []string{}},
	}, {
		name:  "process of an unknown buildpack with user args",
		argv0: "orphan", args: []string{"x"}, wantErr: errAny,
	}, {
		name: "platform 0.15: a process outside the exec env is not selected", platform: apiVersion{0, 15},
		argv0: "tests", wantErr: ErrNoCommand,
	}, {
		name: "platform 0.14 ignores exec-env", platform: apiVersion{0, 14},
		argv0: "tests",
		want:  Process{Type: "tests", Command: []string{"t"}, Args: []string{}, Direct: true, BuildpackID: "new", ExecEnv: []string{"test"}},
	}, {
		name: "platform 0.15: exec-env * fits", platform: apiVersion{0, 15},
		argv0: "any",
		want:  Process{Type: "any", Command: []string{"a"}, Args: []string{}, Direct: true, BuildpackID: "new", ExecEnv: []string{"*"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.platform == (apiVersion{}) {
				tt.platform = apiVersion{0, 14}
			}
			l := &Launcher{Metadata: md, ExecEnv: DefaultExecEnv}
			got, err := l.processFor(tt.platform, tt.argv0, tt.args)
			switch {
			case tt.wantErr == errAny && err != nil:
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(sameStrings)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if md.Processes[0].Args[0] != "--debug" || len(md.Processes[0].Command) != 3 {
		t.Errorf("processFor modified the metadata: %+v", md.Processes[0])
	}
}

// errAny marks a test case that wants some error.
var errAny = errors.New("any error")

// sameStrings treats nil and empty slices alike.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParsePlatformAPI(t *testing.T) {
	for in, ok := range map[string]bool{
		"0.7": true, "0.10": true, "0.15": true, "": false, "0.6": false, "0.16": false, "1": false, "x": false, "0.x": false,
	} {
		if _, err := parsePlatformAPI(in); (err == nil) != ok {
			t.Errorf("parsePlatformAPI(%q) = %v, want ok=%v", in, err, ok)
		}
	}
	for in, ok := range map[string]bool{"": true, "0.2": true, "0.12": true, "0.13": false, "0.1": false, "1.0": false} {
		if _, err := buildpackAPI(Buildpack{ID: "b", API: in}); (err == nil) != ok {
			t.Errorf("buildpackAPI(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
