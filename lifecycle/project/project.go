package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/tomlkeys"
	"github.com/kilnbuild/kiln/lifecycle/dist"
)

// ProjectFile is the project descriptor's default name in the app directory.
const ProjectFile = "project.toml"

// Project is a project descriptor (project.toml), schema 0.1, 0.2 or 0.3,
// reduced to what the platform uses.
type Project struct {
	// Path is the file read, or "" when there was none.
	Path string
	// SchemaVersion is "0.1", "0.2" or "0.3".
	SchemaVersion string
	Metadata      ProjectMetadata
	// Builder is the builder the project asks for (a pack extension).
	Builder string
	// Include and Exclude are gitignore-style patterns for CopyApp; at most
	// one of them is set.
	Include, Exclude []string
	// Group replaces the builder's order with one group when not empty.
	Group []ProjectBuildpack
	// Pre and Post wrap every group of the builder's order (schema ≥0.2).
	Pre, Post []ProjectBuildpack
	// Env is the build environment, written to <platform>/env.
	Env []ProjectEnv
	// Warnings are what pack warns about: a missing schema version, keys
	// the schema does not know.
	Warnings []string
}

// ProjectMetadata is [project] (0.1) or [_] (0.2, 0.3).
type ProjectMetadata struct {
	ID               string         `toml:"id"`
	Name             string         `toml:"name"`
	Version          string         `toml:"version"`
	Authors          []string       `toml:"authors"`
	DocumentationURL string         `toml:"documentation-url"`
	SourceURL        string         `toml:"source-url"`
	Licenses         []dist.License `toml:"licenses"`
	Metadata         map[string]any `toml:"metadata"` // free-form
}

// ProjectBuildpack is a group entry: id (and version), a locator (URI), or
// an inline script.
type ProjectBuildpack struct {
	ID      string        `toml:"id"`
	Version string        `toml:"version"`
	URI     string        `toml:"uri"`
	Script  *InlineScript `toml:"script"`
	ExecEnv []string      `toml:"exec-env"` // schema 0.3
}

// InlineScript is an inline buildpack's build script.
type InlineScript struct {
	API    string `toml:"api"`
	Inline string `toml:"inline"`
	Shell  string `toml:"shell"` // default /bin/sh
}

// ProjectEnv is a build environment variable.
type ProjectEnv struct {
	Name    string   `toml:"name"`
	Value   string   `toml:"value"`
	ExecEnv []string `toml:"exec-env"` // schema 0.3
}

// schema 0.1
type projectV01 struct {
	Project ProjectMetadata `toml:"project"`
	Build   struct {
		Include    []string           `toml:"include"`
		Exclude    []string           `toml:"exclude"`
		Builder    string             `toml:"builder"`
		Buildpacks []ProjectBuildpack `toml:"buildpacks"`
		Env        []ProjectEnv       `toml:"env"`
	} `toml:"build"`
	Metadata map[string]any `toml:"metadata"`
}

// schema 0.2 and 0.3
type projectV02 struct {
	Project struct {
		SchemaVersion string `toml:"schema-version"`
		ProjectMetadata
	} `toml:"_"`
	IO struct {
		Buildpacks struct {
			Builder string             `toml:"builder"`
			Include []string           `toml:"include"`
			Exclude []string           `toml:"exclude"`
			Group   []ProjectBuildpack `toml:"group"`
			Pre     struct {
				Group []ProjectBuildpack `toml:"group"`
			} `toml:"pre"`
			Post struct {
				Group []ProjectBuildpack `toml:"group"`
			} `toml:"post"`
			Build struct {
				Env []ProjectEnv `toml:"env"`
			} `toml:"build"`
			Env struct { // the older spelling pack still reads
				Build []ProjectEnv `toml:"build"`
			} `toml:"env"`
		} `toml:"buildpacks"`
	} `toml:"io"`
}

// LoadProject reads the project descriptor of the app in appDir: path when
// it is not empty (a missing file is then an error), otherwise
// appDir/project.toml if it exists. With no file the result is an empty
// Project.
func LoadProject(appDir, path string) (*Project, error) {
	if path != "" {
		return ReadProjectDescriptor(path)
	}
	p, err := ReadProjectDescriptor(filepath.Join(appDir, ProjectFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Project{}, nil
	}
	return p, err
}

// ReadProjectDescriptor reads the project.toml at path. The schema is chosen
// by [_] schema-version; without one it is 0.1, with a warning. Relative
// buildpack URIs that exist relative to the file's directory are made
// absolute. Errors about a missing file wrap fs.ErrNotExist.
func ReadProjectDescriptor(path string) (*Project, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading project descriptor: %w", err)
	}
	var version struct {
		Project struct {
			SchemaVersion string `toml:"schema-version"`
		} `toml:"_"`
	}
	if _, err := toml.Decode(string(raw), &version); err != nil {
		return nil, fmt.Errorf("reading project descriptor %s: %w", path, err)
	}
	p := &Project{Path: path, SchemaVersion: version.Project.SchemaVersion}
	switch p.SchemaVersion {
	case "":
		p.SchemaVersion = "0.1"
		p.Warnings = append(p.Warnings, "no schema version declared in project.toml, defaulting to schema version 0.1")
		err = p.decodeV01(raw)
	case "0.1":
		err = p.decodeV01(raw)
	case "0.2", "0.3":
		err = p.decodeV02(raw)
	default:
		err = fmt.Errorf("%w %q", ErrUnsupportedSchema, p.SchemaVersion)
	}
	if err == nil {
		err = p.check()
	}
	if err != nil {
		return nil, fmt.Errorf("reading project descriptor %s: %w", path, err)
	}
	base := filepath.Dir(path)
	for _, g := range [][]ProjectBuildpack{p.Group, p.Pre, p.Post} {
		for i := range g {
			g[i].URI = dist.ResolveLocator(g[i].URI, base)
		}
	}
	return p, nil
}

