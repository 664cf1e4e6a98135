package distribution

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DescriptorFile is a buildpack's descriptor file name.
const DescriptorFile = "buildpack.toml"

// Descriptor is a buildpack laid out by FetchBuildpacks: what the platform
// needs to know of its buildpack.toml, and where it is. Package lifecycle
// parses Path for everything else.
type Descriptor struct {
	API         string
	ID          string
	Version     string
	Name        string
	Homepage    string
	Description string
	Keywords    []string
	Licenses    []License
	ClearEnv    bool
	// Order is a composite buildpack's [[order]]; empty for a component.
	Order   Order
	Stacks  []Stack
	Targets []Target
	// Extension is true for an image extension (extension.toml).
	Extension bool
	// Dir is where the buildpack is laid out: <dst>/<escaped-id>/<version>.
	Dir string
	// Path is Dir/buildpack.toml (Dir/extension.toml for an extension).
	Path string
	// Layer is the layer of the buildpackage or builder image the buildpack
	// came from, nil when it came from a directory, an archive or a .cnb file
	// (whose extracted blobs are not kept). Several buildpacks may share one
	// (flattened) layer.
	Layer v1.Layer
}

// Composite reports whether the buildpack is a composite (meta) buildpack:
// one with an order and no executables of its own.
func (d Descriptor) Composite() bool { return len(d.Order) > 0 }

// FullName is id@version.
func (d Descriptor) FullName() string { return d.ID + "@" + d.Version }

// buildpackTOML is the part of buildpack.toml read here. Unknown keys are
// fine: buildpack.toml has free-form [metadata] and evolves.
type buildpackTOML struct {
	API       string     `toml:"api"`
	Buildpack moduleTOML `toml:"buildpack"`
	Extension moduleTOML `toml:"extension"`
	Order     Order      `toml:"order"`
	Stacks    []Stack    `toml:"stacks"`
	Targets   []struct {
		Target
		ArchVariant string `toml:"arch-variant"` // the lifecycle's spelling
	} `toml:"targets"`
}

// moduleTOML is [buildpack] or [extension].
type moduleTOML struct {
	ID          string    `toml:"id"`
	Version     string    `toml:"version"`
	Name        string    `toml:"name"`
	Homepage    string    `toml:"homepage"`
	Description string    `toml:"description"`
	Keywords    []string  `toml:"keywords"`
	Licenses    []License `toml:"licenses"`
	ClearEnv    bool      `toml:"clear-env"`
}

// idPattern is what the spec allows in a buildpack id.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9./-]+$`)

// reserved ids name directories of the layers dir.
var reservedIDs = map[string]bool{"app": true, "config": true, "generated": true, "sbom": true}

// ReadDescriptor reads the buildpack.toml in dir. The result's Dir is dir.
func ReadDescriptor(dir string) (Descriptor, error) { return readDescriptor(dir, buildpackKind) }

// ReadExtensionDescriptor reads the extension.toml in dir. The result's
// Extension is true.
func ReadExtensionDescriptor(dir string) (Descriptor, error) {
	return readDescriptor(dir, extensionKind)
}

func readDescriptor(dir string, kind moduleKind) (Descriptor, error) {
	path, err := securejoin.SecureJoin(dir, kind.descriptor)
	if err != nil {
		return Descriptor{}, fmt.Errorf("reading %s: %w", kind.descriptor, err)
	}
	var t buildpackTOML
	if _, err := toml.DecodeFile(path, &t); err != nil {
		return Descriptor{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if kind == extensionKind {
		t.Buildpack = t.Extension
	}
	d := Descriptor{
		API: t.API, ID: t.Buildpack.ID, Version: t.Buildpack.Version, Name: t.Buildpack.Name,
		Homepage: t.Buildpack.Homepage, Description: t.Buildpack.Description, Keywords: t.Buildpack.Keywords,
		Licenses: t.Buildpack.Licenses, ClearEnv: t.Buildpack.ClearEnv,
		Order: t.Order, Stacks: t.Stacks, Dir: dir, Path: filepath.Join(dir, kind.descriptor),
		Extension: kind == extensionKind,
	}
	for _, tt := range t.Targets {
		if tt.Variant == "" {
			tt.Variant = tt.ArchVariant
		}
		d.Targets = append(d.Targets, tt.Target)
	}
	if err := CheckIDVersion(d.ID, d.Version); err != nil {
		return Descriptor{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return d, nil
}

// CheckIDVersion rejects ids and versions that cannot name the directories
// <escaped-id>/<version>.
func CheckIDVersion(id, version string) error {
	switch {
	case id == "" || version == "":
		return fmt.Errorf("%w: id %q, version %q: both are required", ErrInvalidDescriptor, id, version)
	case !idPattern.MatchString(id) || reservedIDs[strings.ToLower(id)] || EscapeID(id) == "." || EscapeID(id) == "..":
		return fmt.Errorf("%w: id %q", ErrInvalidDescriptor, id)
	case strings.ContainsAny(version, "/\\\x00") || version == "." || version == "..":
		return fmt.Errorf("%w: version %q", ErrInvalidDescriptor, version)
	}
	return nil
}

// EscapeID is a buildpack id as a directory name: '/' becomes '_'.
func EscapeID(id string) string { return strings.ReplaceAll(id, "/", "_") }
