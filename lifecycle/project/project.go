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
	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// DescriptorFile is the project descriptor's default name in the app directory.
const DescriptorFile = "project.toml"

// Descriptor is a project descriptor (project.toml), schema 0.1, 0.2 or 0.3,
// reduced to what the platform uses.
type Descriptor struct {
	// Path is the file read, or "" when there was none.
	Path string
	// SchemaVersion is "0.1", "0.2" or "0.3".
	SchemaVersion string
	Metadata      Metadata
	// Builder is the builder the project asks for (a pack extension).
	Builder string
	// Include and Exclude are gitignore-style patterns for CopyApp; at most
	// one of them is set.
	Include, Exclude []string
	// Group replaces the builder's order with one group when not empty.
	Group []Buildpack
	// Pre and Post wrap every group of the builder's order (schema ≥0.2).
	Pre, Post []Buildpack
	// Env is the build environment, written to <platform>/env.
	Env []Env
	// Warnings are what pack warns about: a missing schema version, keys
	// the schema does not know.
	Warnings []string
}

// Metadata is [project] (0.1) or [_] (0.2, 0.3).
type Metadata struct {
	ID               string                 `toml:"id"`
	Name             string                 `toml:"name"`
	Version          string                 `toml:"version"`
	Authors          []string               `toml:"authors"`
	DocumentationURL string                 `toml:"documentation-url"`
	SourceURL        string                 `toml:"source-url"`
	Licenses         []distribution.License `toml:"licenses"`
	Metadata         map[string]any         `toml:"metadata"` // free-form
}

// Buildpack is a group entry: id (and version), a locator (URI), or
// an inline script.
type Buildpack struct {
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

// Env is a build environment variable.
type Env struct {
	Name    string   `toml:"name"`
	Value   string   `toml:"value"`
	ExecEnv []string `toml:"exec-env"` // schema 0.3
}

// schema 0.1
type projectV01 struct {
	Project Metadata `toml:"project"`
	Build   struct {
		Include    []string    `toml:"include"`
		Exclude    []string    `toml:"exclude"`
		Builder    string      `toml:"builder"`
		Buildpacks []Buildpack `toml:"buildpacks"`
		Env        []Env       `toml:"env"`
	} `toml:"build"`
	Metadata map[string]any `toml:"metadata"`
}

// schema 0.2 and 0.3
type projectV02 struct {
	Project struct {
		SchemaVersion string `toml:"schema-version"`
		Metadata
	} `toml:"_"`
	IO struct {
		Buildpacks struct {
			Builder string      `toml:"builder"`
			Include []string    `toml:"include"`
			Exclude []string    `toml:"exclude"`
			Group   []Buildpack `toml:"group"`
			Pre     struct {
				Group []Buildpack `toml:"group"`
			} `toml:"pre"`
			Post struct {
				Group []Buildpack `toml:"group"`
			} `toml:"post"`
			Build struct {
				Env []Env `toml:"env"`
			} `toml:"build"`
			Env struct { // the older spelling pack still reads
				Build []Env `toml:"build"`
			} `toml:"env"`
		} `toml:"buildpacks"`
	} `toml:"io"`
}

// Load reads the project descriptor of the app in appDir: path when
// it is not empty (a missing file is then an error), otherwise
// appDir/project.toml if it exists. With no file the result is an empty
// Descriptor.
func Load(appDir, path string) (*Descriptor, error) {
	if path != "" {
		return Read(path)
	}
	p, err := Read(filepath.Join(appDir, DescriptorFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Descriptor{}, nil
	}
	return p, err
}

// Read reads the project.toml at path. The schema is chosen
// by [_] schema-version; without one it is 0.1, with a warning. Relative
// buildpack URIs that exist relative to the file's directory are made
// absolute. Errors about a missing file wrap fs.ErrNotExist.
func Read(path string) (*Descriptor, error) {
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
	p := &Descriptor{Path: path, SchemaVersion: version.Project.SchemaVersion}
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
	for _, g := range [][]Buildpack{p.Group, p.Pre, p.Post} {
		for i := range g {
			g[i].URI = distribution.ResolveLocator(g[i].URI, base)
		}
	}
	return p, nil
}

func (p *Descriptor) decodeV01(raw []byte) error {
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

func (p *Descriptor) decodeV02(raw []byte) error {
	var v projectV02
	md, err := toml.Decode(string(raw), &v)
	if err != nil {
		return err
	}
	p.Metadata = v.Project.Metadata
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
		for _, g := range [][]Buildpack{p.Group, p.Pre, p.Post} {
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
func (p *Descriptor) warnUndecoded(md toml.MetaData, owned func(string) bool) {
	for _, s := range tomlkeys.Undecoded(md) {
		if owned(s) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("key %q is not supported in schema version %s and is ignored", s, p.SchemaVersion))
		}
	}
}

// check applies pack's validation.
func (p *Descriptor) check() error {
	if len(p.Include) > 0 && len(p.Exclude) > 0 {
		return fmt.Errorf("%w: both include and exclude are set", ErrInvalidConfig)
	}
	for _, l := range p.Metadata.Licenses {
		if l.Type == "" && l.URI == "" {
			return fmt.Errorf("%w: a license needs a type or a uri", ErrInvalidConfig)
		}
	}
	for _, g := range [][]Buildpack{p.Group, p.Pre, p.Post} {
		for _, b := range g {
			switch {
			case b.Script != nil && b.Script.Inline != "":
				if b.ID == "" {
					return fmt.Errorf("%w: an inline buildpack needs an id", ErrInvalidConfig)
				}
				if b.Script.API == "" {
					return fmt.Errorf("%w: inline buildpack %s needs script.api", ErrInvalidConfig, b.ID)
				}
			case b.ID == "" && b.URI == "":
				return fmt.Errorf("%w: a buildpack needs an id or a uri", ErrInvalidConfig)
			case b.URI != "" && b.Version != "":
				return fmt.Errorf("%w: buildpack %s has both a uri and a version", ErrInvalidConfig, b.URI)
			}
		}
	}
	for _, e := range p.Env {
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/=\x00") { // a file under <platform>/env
			return fmt.Errorf("%w: build env name %q", ErrInvalidConfig, e.Name)
		}
	}
	return nil
}
