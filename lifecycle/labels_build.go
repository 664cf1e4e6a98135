package lifecycle

import (
	"encoding/json"
	"fmt"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// BuildLabel is the io.buildpacks.build.metadata label: the group, the
// launcher and the processes, as the lifecycle writes it: "bom" only below
// Platform API 0.9 (the entries, or null), "processes" always a list ([]
// when there are none), and buildpacks without the "api" the spec lists.
type BuildLabel struct {
	BOM                json.RawMessage    `json:"bom,omitempty"`
	Buildpacks         []BuildLabelModule `json:"buildpacks"`
	Extensions         []BuildLabelModule `json:"extensions,omitempty"`
	Launcher           LauncherMetadata   `json:"launcher"`
	Processes          []BuildLabelProc   `json:"processes"`
	DefaultProcessType string             `json:"buildpack-default-process-type,omitempty"`
}

// BuildLabelModule is a buildpack (or extension) of the group.
type BuildLabelModule struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	Homepage string `json:"homepage,omitempty"`
}

// BuildLabelProc is a process in the build label. Command is an array from
// Platform API 0.10 and a string before (see ProcessCommand).
type BuildLabelProc struct {
	Type        string         `json:"type"`
	Command     ProcessCommand `json:"command"`
	Args        []string       `json:"args"`
	Direct      bool           `json:"direct"`
	BuildpackID string         `json:"buildpackID"`
	WorkingDir  string         `json:"working-dir,omitempty"`
	ExecEnv     []string       `json:"exec-env,omitempty"`
}

// ProcessCommand is a process command that marshals as a JSON array, or as
// a string when AsString is set (Platform API below 0.10). Either form is
// read.
type ProcessCommand struct {
	Entries  []string
	AsString bool
}

// MarshalJSON writes the array, or its first entry as a string.
func (c ProcessCommand) MarshalJSON() ([]byte, error) {
	if c.AsString {
		s := ""
		if len(c.Entries) > 0 {
			s = c.Entries[0]
		}
		return json.Marshal(s)
	}
	if c.Entries == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(c.Entries)
}

// UnmarshalJSON reads a string or an array of strings.
func (c *ProcessCommand) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = ProcessCommand{Entries: []string{s}, AsString: true}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("process command: %w", err)
	}
	*c = ProcessCommand{Entries: list}
	return nil
}

// LauncherMetadata describes the launcher binary in the build label.
type LauncherMetadata struct {
	Version string         `json:"version"`
	Source  LauncherSource `json:"source"`
}

// LauncherSource is where the launcher was built from.
type LauncherSource struct {
	Git GitMetadata `json:"git"`
}

// GitMetadata is a repository and commit.
type GitMetadata struct {
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
}

// ProjectMetadata is project-metadata.toml and the
// io.buildpacks.project.metadata label ({} when empty).
type ProjectMetadata struct {
	Source *ProjectSource `json:"source,omitempty" toml:"source,omitempty"`
}

// ProjectSource describes where the app source came from, e.g. type "git"
// with version.commit and metadata.url.
type ProjectSource struct {
	Type     string         `json:"type" toml:"type"`
	Version  map[string]any `json:"version" toml:"version"`
	Metadata map[string]any `json:"metadata" toml:"metadata"`
}

// buildLabel derives the build label from metadata.toml's content.
func buildLabel(m BuildMetadata, launcher LauncherMetadata, platform api.Version) BuildLabel {
	// An empty group stays nil (null); processes are [] as the lifecycle's
	// builder always writes them.
	l := BuildLabel{Launcher: launcher, DefaultProcessType: m.DefaultProcessType, Processes: []BuildLabelProc{}}
	if platform.LessThan("0.9") {
		l.BOM, _ = json.Marshal(m.BOM) // a slice of plain structs: cannot fail
	}
	for _, b := range m.Buildpacks {
		l.Buildpacks = append(l.Buildpacks, BuildLabelModule{ID: b.ID, Version: b.Version, Homepage: b.Homepage})
	}
	for _, p := range m.Processes {
		bp := BuildLabelProc{Type: p.Type, Command: ProcessCommand{Entries: p.Command}, Args: p.Args,
			Direct: p.Direct, BuildpackID: p.BuildpackID, WorkingDir: p.WorkingDir, ExecEnv: p.ExecEnv}
		if platform.LessThan("0.10") && len(p.Command) > 0 {
			// As metadata.toml stores it: the first word as the command,
			// the rest in front of the args.
			bp.Command = ProcessCommand{Entries: p.Command[:1], AsString: true}
			bp.Args = append(append([]string{}, p.Command[1:]...), p.Args...)
		}
		l.Processes = append(l.Processes, bp)
	}
	return l
}
