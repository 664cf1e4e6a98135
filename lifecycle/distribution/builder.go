package distribution

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/tomlkeys"
)

// BuilderConfig is a builder.toml, with the keys pack's create-builder
// accepts. Both the old [stack] form and the new [build]/[[run.images]] form
// are read; ReadBuilderConfig checks that they agree, and the accessors
// BuildImage, RunImages and StackID answer from either.
type BuilderConfig struct {
	Description     string          `toml:"description"`
	Buildpacks      []ModuleConfig  `toml:"buildpacks"`
	Extensions      []ModuleConfig  `toml:"extensions"`
	Order           Order           `toml:"order"`
	OrderExtensions Order           `toml:"order-extensions"`
	System          System          `toml:"system"`
	Build           BuildConfig     `toml:"build"`
	Run             RunConfig       `toml:"run"`
	Targets         []Target        `toml:"targets"`
	Stack           StackConfig     `toml:"stack"`
	Lifecycle       LifecycleConfig `toml:"lifecycle"`

	// Path is the file the configuration was read from.
	Path string `toml:"-"`
	// Warnings are what pack would warn about (an empty order, say).
	Warnings []string `toml:"-"`
}

// ModuleConfig is a [[buildpacks]] or [[extensions]] entry: where to find a
// module (URI, or the deprecated Image) and optionally which id and version
// it must have.
type ModuleConfig struct {
	ID      string `toml:"id"`
	Version string `toml:"version"`
	// URI is a directory, archive, .cnb file, file:// or http(s) URL,
	// docker:// or bare image reference. A relative path has been resolved
	// against the configuration file's directory.
	URI string `toml:"uri"`
	// Image is the deprecated form of URI = "docker://…".
	Image string `toml:"image"`

	Name        string    `toml:"name"`
	Description string    `toml:"description"`
	Homepage    string    `toml:"homepage"`
	Keywords    []string  `toml:"keywords"`
	Licenses    []License `toml:"licenses"`
}

// Locator is where the module comes from: URI, or "docker://"+Image, or ""
// when the entry names only an id (the module must come from elsewhere).
func (m ModuleConfig) Locator() string {
	switch {
	case m.URI != "":
		return m.URI
	case m.Image != "":
		return dockerScheme + m.Image
	}
	return ""
}

// System is builder.toml's [system]: buildpacks added before and after every
// group (written to /cnb/system.toml).
type System struct {
	Pre  SystemBuildpacks `toml:"pre"`
	Post SystemBuildpacks `toml:"post"`
}

// SystemBuildpacks is [system.pre] or [system.post].
type SystemBuildpacks struct {
	Buildpacks []ModuleRef `toml:"buildpacks"`
}

// BuildConfig is the new form's [build]: the build image and the operator
// environment written to /cnb/build-config/env.
type BuildConfig struct {
	Image string     `toml:"image"`
	Env   []BuildEnv `toml:"env"`
}

// BuildEnv is one [[build.env]] entry.
type BuildEnv struct {
	Name  string `toml:"name"`
	Value string `toml:"value"`
	// Suffix is "", "default", "override", "append" or "prepend".
	Suffix string `toml:"suffix"`
	// Delim separates appended or prepended values; pack requires it with
	// those suffixes.
	Delim string `toml:"delim"`
}

// RunConfig is the new form's [run].
type RunConfig struct {
	Images []RunImage `toml:"images"`
}

// RunImage is a run image and its mirrors.
type RunImage struct {
	Image   string   `toml:"image" json:"image"`
	Mirrors []string `toml:"mirrors,omitempty" json:"mirrors,omitempty"`
}

// StackConfig is the old form's [stack].
type StackConfig struct {
	ID              string   `toml:"id"`
	BuildImage      string   `toml:"build-image"`
	RunImage        string   `toml:"run-image"`
	RunImageMirrors []string `toml:"run-image-mirrors"`
}

// LifecycleConfig is [lifecycle]. kiln never needs a lifecycle; a URI is
// only carried into builder images made for pack.
type LifecycleConfig struct {
	Version string `toml:"version"`
	URI     string `toml:"uri"`
}

// ReadBuilderConfig reads and checks the builder.toml at path. Keys pack does
// not know are an error (ErrUnknownKeys) naming the file and each full key;
// relative buildpack, extension and lifecycle URIs that exist relative to the
// file's directory are made absolute.
func ReadBuilderConfig(path string) (*BuilderConfig, error) {
	var c BuilderConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return nil, fmt.Errorf("reading builder config %s: %w", path, err)
	}
	if err := unknownKeys(path, tomlkeys.Undecoded(md)); err != nil {
		return nil, fmt.Errorf("reading builder config %s: %w", path, err)
	}
	c.Path = path
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("reading builder config %s: %w", path, err)
	}
	base := filepath.Dir(path)
	for i := range c.Buildpacks {
		c.Buildpacks[i].URI = ResolveLocator(c.Buildpacks[i].URI, base)
	}
	for i := range c.Extensions {
		c.Extensions[i].URI = ResolveLocator(c.Extensions[i].URI, base)
	}
	c.Lifecycle.URI = ResolveLocator(c.Lifecycle.URI, base)
	if len(c.Order) == 0 {
		c.Warnings = append(c.Warnings, "empty order definition")
	}
	if c.Lifecycle.Version != "" && c.Lifecycle.URI == "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("[lifecycle] version %q is ignored: kiln downloads no lifecycle, "+
			"and a builder without [lifecycle] uri carries kiln's own", c.Lifecycle.Version))
	}
	return &c, nil
}

