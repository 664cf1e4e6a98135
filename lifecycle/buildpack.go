package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Buildpack is a parsed buildpack.toml and where the buildpack lives.
type Buildpack struct {
	API      string         `toml:"api"`
	Info     BuildpackInfo  `toml:"buildpack"`
	Order    Order          `toml:"order"`   // composite ("meta") buildpacks only
	Targets  []Target       `toml:"targets"` // as declared; see EffectiveTargets
	Stacks   []Stack        `toml:"stacks"`  // deprecated since Buildpack API 0.10
	Metadata map[string]any `toml:"metadata"`

	// Dir is the buildpack's root directory (host and container paths).
	Dir Dir `toml:"-"`

	api api.Version
}

// BuildpackInfo is the [buildpack] table.
type BuildpackInfo struct {
	ID          string    `toml:"id"`
	Version     string    `toml:"version"`
	Name        string    `toml:"name"`
	Homepage    string    `toml:"homepage"`
	Description string    `toml:"description"`
	Keywords    []string  `toml:"keywords"`
	ClearEnv    bool      `toml:"clear-env"`
	SBOMFormats []string  `toml:"sbom-formats"`
	Licenses    []License `toml:"licenses"`
	// ExecEnvRaw is exec-env as written: the lifecycle and pack read a string
	// array, the spec draws an array of tables with a name; see ExecEnv.
	ExecEnvRaw any `toml:"exec-env"`
}

// License is one [[buildpack.licenses]] entry.
type License struct {
	Type string `toml:"type"`
	URI  string `toml:"uri"`
}

// Target is one [[targets]] entry. The spec and pack call the variant
// "variant", the lifecycle's descriptor "arch-variant": both are read.
type Target struct {
	OS          string   `toml:"os"`
	Arch        string   `toml:"arch"`
	Variant     string   `toml:"variant"`
	ArchVariant string   `toml:"arch-variant"`
	Distros     []Distro `toml:"distros"`
}

// Distro is an operating system distribution: /etc/os-release ID and
// VERSION_ID.
type Distro struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
}

// Stack is one deprecated [[stacks]] entry.
type Stack struct {
	ID     string   `toml:"id"`
	Mixins []string `toml:"mixins"`
}

// IsComposite reports whether the buildpack is a composite (it has an order
// and no executables).
func (b *Buildpack) IsComposite() bool { return len(b.Order) > 0 }

// ExecEnv returns the execution environments the buildpack declares, from
// either form of exec-env.
func (b *Buildpack) ExecEnv() []string {
	var out []string
	switch v := b.Info.ExecEnvRaw.(type) {
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				if name, ok := e["name"].(string); ok {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// EffectiveTargets returns the declared targets or, when there are none, the
// ones the lifecycle infers: from [[stacks]] ("*" matches anything, the
// bionic stack is linux/amd64 ubuntu 18.04), else from the executables
// (bin/build: linux; bin/build.bat or .exe: windows). Other stack IDs infer
// nothing.
func (b *Buildpack) EffectiveTargets() []Target {
	if len(b.Targets) > 0 {
		return b.Targets
	}
	var out []Target
	for _, s := range b.Stacks {
		switch s.ID {
		case "*":
			out = append(out, Target{})
		case "io.buildpacks.stacks.bionic":
			out = append(out, Target{OS: "linux", Arch: "amd64", Distros: []Distro{{Name: "ubuntu", Version: "18.04"}}})
		}
	}
	if len(out) > 0 {
		return out
	}
	if exists(b.Dir.Host, "bin/build") {
		out = append(out, Target{OS: "linux"})
	}
	if exists(b.Dir.Host, "bin/build.bat") || exists(b.Dir.Host, "bin/build.exe") {
		out = append(out, Target{OS: "windows"})
	}
	return out
}

// exists reports whether rel exists inside root (symlinks scoped to root).
func exists(root, rel string) bool {
	p, err := (Dir{Host: root}).scopedJoin(rel)
	if err != nil {
		return false
	}
	_, err = os.Stat(p.Host)
	return err == nil
}

var (
	buildpackIDPattern = regexp.MustCompile(`^[A-Za-z0-9./-]+$`)
	reservedIDs        = map[string]bool{"app": true, "config": true, "generated": true, "sbom": true}
)

// validateID checks a buildpack ID against the spec's rules.
func validateID(id string) error {
	esc := EscapeID(id)
	if !buildpackIDPattern.MatchString(id) || reservedIDs[strings.ToLower(id)] || esc == "." || esc == ".." {
		return fmt.Errorf("invalid buildpack ID %q", id)
	}
	return nil
}

// ReadBuildpack reads the buildpack whose root is dir. It checks the ID and
// that the Buildpack API is one kiln runs (an *APIError otherwise).
func ReadBuildpack(dir Dir) (*Buildpack, error) {
	bp := &Buildpack{}
	f, err := dir.scopedJoin("buildpack.toml")
	if err != nil {
		return nil, fmt.Errorf("reading buildpack in %s: %w", dir.Host, err)
	}
	if _, err := toml.DecodeFile(f.Host, bp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrBuildpackNotFound, err)
		}
		return nil, fmt.Errorf("reading buildpack %s: %w", f.Host, err)
	}
	bp.Dir = dir
	if err := validateID(bp.Info.ID); err != nil {
		return nil, fmt.Errorf("reading buildpack %s: %w", f.Host, err)
	}
	v, err := api.Parse(bp.API)
	if err != nil || !supportedBuildpackAPI(v) {
		return nil, &APIError{ID: bp.Info.ID, Version: bp.Info.Version, API: bp.API}
	}
	bp.api = v
	if len(bp.Targets) > 0 {
		for i, t := range bp.Targets {
			if t.Variant == "" {
				bp.Targets[i].Variant = t.ArchVariant
			}
		}
	}
	return bp, nil
}

// buildpackStore finds buildpacks by ID and version in
// <buildpacks>/<escaped-id>/<version>/ and remembers what it read.
type buildpackStore struct {
	dir   Dir
	cache map[string]*Buildpack
}

// lookup returns the buildpack id@version.
func (s *buildpackStore) lookup(id, version string) (*Buildpack, error) {
	key := id + "@" + version
	if bp, ok := s.cache[key]; ok {
		return bp, nil
	}
	if err := validateID(id); err != nil {
		return nil, err
	}
	dir, err := s.dir.scopedJoin(EscapeID(id) + "/" + version)
	if err != nil {
		return nil, fmt.Errorf("looking up buildpack %s: %w", key, err)
	}
	bp, err := ReadBuildpack(dir)
	if err != nil {
		return nil, err
	}
	if bp.Info.ID != id || bp.Info.Version != version {
		return nil, fmt.Errorf("looking up buildpack %s: %s declares %s@%s", key, dir.Host, bp.Info.ID, bp.Info.Version)
	}
	if s.cache == nil {
		s.cache = map[string]*Buildpack{}
	}
	s.cache[key] = bp
	return bp, nil
}
