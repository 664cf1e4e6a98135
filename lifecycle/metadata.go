package lifecycle

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// BuildMetadata is <layers>/config/metadata.toml: what the build tells the
// exporter and the launcher. Processes are sorted by type.
type BuildMetadata struct {
	Buildpacks         []GroupEntry `toml:"buildpacks"`
	Labels             []Label      `toml:"labels"`
	Processes          []Process    `toml:"processes"`
	Slices             []Slice      `toml:"slices"`
	DefaultProcessType string       `toml:"buildpack-default-process-type,omitempty"`
	// BOM is the deprecated bill of materials, kept here below Platform API
	// 0.9 only (later ones write <layers>/sbom/*/sbom.legacy.json).
	BOM []BOMEntry `toml:"bom,omitempty"`
}

// metadataFile is metadata.toml as encoded: the command of a process is an
// array from Platform API 0.10 and a string before (the rest of the array
// moves to the front of args).
type metadataFile struct {
	DefaultProcessType string         `toml:"buildpack-default-process-type,omitempty"`
	Buildpacks         []GroupEntry   `toml:"buildpacks"`
	Labels             []Label        `toml:"labels"`
	Processes          []processEntry `toml:"processes"`
	Slices             []Slice        `toml:"slices"`
	BOM                []BOMEntry     `toml:"bom,omitempty"`
}

type processEntry struct {
	Type        string   `toml:"type"`
	Command     any      `toml:"command"`
	Args        []string `toml:"args"`
	Direct      bool     `toml:"direct"`
	BuildpackID string   `toml:"buildpack-id"`
	WorkingDir  string   `toml:"working-dir,omitempty"`
	ExecEnv     []string `toml:"exec-env,omitempty"`
}

// WriteBuildMetadata writes m to path for the given Platform API version.
func WriteBuildMetadata(path string, m BuildMetadata, platformAPI string) error {
	v, err := api.Parse(orDefault(platformAPI, DefaultPlatformAPI))
	if err != nil {
		return err
	}
	if err := writeTOML(path, metadataFileOf(m, v)); err != nil {
		return fmt.Errorf("writing build metadata %s: %w", path, err)
	}
	return nil
}

// metadataFileOf is m as metadata.toml holds it for Platform API v.
func metadataFileOf(m BuildMetadata, v api.Version) metadataFile {
	f := metadataFile{DefaultProcessType: m.DefaultProcessType, Buildpacks: m.Buildpacks, Labels: m.Labels, Slices: m.Slices, BOM: m.BOM,
		Processes: []processEntry{}} // "processes = []" when there are none, as the lifecycle writes it
	for _, p := range m.Processes {
		e := processEntry{Type: p.Type, Command: p.Command, Args: p.Args, Direct: p.Direct,
			BuildpackID: p.BuildpackID, WorkingDir: p.WorkingDir, ExecEnv: p.ExecEnv}
		if v.LessThan("0.10") && len(p.Command) > 0 {
			e.Command = p.Command[0]
			e.Args = append(append([]string{}, p.Command[1:]...), p.Args...)
		}
		f.Processes = append(f.Processes, e)
	}
	return f
}

// ReadBuildMetadata reads a metadata.toml written for any Platform API; a
// string command becomes a one-element array.
func ReadBuildMetadata(path string) (BuildMetadata, error) {
	var f metadataFile
	if _, err := toml.DecodeFile(path, &f); err != nil {
		return BuildMetadata{}, fmt.Errorf("reading build metadata %s: %w", path, err)
	}
	return f.metadata(), nil
}

// metadata is the BuildMetadata f holds.
func (f metadataFile) metadata() BuildMetadata {
	m := BuildMetadata{DefaultProcessType: f.DefaultProcessType, Buildpacks: f.Buildpacks, Labels: f.Labels, Slices: f.Slices, BOM: f.BOM}
	for _, e := range f.Processes {
		p := Process{Type: e.Type, Args: e.Args, Direct: e.Direct, BuildpackID: e.BuildpackID, WorkingDir: e.WorkingDir, ExecEnv: e.ExecEnv}
		switch c := e.Command.(type) {
		case string:
			p.Command = []string{c}
		case []any:
			for _, s := range c {
				p.Command = append(p.Command, fmt.Sprint(s))
			}
		}
		m.Processes = append(m.Processes, p)
	}
	return m
}
