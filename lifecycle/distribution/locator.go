package distribution

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/oci"
)

const (
	fileScheme   = "file://"
	dockerScheme = "docker://"
	registryURN  = "urn:cnb:registry:"
	builderURN   = "urn:cnb:builder:"
	fromBuilder  = "from=builder"
	httpScheme   = "http://"
	httpsScheme  = "https://"
	cnbExtension = ".cnb"
)

// DefaultVersion is the version pack gives a buildpack that names none (an
// inline buildpack of project.toml, a builder.toml order entry).
const DefaultVersion = "0.0.0"

// BuilderLocator is the locator of a buildpack already laid out on the
// builder: urn:cnb:builder:ID, or urn:cnb:builder:ID@VERSION.
func BuilderLocator(id, version string) string {
	if version == "" {
		return builderURN + id
	}
	return builderURN + id + "@" + version
}

// LocatorKind says what a buildpack locator names.
type LocatorKind int

const (
	// LocatorInvalid is a locator that is none of the others.
	LocatorInvalid LocatorKind = iota
	// LocatorPath is a local directory, .tgz/.tar archive or .cnb file
	// (also given as file://PATH).
	LocatorPath
	// LocatorURL is an http(s) URL of an archive or .cnb file.
	LocatorURL
	// LocatorImage is a buildpackage image: docker://REF or a bare reference.
	LocatorImage
	// LocatorRegistry is a buildpack registry URN (urn:cnb:registry:ID[@V]).
	LocatorRegistry
	// LocatorBuilder names a buildpack already on the builder
	// (urn:cnb:builder:ID[@V] or from=builder), meaningful to kiln build only.
	LocatorBuilder
)

// String names the kind, for logs.
func (k LocatorKind) String() string {
	switch k {
	case LocatorPath:
		return "path"
	case LocatorURL:
		return "url"
	case LocatorImage:
		return "image"
	case LocatorRegistry:
		return "registry"
	case LocatorBuilder:
		return "builder"
	}
	return "invalid"
}

// ParseLocator classifies a buildpack locator as pack does and returns the
// kind and the part that names the thing: the path, URL, image reference or
// id[@version]. Relative paths are taken relative to base when base is not
// empty. A string is a path when it exists, is written as one
// (oci.LooksLikePath: it starts with "/", "./", "../" or "~", or ends in .cnb,
// .tgz, .tar, .tar.gz, .toml, .zip or .jar); otherwise it is an image
// reference.
func ParseLocator(loc, base string) (LocatorKind, string) {
	switch {
	case loc == "":
		return LocatorInvalid, loc
	case strings.HasPrefix(loc, fileScheme):
		return LocatorPath, joinBase(base, strings.TrimPrefix(loc, fileScheme))
	case strings.HasPrefix(loc, httpScheme), strings.HasPrefix(loc, httpsScheme):
		return LocatorURL, loc
	case strings.HasPrefix(loc, dockerScheme):
		return LocatorImage, strings.TrimPrefix(loc, dockerScheme)
	case strings.HasPrefix(loc, registryURN):
		return LocatorRegistry, strings.TrimPrefix(loc, registryURN)
	case strings.HasPrefix(loc, builderURN):
		return LocatorBuilder, strings.TrimPrefix(loc, builderURN)
	case loc == fromBuilder:
		return LocatorBuilder, ""
	case strings.HasPrefix(loc, fromBuilder+":"):
		return LocatorBuilder, strings.TrimPrefix(loc, fromBuilder+":")
	}
	p := joinBase(base, loc)
	if _, err := os.Lstat(p); err == nil || looksLikePath(loc) {
		return LocatorPath, p
	}
	return LocatorImage, loc
}

func joinBase(base, p string) string {
	if base == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// looksLikePath reports whether loc is meant as a file system path even
// though nothing exists there (so that a typo is reported as a missing file,
// not as a registry pull): what oci.LooksLikePath says is a path.
func looksLikePath(loc string) bool {
	return oci.LooksLikePath(loc)
}

// checkPathLocator returns an ErrInvalidConfig error naming key when loc (a
// resolved uri of a configuration file in base) is a path that does not
// exist, so that a typo is reported where it was made. A bare word (no "/",
// ":" or "@") is a path too: as an image it would be a Docker Hub library
// image, none of which holds a buildpack. With pathOnly, any locator that
// would be an image is taken as a path ([buildpack] uri of package.toml is a
// directory or an archive, never an image).
func checkPathLocator(key, loc, base string, pathOnly bool) error {
	if loc == "" {
		return nil
	}
	kind, p := ParseLocator(loc, "")
	if kind == LocatorImage && !strings.HasPrefix(loc, dockerScheme) && (pathOnly || !strings.ContainsAny(loc, "/:@")) {
		kind = LocatorPath
	}
	if kind != LocatorPath {
		return nil
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s %q: %s: no such file or directory (a buildpack directory, .tgz or .cnb file, relative to %s; an http(s):// URL; or docker://IMAGE)",
			ErrInvalidConfig, key, loc, p, base)
	}
	return nil
}
