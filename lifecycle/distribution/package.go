package distribution

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/tomlkeys"
)

// PackageConfig is a package.toml: what `kiln buildpack package` packs.
type PackageConfig struct {
	// Buildpack is [buildpack] (or Extension, [extension]): the module's
	// locator, "." by default, resolved against the file's directory.
	Buildpack    PackageModule   `toml:"buildpack"`
	Extension    PackageModule   `toml:"extension"`
	Dependencies []PackageModule `toml:"dependencies"`
	Platform     PackagePlatform `toml:"platform"`
	Targets      []Target        `toml:"targets"`

	// Path is the file the configuration was read from.
	Path string `toml:"-"`
}

// PackageModule is a locator (URI) or, for dependencies, the deprecated
// image form.
type PackageModule struct {
	URI   string `toml:"uri"`
	Image string `toml:"image"`
}

// Locator is URI, or "docker://"+Image.
func (m PackageModule) Locator() string {
	if m.URI == "" && m.Image != "" {
		return dockerScheme + m.Image
	}
	return m.URI
}

// PackagePlatform is [platform].
type PackagePlatform struct {
	OS string `toml:"os"` // linux (default) or windows
}

// ReadPackageConfig reads and checks the package.toml at path. As with
// builder.toml, unknown keys are an error naming the file and the keys.
func ReadPackageConfig(path string) (*PackageConfig, error) {
	var c PackageConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return nil, fmt.Errorf("reading package config %s: %w", path, err)
	}
	if err := unknownKeys(path, tomlkeys.Undecoded(md)); err != nil {
		return nil, fmt.Errorf("reading package config %s: %w", path, err)
	}
	c.Path = path
	if err := c.check(md); err != nil {
		return nil, fmt.Errorf("reading package config %s: %w", path, err)
	}
	base := filepath.Dir(path)
	if !isTable(md, "extension") && c.Buildpack.URI == "" {
		c.Buildpack.URI = "."
	}
	c.Buildpack.URI = ResolveLocator(c.Buildpack.URI, base)
	c.Extension.URI = ResolveLocator(c.Extension.URI, base)
	for i := range c.Dependencies {
		c.Dependencies[i].URI = ResolveLocator(c.Dependencies[i].URI, base)
	}
	if c.Platform.OS == "" {
		c.Platform.OS = "linux"
	}
	return &c, nil
}

// isTable reports whether the document sets the top-level key, spelled in
// any case: the decoder fills the struct's field from [Extension] or
// [eXtenSion] as from [extension], and the checks must see what it filled.
func isTable(md toml.MetaData, key string) bool {
	for _, k := range md.Keys() {
		if len(k) > 0 && strings.EqualFold(k[0], key) {
			return true
		}
	}
	return false
}

func (c *PackageConfig) check(md toml.MetaData) error {
	if isTable(md, "buildpack") && isTable(md, "extension") {
		return fmt.Errorf("%w: both [buildpack] and [extension] are set", ErrInvalidConfig)
	}
	if c.Buildpack.Image != "" || c.Extension.Image != "" {
		return fmt.Errorf("%w: [buildpack] and [extension] take a uri, not an image", ErrInvalidConfig)
	}
	if isTable(md, "extension") && c.Extension.URI == "" {
		return fmt.Errorf("%w: [extension] needs a uri", ErrInvalidConfig)
	}
	if isTable(md, "extension") && len(c.Dependencies) > 0 {
		return fmt.Errorf("%w: an extension has no dependencies", ErrInvalidConfig)
	}
	for i, d := range c.Dependencies {
		if (d.URI == "") == (d.Image == "") {
			return fmt.Errorf("%w: dependencies[%d] needs exactly one of uri and image", ErrInvalidConfig, i)
		}
	}
	switch c.Platform.OS {
	case "", "linux", "windows":
	default:
		return fmt.Errorf("%w: platform.os %q is neither linux nor windows", ErrInvalidConfig, c.Platform.OS)
	}
	return nil
}

// CheckPaths reports the first uri that names a path that does not exist,
// naming the file and the key (an ErrInvalidConfig), before anything is
// fetched. [buildpack] and [extension] uris are paths or URLs, never images.
func (c *PackageConfig) CheckPaths() error {
	base := filepath.Dir(c.Path)
	if err := checkPathLocator("buildpack.uri", c.Buildpack.URI, base, true); err != nil {
		return fmt.Errorf("checking package config %s: %w", c.Path, err)
	}
	if err := checkPathLocator("extension.uri", c.Extension.URI, base, true); err != nil {
		return fmt.Errorf("checking package config %s: %w", c.Path, err)
	}
	for i, d := range c.Dependencies {
		if err := checkPathLocator(fmt.Sprintf("dependencies[%d].uri", i), d.URI, base, false); err != nil {
			return fmt.Errorf("checking package config %s: %w", c.Path, err)
		}
	}
	return nil
}
