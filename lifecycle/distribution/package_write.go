package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/oci"
)

// PackageBuildpack makes the buildpackage a package.toml describes, as pack
// makes it (CNB contract §5.3): the buildpack (or extension) its
// [buildpack] uri names and, for a composite, the buildpacks its
// [[dependencies]] give (directories, archives, .cnb files, images; each
// buildpackage contributes all its buildpacks), one gzip layer per
// buildpack under /cnb/buildpacks/<escaped-id>/<version>/ sorted by
// id@version, and the io.buildpacks.buildpackage.metadata and
// io.buildpacks.buildpack.layers labels (io.buildpacks.extension.* for an
// extension). The image has Docker v2 media types, as pack's; its config's
// os/architecture come from [[targets]] or [platform], or, for a
// buildpack that is not a composite, from its buildpack.toml [[targets]]
// as pack takes them. The same inputs give
// the same digest.
//
// The composite orders are checked as pack checks them (versions given,
// every buildpack present and used), and the packaged buildpacks must have a
// stack in common (a buildpack without stacks supports any). The layers are
// files in WithTempDir's directory, or blobs of WithLayerStore's store:
// write the image (oci.Write, WriteCNB) before removing them.
func PackageBuildpack(ctx context.Context, cfg *PackageConfig, opts ...WriteOption) (v1.Image, error) {
	o, err := makeWriteOptions(opts)
	if err != nil {
		return nil, err
	}
	kind, main := buildpackKind, cfg.Buildpack.URI
	if cfg.Extension.URI != "" {
		kind, main = extensionKind, cfg.Extension.URI
	}
	platform, err := cfg.imagePlatform()
	if err != nil {
		return nil, fmt.Errorf("packaging %s: %w", main, err)
	}
	stage, err := o.stageDir("kiln-package-")
	if err != nil {
		return nil, fmt.Errorf("packaging %s: %w", main, err)
	}
	defer removeAll(stage)

	locators := []string{main}
	for _, d := range cfg.Dependencies {
		locators = append(locators, d.Locator())
	}
	fetchOpts := o.fetch
	if kind == extensionKind {
		fetchOpts = append(fetchOpts, AsExtensions())
	}
	bps, err := FetchBuildpacks(ctx, locators, filepath.Join(stage, "modules"), fetchOpts...)
	if err != nil {
		return nil, fmt.Errorf("packaging %s: %w", main, err)
	}
	if len(cfg.Targets) == 0 {
		platform = mainPlatform(platform, bps.Fetched[0].Main)
	}
	img, err := packageImage(ctx, bps, kind, platform, o)
	if err != nil {
		return nil, fmt.Errorf("packaging %s: %w", main, err)
	}
	return img, nil
}

// packageImage checks the fetched buildpacks and assembles the image.
func packageImage(ctx context.Context, bps *Buildpacks, kind moduleKind, platform v1.Platform, o *writeOptions) (v1.Image, error) {
	main := bps.Fetched[0].Main
	md := BuildpackageMetadata{ID: main.ID, Version: main.Version, Name: main.Name, Homepage: main.Homepage,
		Description: main.Description, Keywords: main.Keywords, Licenses: main.Licenses}
	if kind == buildpackKind {
		for _, d := range bps.All {
			if err := checkComposite(d); err != nil {
				return nil, err
			}
		}
		if err := checkPackageOrders(main, bps.All); err != nil {
			return nil, err
		}
		if md.Stacks = commonStacks(bps.All); len(md.Stacks) == 0 {
			return nil, fmt.Errorf("%w: the packaged buildpacks have no stack in common", ErrIncompatible)
		}
	}
	adds, layers, err := moduleLayers(ctx, bps.All, kind, o.layerOptions())
	if err != nil {
		return nil, err
	}
	labels, err := jsonLabels(map[string]any{kind.metadataLabel: md, kind.layersLabel: layers})
	if err != nil {
		return nil, err
	}
	base, err := emptyImage(platform)
	if err != nil {
		return nil, err
	}
	return oci.Mutate(base, oci.Mutation{Labels: labels, Layers: adds, Created: &o.created})
}

// imagePlatform is the buildpackage config's platform: [platform] os, or the
// os/arch/variant of [[targets]] when they name one platform.
func (c *PackageConfig) imagePlatform() (v1.Platform, error) {
	p := v1.Platform{OS: c.Platform.OS}
	if p.OS == "" {
		p.OS = "linux"
	}
	for i, t := range c.Targets {
		tp := v1.Platform{OS: t.OS, Architecture: t.Arch, Variant: t.Variant}
		if tp.OS == "" {
			tp.OS = p.OS
		}
		if i > 0 && platformString(tp) != platformString(p) {
			return v1.Platform{}, fmt.Errorf("%w: targets %s and %s: multi-platform buildpackages are not supported",
				ErrInvalidConfig, platformString(p), platformString(tp))
		}
		p = tp
	}
	if p.OS != "linux" {
		// pack adds a Windows base layer and Files/ prefixes; kiln builds on Linux only.
		return v1.Platform{}, fmt.Errorf("%w: %s buildpackages are not supported", ErrInvalidConfig, p.OS)
	}
	return p, nil
}

// mainPlatform is the platform of a buildpackage whose package.toml names
// no targets: pack then takes the [[targets]] of the buildpack's own
// buildpack.toml (a composite's come from package.toml only), so that the
// .cnb records the architecture it was written for. Targets of several
// os/arch/variant combinations leave p as it is: pack would write one file
// per platform, kiln writes one without an architecture.
func mainPlatform(p v1.Platform, main Descriptor) v1.Platform {
	if len(main.Order) > 0 || len(main.Targets) == 0 {
		return p
	}
	var found v1.Platform
	for i, t := range main.Targets {
		tp := v1.Platform{OS: t.OS, Architecture: t.Arch, Variant: t.Variant}
		if tp.OS == "" {
			tp.OS = p.OS
		}
		if tp.OS != p.OS || (i > 0 && platformString(tp) != platformString(found)) {
			return p
		}
		found = tp
	}
	return found
}

// emptyImage is an image without layers, with Docker v2 media types (as
// pack's buildpackages have) and the given platform in its config.
func emptyImage(p v1.Platform) (v1.Image, error) {
	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(empty.Image, cfg)
}

// jsonLabels marshals label values; a nil slice becomes "null", as pack
// writes it.
func jsonLabels(values map[string]any) (map[string]string, error) {
	labels := make(map[string]string, len(values))
	for k, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding label %s: %w", k, err)
		}
		labels[k] = string(b)
	}
	return labels, nil
}