func (p *Project) decodeV01(raw []byte) error {
	var v projectV01
	md, err := toml.Decode(string(raw), &v)
	if err != nil {
		return err
	}
	p.Metadata = v.Project
	if v.Metadata != nil {
		p.Metadata.Metadata = v.Metadata
	}
	p.Builder, p.Include, p.Exclude = v.Build.Builder, v.Build.Include, v.Build.Exclude
	p.Group, p.Env = v.Build.Buildpacks, v.Build.Env
	p.warnUndecoded(md, func(k string) bool {
		return strings.HasPrefix(k, "project.") || strings.HasPrefix(k, "build.") || strings.Contains(k, "io.buildpacks")
	})
	return nil
}

func (p *Project) decodeV02(raw []byte) error {
	var v projectV02
	md, err := toml.Decode(string(raw), &v)
	if err != nil {
		return err
	}
	p.Metadata = v.Project.ProjectMetadata
	bp := v.IO.Buildpacks
	p.Builder, p.Include, p.Exclude = bp.Builder, bp.Include, bp.Exclude
	p.Group, p.Pre, p.Post = bp.Group, bp.Pre.Group, bp.Post.Group
	p.Env = bp.Build.Env
	if p.Env == nil {
		p.Env = bp.Env.Build
	}
	if bp.Env.Build != nil {
		p.Warnings = append(p.Warnings, "io.buildpacks.env.build is deprecated, use io.buildpacks.build.env")
	}
	if p.SchemaVersion == "0.2" {
		for _, g := range [][]ProjectBuildpack{p.Group, p.Pre, p.Post} {
			for _, b := range g {
				if len(b.ExecEnv) > 0 {
					p.Warnings = append(p.Warnings, "exec-env needs schema version 0.3; ignored")
				}
			}
		}
	}
	p.warnUndecoded(md, func(k string) bool {
		return strings.HasPrefix(k, "io.buildpacks") ||
			(strings.HasPrefix(k, "_.") && !strings.HasPrefix(k, "_.metadata"))
	})
	return nil
}

// warnUndecoded warns about keys the schema does not know inside the tables
// it owns; other tables belong to users and are not ours to judge.
func (p *Project) warnUndecoded(md toml.MetaData, owned func(string) bool) {
	for _, s := range tomlkeys.Undecoded(md) {
		if owned(s) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("key %q is not supported in schema version %s and is ignored", s, p.SchemaVersion))
		}
	}
}

// check applies pack's validation.
func (p *Project) check() error {
	if len(p.Include) > 0 && len(p.Exclude) > 0 {
		return fmt.Errorf("%w: both include and exclude are set", dist.ErrInvalidConfig)
	}
	for _, l := range p.Metadata.Licenses {
		if l.Type == "" && l.URI == "" {
			return fmt.Errorf("%w: a license needs a type or a uri", dist.ErrInvalidConfig)
		}
	}
	for _, g := range [][]ProjectBuildpack{p.Group, p.Pre, p.Post} {
		for _, b := range g {
			switch {
			case b.Script != nil && b.Script.Inline != "":
				if b.ID == "" {
					return fmt.Errorf("%w: an inline buildpack needs an id", dist.ErrInvalidConfig)
				}
				if b.Script.API == "" {
					return fmt.Errorf("%w: inline buildpack %s needs script.api", dist.ErrInvalidConfig, b.ID)
				}
			case b.ID == "" && b.URI == "":
				return fmt.Errorf("%w: a buildpack needs an id or a uri", dist.ErrInvalidConfig)
			case b.URI != "" && b.Version != "":
				return fmt.Errorf("%w: buildpack %s has both a uri and a version", dist.ErrInvalidConfig, b.URI)
			}
		}
	}
	for _, e := range p.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "/=\x00") {
			return fmt.Errorf("%w: build env name %q", dist.ErrInvalidConfig, e.Name)
		}
	}
	return nil
}
