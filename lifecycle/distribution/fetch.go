package distribution

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/kilnbuild/kiln/internal/treecopy"
)

// Buildpacks is what FetchBuildpacks laid out.
type Buildpacks struct {
	// Dir is the buildpacks directory: Dir/<escaped-id>/<version>/.
	Dir string
	// Fetched has one entry per locator, in the order given.
	Fetched []Fetched
	// All lists every buildpack laid out, once, sorted by id then version.
	All []Descriptor
}

// Fetched is what one locator yielded.
type Fetched struct {
	// Locator is the locator as given.
	Locator string
	// Main is the buildpack the locator names: a directory's or archive's
	// buildpack, or a buildpackage's main buildpack. It is what a
	// --buildpack override puts in the group.
	Main Descriptor
	// Buildpacks is everything laid out from the locator, Main included: for
	// a buildpackage, the buildpacks its composite order needs.
	Buildpacks []Descriptor
}

// FetchBuildpacks lays the buildpacks the locators name out in dst (created
// if missing) as /cnb/buildpacks is laid out in a builder:
// dst/<escaped-id>/<version>/, with pack's mode rules (see below). A locator
// is any form builder.toml's uri takes (see ParseLocator):
//
//   - a directory holding buildpack.toml (copied);
//   - a .tgz or .tar of such a directory (buildpack.toml at its root, or in
//     its only top-level directory);
//   - a .cnb file: a tar of an OCI image layout holding a buildpackage;
//   - file://PATH of any of these, or an http(s) URL of an archive or .cnb;
//   - docker://REF or a bare image reference of a buildpackage image, read
//     with the ImageReader (WithImageReader).
//
// A buildpackage contributes every buildpack its io.buildpacks.buildpack.layers
// label lists, each from its layer; entries outside /cnb/buildpacks are an
// error. A buildpack already laid out in dst (same id and version) is kept.
// Directories get mode 0755; files 0755 when an execute bit is set or they
// are bin/build, bin/detect or bin/generate, 0644 otherwise; links stay
// links.
//
// A builder reference — urn:cnb:builder:ID[@VERSION], from=builder:ID[@VERSION],
// or a bare ID[@VERSION] that is no path — names a buildpack laid out in dst
// already (dst plays the builder's /cnb/buildpacks: lay the builder's
// buildpacks out first, with FetchModules or ExtractBuildpacks); a bare one
// that is not there is read as an image reference. from=builder alone (the
// builder's whole order) and buildpack registry URNs are
// ErrUnsupportedLocator.
//
// With AsExtensions, image extensions are fetched the same way
// (extension.toml, /cnb/extensions, the extension package labels).
func FetchBuildpacks(ctx context.Context, locators []string, dst string, opts ...Option) (*Buildpacks, error) {
	f, err := newFetcher(dst, opts)
	if err != nil {
		return nil, err
	}
	bps := &Buildpacks{Dir: dst}
	seen := map[string]bool{}
	for _, loc := range locators {
		fetched, err := f.fetch(ctx, loc)
		if err != nil {
			return nil, fmt.Errorf("fetching buildpack %s: %w", loc, err)
		}
		fetched.Locator = loc
		bps.Fetched = append(bps.Fetched, fetched)
		for _, d := range fetched.Buildpacks {
			if !seen[d.FullName()] {
				seen[d.FullName()] = true
				bps.All = append(bps.All, d)
			}
		}
	}
	sortDescriptors(bps.All)
	return bps, nil
}

// Lookup finds the buildpack id at version among All. An empty version
// matches when exactly one version of id is there, as in builder.toml
// orders.
func (b *Buildpacks) Lookup(id, version string) (Descriptor, bool) {
	var found []Descriptor
	for _, d := range b.All {
		if d.ID == id && (version == "" || d.Version == version) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return Descriptor{}, false
	}
	return found[0], true
}

// fetcher lays buildpacks out in dst, staging them in dst/.staging-*.
type fetcher struct {
	dst    string
	o      *options
	stages []string // staging directories to remove
}

func newFetcher(dst string, opts []Option) (*fetcher, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, fmt.Errorf("creating buildpacks directory: %w", err)
	}
	return &fetcher{dst: dst, o: o}, nil
}

// stageDir makes a temporary directory in dst, so that installing is a
// rename. cleanup removes it.
func (f *fetcher) stageDir() (string, error) {
	dir, err := os.MkdirTemp(f.dst, ".staging-")
	if err != nil {
		return "", err
	}
	f.stages = append(f.stages, dir)
	return dir, nil
}

// cleanup removes the staging directories.
func (f *fetcher) cleanup() error {
	var errs []error
	for _, s := range f.stages {
		errs = append(errs, removeAll(s))
	}
	f.stages = nil
	return errors.Join(errs...)
}

// present reports whether id@version is laid out in dst already.
func (f *fetcher) present(id, version string) bool {
	_, err := os.Lstat(filepath.Join(f.dst, EscapeID(id), version, f.o.kind.descriptor))
	return err == nil
}

