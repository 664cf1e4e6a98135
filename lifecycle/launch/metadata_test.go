package launch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// metadataP014 is metadata.toml as lifecycle v0.20 writes it for Platform
// API 0.14 (BurntSushi/toml encoding: two-space indent, inline arrays).
const metadataP014 = `buildpack-default-process-type = "web"

[[buildpacks]]
  id = "samples/bash-script"
  version = "0.0.1"
  api = "0.11"
  homepage = "https://github.com/buildpacks/samples"

[[buildpacks]]
  id = "acme/old"
  version = "1.0.0"
  api = "0.4"

[[labels]]
  key = "org.example.x"
  value = "y"

[[processes]]
  type = "web"
  command = ["./app.sh", "--flag"]
  args = ["a \"q\" \\ \t\n\u0001 é"]
  direct = true
  buildpack-id = "samples/bash-script"
  working-dir = "/tmp"

[[processes]]
  type = "worker"
  command = ["echo"]
  direct = false
  buildpack-id = "acme/old"
  exec-env = ["production", "test"]

[[slices]]
  paths = ["sub/*"]

[[bom]]
  name = "x"
  [bom.metadata]
    version = "1.2"
    count = 3
    when = 2020-01-01T00:00:00Z
`

// metadataP09 is the Platform API < 0.10 shape: command is a string.
const metadataP09 = `[[buildpacks]]
  id = "b"
  version = "2"

[[processes]]
  type = "web"
  command = "bundle exec puma"
  args = ["-p", "8080"]
  direct = false
  buildpack-id = "b"
`

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name, in string
		want     Metadata
	}{{
		name: "platform 0.14",
		in:   metadataP014,
		want: Metadata{
			DefaultProcessType: "web",
			Buildpacks: []Buildpack{
				{ID: "samples/bash-script", Version: "0.0.1", API: "0.11"},
				{ID: "acme/old", Version: "1.0.0", API: "0.4"},
			},
			Processes: []Process{{
				Type: "web", Command: []string{"./app.sh", "--flag"}, Args: []string{"a \"q\" \\ \t\n\x01 é"},
				Direct: true, BuildpackID: "samples/bash-script", WorkingDir: "/tmp",
			}, {
				Type: "worker", Command: []string{"echo"}, BuildpackID: "acme/old",
				ExecEnv: []string{"production", "test"},
			}},
		},
	}, {
		name: "platform 0.9, string command, no api",
		in:   metadataP09,
		want: Metadata{
			Buildpacks: []Buildpack{{ID: "b", Version: "2"}},
			Processes: []Process{{
				Type: "web", Command: []string{"bundle exec puma"}, Args: []string{"-p", "8080"}, BuildpackID: "b",
			}},
		},
	}, {
		name: "empty",
		in:   "",
		want: Metadata{},
	}, {
		name: "processes written as TOML text",
		in:   "processes = [\"type = \\\"web\\\"\\ncommand = [\\\"x\\\"]\\ndirect = true\\n\"]",
		want: Metadata{Processes: []Process{{Type: "web", Command: []string{"x"}, Direct: true}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetadata([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMetadataErrors(t *testing.T) {
	for _, in := range []string{
		"buildpack-default-process-type = 1",
		"[[buildpacks]]\nid = true",
		"[[processes]]\ncommand = [1]",
		"[[processes]]\ndirect = \"yes\"",
		"[[processes]]\nargs = \"x\"",
		"processes = 3",
		"[[processes]\n",
	} {
		if got, err := ParseMetadata([]byte(in)); err == nil {
			t.Errorf("ParseMetadata(%q) = %+v, want an error", in, got)
		}
	}
}

func TestReadMetadata(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadMetadata(dir); err == nil {
		t.Error("ReadMetadata without a file: want an error")
	}
	writeFile(t, MetadataPath(dir), metadataP09, 0o644)
	md, err := ReadMetadata(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Processes) != 1 || md.Processes[0].Type != "web" {
		t.Errorf("got %+v", md)
	}
}

// writeFile creates path and its parents.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