// unknownKeys turns undecoded keys into one error naming them all.
func unknownKeys(path string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = fmt.Sprintf("%q", k)
	}
	return fmt.Errorf("%w in %s: %s", ErrUnknownKeys, path, strings.Join(names, ", "))
}

// check validates values pack validates and merges the two stack forms.
func (c *BuilderConfig) check() error {
	if c.Build.Image != "" && c.Stack.BuildImage != "" && c.Build.Image != c.Stack.BuildImage {
		return fmt.Errorf("%w: build.image %q and stack.build-image %q differ",
			ErrInvalidConfig, c.Build.Image, c.Stack.BuildImage)
	}
	if c.Stack.RunImage != "" && len(c.Run.Images) > 0 && c.Run.Images[0].Image != c.Stack.RunImage {
		return fmt.Errorf("%w: run.images[0].image %q and stack.run-image %q differ",
			ErrInvalidConfig, c.Run.Images[0].Image, c.Stack.RunImage)
	}
	for i, r := range c.Run.Images {
		if r.Image == "" {
			return fmt.Errorf("%w: run.images[%d].image is empty", ErrInvalidConfig, i)
		}
	}
	for i, m := range append(slices.Clone(c.Buildpacks), c.Extensions...) {
		if m.URI != "" && m.Image != "" {
			return fmt.Errorf("%w: module %d sets both uri %q and image %q", ErrInvalidConfig, i, m.URI, m.Image)
		}
	}
	for _, o := range []Order{c.Order, c.OrderExtensions} {
		for _, e := range o {
			for _, r := range e.Group {
				if r.ID == "" {
					return fmt.Errorf("%w: an order group entry has no id", ErrInvalidConfig)
				}
			}
		}
	}
	_, err := c.BuildEnvFiles()
	return err
}

// BuildImage is the build image of either form.
func (c *BuilderConfig) BuildImage() string {
	if c.Build.Image != "" {
		return c.Build.Image
	}
	return c.Stack.BuildImage
}

// RunImages are the run images of either form, the first being the default.
func (c *BuilderConfig) RunImages() []RunImage {
	if len(c.Run.Images) > 0 {
		return c.Run.Images
	}
	if c.Stack.RunImage != "" {
		return []RunImage{{Image: c.Stack.RunImage, Mirrors: c.Stack.RunImageMirrors}}
	}
	return nil
}

// StackID is the deprecated stack id ([stack] id), or "".
func (c *BuilderConfig) StackID() string { return c.Stack.ID }

// BuildEnvFiles maps the [[build.env]] entries to the files pack writes in
// /cnb/build-config/env: NAME or NAME.<suffix> holding the value, and
// NAME.delim holding the delimiter. A later entry for the same file wins.
func (c *BuilderConfig) BuildEnvFiles() (map[string]string, error) {
	files := map[string]string{}
	for _, e := range c.Build.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "/.\x00") {
			return nil, fmt.Errorf("%w: build.env name %q", ErrInvalidConfig, e.Name)
		}
		name := e.Name
		switch e.Suffix {
		case "":
		case "default", "override":
			name += "." + e.Suffix
		case "append", "prepend":
			if e.Delim == "" {
				return nil, fmt.Errorf("%w: build.env %s with suffix %q needs a delim", ErrInvalidConfig, e.Name, e.Suffix)
			}
			name += "." + e.Suffix
		default:
			return nil, fmt.Errorf("%w: build.env %s has unknown suffix %q", ErrInvalidConfig, e.Name, e.Suffix)
		}
		files[name] = e.Value
		if e.Delim != "" {
			files[e.Name+".delim"] = e.Delim
		}
	}
	return files, nil
}

// ResolveLocator makes a relative path locator absolute against base when it
// names something that exists there or looks like a path (see LocatorKind);
// other locators (URLs, image references, absolute paths) are returned as
// they are.
func ResolveLocator(loc, base string) string {
	if loc == "" || filepath.IsAbs(loc) || strings.Contains(loc, "://") || strings.HasPrefix(loc, "urn:") {
		if p, ok := strings.CutPrefix(loc, fileScheme); ok && !filepath.IsAbs(p) {
			return fileScheme + filepath.Join(base, p)
		}
		return loc
	}
	p := filepath.Join(base, loc)
	if _, err := os.Lstat(p); err != nil && !looksLikePath(loc) {
		return loc
	}
	return p
}

// CheckPaths reports the first buildpack, extension or lifecycle uri that
// names a path that does not exist, naming the file and the key (an
// ErrInvalidConfig), before anything is fetched or built.
func (c *BuilderConfig) CheckPaths() error {
	base := filepath.Dir(c.Path)
	for i, m := range c.Buildpacks {
		if err := checkPathLocator(fmt.Sprintf("buildpacks[%d].uri", i), m.URI, base, false); err != nil {
			return fmt.Errorf("checking builder config %s: %w", c.Path, err)
		}
	}
	for i, m := range c.Extensions {
		if err := checkPathLocator(fmt.Sprintf("extensions[%d].uri", i), m.URI, base, false); err != nil {
			return fmt.Errorf("checking builder config %s: %w", c.Path, err)
		}
	}
	if err := checkPathLocator("lifecycle.uri", c.Lifecycle.URI, base, true); err != nil {
		return fmt.Errorf("checking builder config %s: %w", c.Path, err)
	}
	return nil
}