// fetch lays out one locator.
func (f *fetcher) fetch(ctx context.Context, loc string) (fetched Fetched, err error) {
	defer func() {
		if cerr := f.cleanup(); err == nil && cerr != nil {
			err = fmt.Errorf("removing staging directories: %w", cerr)
		}
	}()
	kind, what := ParseLocator(loc, f.o.baseDir)
	f.o.logger.DebugContext(ctx, "fetching buildpack", "locator", loc, "kind", kind, "target", what)
	switch kind {
	case LocatorPath:
		return f.fromPath(ctx, what)
	case LocatorURL:
		file, err := f.download(ctx, what)
		if err != nil {
			return Fetched{}, err
		}
		return f.fromFile(ctx, file, what)
	case LocatorImage:
		if idVersionPattern.MatchString(what) {
			if d, err := f.onBuilder(what); err == nil {
				return Fetched{Main: d, Buildpacks: []Descriptor{d}}, nil
			}
		}
		img, err := f.o.reader(ctx, what)
		if err != nil {
			return Fetched{}, fmt.Errorf("reading image %s: %w", what, err)
		}
		return f.fromImage(ctx, img, what)
	case LocatorRegistry:
		return Fetched{}, fmt.Errorf("%w: buildpack registry %s", ErrUnsupportedLocator, loc)
	case LocatorBuilder:
		if what == "" {
			return Fetched{}, fmt.Errorf("%w: %s stands for the builder's whole order", ErrUnsupportedLocator, loc)
		}
		d, err := f.onBuilder(what)
		if err != nil {
			return Fetched{}, err
		}
		return Fetched{Main: d, Buildpacks: []Descriptor{d}}, nil
	}
	return Fetched{}, fmt.Errorf("%w: %q", ErrUnsupportedLocator, loc)
}

// idVersionPattern is pack's shape of a buildpack registry id, with an
// optional version: what a bare id[@version] locator looks like.
var idVersionPattern = regexp.MustCompile(`^[a-z0-9\-.]+/[a-z0-9\-.]+(?:@[a-z0-9\-.]+)?$`)

// onBuilder finds id[@version] among the buildpacks laid out in dst; without
// a version, the only version there.
func (f *fetcher) onBuilder(idVersion string) (Descriptor, error) {
	id, version, _ := strings.Cut(idVersion, "@")
	if err := CheckIDVersion(id, cmp.Or(version, DefaultVersion)); err != nil {
		return Descriptor{}, err
	}
	if version == "" {
		entries, err := os.ReadDir(filepath.Join(f.dst, EscapeID(id)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, err
		}
		var versions []string
		for _, e := range entries {
			if e.IsDir() && f.present(id, e.Name()) {
				versions = append(versions, e.Name())
			}
		}
		if len(versions) != 1 {
			return Descriptor{}, fmt.Errorf("%w: %s: %d versions laid out", ErrNoBuildpack, id, len(versions))
		}
		version = versions[0]
	}
	if !f.present(id, version) {
		return Descriptor{}, fmt.Errorf("%w: %s@%s is not laid out", ErrNoBuildpack, id, version)
	}
	return readDescriptor(filepath.Join(f.dst, EscapeID(id), version), f.o.kind)
}

func (f *fetcher) fromPath(ctx context.Context, p string) (Fetched, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return Fetched{}, err
	}
	if fi.IsDir() {
		return f.fromDir(ctx, p)
	}
	return f.fromFile(ctx, p, p)
}

// fromDir copies a buildpack directory into place.
func (f *fetcher) fromDir(ctx context.Context, dir string) (Fetched, error) {
	d, err := readDescriptor(dir, f.o.kind)
	if errors.Is(err, fs.ErrNotExist) {
		return Fetched{}, fmt.Errorf("%w: no %s in %s", ErrNoDescriptor, f.o.kind.descriptor, dir)
	}
	if err != nil {
		return Fetched{}, err
	}
	if !f.present(d.ID, d.Version) {
		stage, err := f.stageDir()
		if err != nil {
			return Fetched{}, err
		}
		tree := filepath.Join(stage, "bp")
		if err := treecopy.Copy(ctx, dir, tree, nil); err != nil {
			return Fetched{}, fmt.Errorf("copying buildpack %s: %w", dir, err)
		}
		dir = tree
	}
	return f.installOne(dir, d.ID, d.Version)
}

func (f *fetcher) installOne(src, id, version string) (Fetched, error) {
	d, err := install(src, f.dst, id, version, f.o.kind)
	if err != nil {
		return Fetched{}, err
	}
	return Fetched{Main: d, Buildpacks: []Descriptor{d}}, nil
}

func sortDescriptors(ds []Descriptor) {
	slices.SortFunc(ds, func(a, b Descriptor) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Version, b.Version))
	})
}

// removeAll removes a tree even where directories were left read-only.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
