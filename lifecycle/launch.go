package lifecycle

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Process is a process type, as buildpacks declare it in launch.toml and as
// metadata.toml records it. Command is always an array here: a Buildpack
// API <0.9 command string is its single element.
type Process struct {
	Type        string   `toml:"type"`
	Command     []string `toml:"command"`
	Args        []string `toml:"args"`
	Direct      bool     `toml:"direct"` // always true for Buildpack API ≥0.9
	Default     bool     `toml:"default,omitempty"`
	BuildpackID string   `toml:"buildpack-id"`
	WorkingDir  string   `toml:"working-dir,omitempty"`
	ExecEnv     []string `toml:"exec-env,omitempty"`
}

// Label is an image label a buildpack sets ([[labels]] in launch.toml).
type Label struct {
	Key   string `toml:"key"`
	Value string `toml:"value"`
}

// Slice is a set of app-dir globs exported as their own layer.
type Slice struct {
	Paths []string `toml:"paths"`
}

// launchFile is launch.toml as written.
type launchFile struct {
	Labels    []Label      `toml:"labels"`
	Processes []rawProcess `toml:"processes"`
	Slices    []Slice      `toml:"slices"`
	BOM       []Require    `toml:"bom"` // deprecated since Buildpack API 0.7
}

// rawProcess is a [[processes]] entry before the per-API rules apply.
type rawProcess struct {
	Type       string   `toml:"type"`
	Command    any      `toml:"command"`
	Args       []string `toml:"args"`
	Direct     *bool    `toml:"direct"`
	Default    bool     `toml:"default"`
	WorkingDir string   `toml:"working-dir"`
	ExecEnv    []string `toml:"exec-env"`
}

// launchOutput is what one buildpack's launch.toml contributes.
type launchOutput struct {
	Labels    []Label
	Processes []Process
	Slices    []Slice
	BOM       []Require
}

// readLaunch reads launch.toml of the buildpack's layers dir dir (absent:
// nothing) and applies the rules of bp's API.
func readLaunch(dir *beneath.Dir, bp *Buildpack, log *slog.Logger) (launchOutput, error) {
	var f launchFile
	p := dir.Path("launch.toml")
	if _, _, err := readTOML(dir, "launch.toml", &f); err != nil {
		return launchOutput{}, fmt.Errorf("reading launch.toml: %w", err)
	}
	if err := checkBOM(f.BOM); err != nil {
		return launchOutput{}, fmt.Errorf("reading %s: %w", p, err)
	}
	out := launchOutput{Labels: f.Labels, Slices: f.Slices, BOM: f.BOM}
	defaults := 0
	for _, raw := range f.Processes {
		proc, err := raw.convert(bp, log)
		if err != nil {
			return launchOutput{}, fmt.Errorf("reading %s: %w", p, err)
		}
		if proc.Default {
			defaults++
		}
		out.Processes = append(out.Processes, proc)
	}
	if defaults > 1 {
		return launchOutput{}, fmt.Errorf("reading %s: multiple default process types are not allowed", p)
	}
	return out, nil
}

// convert applies the Buildpack API rules to one process.
func (r rawProcess) convert(bp *Buildpack, log *slog.Logger) (Process, error) {
	v := bp.api
	if r.Type == "" || strings.ContainsAny(r.Type, `/><:|&\`) {
		return Process{}, fmt.Errorf("invalid process type %q", r.Type)
	}
	p := Process{Type: r.Type, Args: r.Args, Default: r.Default, BuildpackID: bp.Info.ID, WorkingDir: r.WorkingDir, ExecEnv: r.ExecEnv}
	cmd, err := r.command(v)
	if err != nil {
		return Process{}, fmt.Errorf("process %q: %w", r.Type, err)
	}
	p.Command = cmd
	if v.AtLeast("0.9") {
		if r.Direct != nil {
			return Process{}, fmt.Errorf("process %q: the direct key is not allowed for Buildpack API %s", r.Type, v)
		}
		p.Direct = true
	} else if r.Direct != nil {
		p.Direct = *r.Direct
	}
	if v.LessThan("0.6") {
		if p.Default {
			log.Warn("ignoring default = true: Buildpack API below 0.6", "process", r.Type, "buildpack", bp.Info.ID)
		}
		p.Default = r.Type == "web" // web is the implicit default below 0.6
	}
	if v.LessThan("0.8") && p.WorkingDir != "" {
		log.Warn("ignoring working-dir: Buildpack API below 0.8", "process", r.Type, "buildpack", bp.Info.ID)
		p.WorkingDir = ""
	}
	if v.LessThan("0.12") {
		p.ExecEnv = nil
	}
	return p, nil
}

// command returns the command as an array: Buildpack API ≥0.9 writes an
// array, earlier APIs a string.
func (r rawProcess) command(v api.Version) ([]string, error) {
	switch c := r.Command.(type) {
	case string:
		if v.AtLeast("0.9") {
			return nil, fmt.Errorf("command must be an array for Buildpack API %s", v)
		}
		return []string{c}, nil
	case []any:
		if v.LessThan("0.9") {
			return nil, fmt.Errorf("command must be a string for Buildpack API %s", v)
		}
		if len(c) == 0 {
			return nil, fmt.Errorf("command is empty")
		}
		out := make([]string, len(c))
		for i, e := range c {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("command element %d is not a string", i)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("command is missing")
}

// processes merges process types across buildpacks: a later process of the
// same type replaces an earlier one; the default is the last process marked
// default, cleared when a later non-default process redefines its type.
type processes struct {
	byType      map[string]Process
	defaultType string
}

// add merges the processes of one buildpack.
func (m *processes) add(list []Process, log *slog.Logger) {
	if m.byType == nil {
		m.byType = map[string]Process{}
	}
	for _, p := range list {
		switch {
		case p.Default:
			m.defaultType = p.Type
		case p.Type == m.defaultType:
			log.Warn("a process not marked default redefines the default process type", "type", p.Type)
			m.defaultType = ""
		}
		m.byType[p.Type] = p
	}
}
